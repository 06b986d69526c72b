# ReSight API / scorer image (reference; see docs/DEPLOYMENT.md).
# One image for every role: `resight serve` (API processes), `resight worker` (the one scorer),
# `resight init-db` (migrations). Build: docker build -t resight .

# --- the dashboard: Vite builds it into src/resight/static -----------------------------------
FROM node:20-bookworm-slim AS dashboard
WORKDIR /src/dashboard
COPY dashboard/package.json dashboard/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY dashboard/ ./
RUN npm run build

# --- Python dependencies, from the lock file only ---------------------------------------------
FROM python:3.11-slim-bookworm AS python-deps
ENV UV_PROJECT_ENVIRONMENT=/opt/venv UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY src/ ./src/
COPY --from=dashboard /src/src/resight/static/ ./src/resight/static/
RUN uv sync --frozen --no-dev --no-editable

# --- runtime ----------------------------------------------------------------------------------
FROM python:3.11-slim-bookworm
# libgomp1: LightGBM's OpenMP runtime. /models is owned by the runtime user so that a named volume
# mounted there (compose.yaml) starts writable for `resight train`; Docker copies the ownership.
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 resight \
    && mkdir -p /data /models && chown resight /data /models
COPY --from=python-deps /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DATABASE_URL=sqlite:////data/resight.db \
    RESIGHT_SECRET_KEY_FILE=/data/.resight-secret-key \
    RESIGHT_MODELS_DIR=/data/models
USER resight
WORKDIR /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/', timeout=4).status != 200)"
CMD ["resight", "serve", "--host", "0.0.0.0", "--port", "8000"]
