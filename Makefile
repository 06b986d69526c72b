# Everything a fresh machine needs (Python 3.11, Node 20, the package registries) is installed here.
SHELL := /bin/bash
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
BIN := $(VENV)/bin
export UV_PYTHON ?= python3.11
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install run test check lint typecheck bench clean

$(UV):
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

$(BIN)/resight: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen
	@touch $(BIN)/resight

install: $(BIN)/resight

run: install
	$(BIN)/resight init-db
	$(BIN)/resight users ensure-admin
	$(BIN)/resight serve --host 127.0.0.1 --port 8000

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy

check: lint typecheck test

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf .tools $(VENV) .pytest_cache .mypy_cache .ruff_cache
