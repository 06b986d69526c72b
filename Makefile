# Everything a fresh machine needs (Python 3.11, Node 20, the package registries) is installed here.
SHELL := /bin/bash
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
BIN := $(VENV)/bin
export UV_PYTHON ?= python3.11
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install run test check lint typecheck bench clean client dashboard-test

$(UV):
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

$(BIN)/resight: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen
	@touch $(BIN)/resight

# The dashboard: npm ci only when package-lock.json changed, a build only when a source changed.
DASHBOARD := dashboard
DASHBOARD_DEPS := $(DASHBOARD)/node_modules/.installed-from-lock
DASHBOARD_BUILD := src/resight/static/index.html
DASHBOARD_SOURCES := $(shell find $(DASHBOARD)/src $(DASHBOARD)/public -type f 2>/dev/null) \
	$(DASHBOARD)/index.html $(DASHBOARD)/vite.config.ts $(DASHBOARD)/tsconfig.json

$(DASHBOARD_DEPS): $(DASHBOARD)/package-lock.json
	cd $(DASHBOARD) && npm ci --no-audit --no-fund
	@touch $@

$(DASHBOARD_BUILD): $(DASHBOARD_DEPS) $(DASHBOARD_SOURCES)
	cd $(DASHBOARD) && npm run build

install: $(BIN)/resight $(DASHBOARD_BUILD)

# Regenerate the dashboard's API types from the server's OpenAPI schema (commit the result).
client: $(BIN)/resight $(DASHBOARD_DEPS)
	cd $(DASHBOARD) && RESIGHT_PYTHON=$(abspath $(BIN)/python) npm run generate

dashboard-test: $(DASHBOARD_DEPS)
	cd $(DASHBOARD) && npm test

# The demo: migrate, first admin, the simulated world (first start only), a first model, then the
# server with the live simulator beside it (stopped when the server stops).
run: install
	$(BIN)/resight init-db
	$(BIN)/resight users ensure-admin
	$(BIN)/resight demo-setup
	$(BIN)/resight train --if-missing
	$(BIN)/resight simulate --url http://127.0.0.1:8000 --rate 2 --faults 0.05 --wait 120 \
		--log .resight-simulate.log > /dev/null 2>&1 & sim=$$!; \
	trap 'kill $$sim 2>/dev/null' EXIT INT TERM; \
	$(BIN)/resight serve --host 127.0.0.1 --port 8000

test: install dashboard-test
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
