"""Serves the built dashboard (dashboard/ -> src/resight/static) at /app/, with a fallback to
index.html for the client-side routes and a Content-Security-Policy of its own."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).resolve().parent / "static"
MOUNT_PATH = "/app"

# Everything the dashboard loads comes from this origin: its scripts, styles and the API, plus the
# WebSocket at /ws ('self' covers ws:/wss: on the same host in CSP level 3).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
DASHBOARD_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ReSight dashboard not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto">
<h1>The dashboard has not been built yet</h1>
<p>Run <code>make install</code> (it runs <code>npm ci</code> and <code>npm run build</code> in
<code>dashboard/</code>), then reload this page. The API itself is running: see
<a href="/docs">/docs</a>.</p>
</body></html>
"""


class DashboardFiles(StaticFiles):
    """Static files with a single-page-app fallback: /app/rankings serves index.html, while a
    missing asset (/app/assets/x.js) stays a 404."""

    async def check_config(self) -> None:
        # A missing build is answered per request (NOT_BUILT), so building later needs no restart.
        if Path(str(self.directory)).is_dir():
            await super().check_config()

    async def get_response(self, path: str, scope: Scope) -> Response:
        index = Path(str(self.directory)) / "index.html"
        if not index.is_file():
            return HTMLResponse(NOT_BUILT, status_code=503, headers={"Retry-After": "30"})
        try:
            response = await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code != 404 or _looks_like_asset(path):
                raise
            response = await super().get_response("index.html", scope)
        for name, value in DASHBOARD_HEADERS.items():
            response.headers[name] = value
        if path.startswith("assets/"):
            # Vite puts a content hash in every asset name.
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        else:
            response.headers["Cache-Control"] = "no-cache"
        return response


def _looks_like_asset(path: str) -> bool:
    return path.startswith("assets/") or "." in path.rsplit("/", 1)[-1]


def mount_dashboard(app: FastAPI, directory: Path = STATIC_DIR) -> None:
    app.mount(MOUNT_PATH, DashboardFiles(directory=directory, html=True, check_dir=False), name="dashboard")
