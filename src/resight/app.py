"""create_app(): the lifespan owns the engine and every long-lived object."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from resight import __version__
from resight.api import mount_routes
from resight.config import Settings
from resight.dashboard import mount_dashboard
from resight.db import make_engine, make_session_factory
from resight.errors import install_database_error_handler, install_error_handlers
from resight.integrations.webhook_asgi import WebhookFastPath
from resight.middleware import RequestIdMiddleware
from resight.migrations.runner import ensure_at_head
from resight.ml.worker import ml_running
from resight.ratelimit import RateLimiter
from resight.realtime.feeds import running_in_app as realtime_running

log = logging.getLogger("resight")


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    session_factory: sessionmaker[Session] | None = None,
) -> FastAPI:
    """Build the app. Tests pass their engine and a session factory bound to their transaction;
    otherwise the lifespan makes both from the settings."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_engine = engine is None
        db_engine = engine if engine is not None else make_engine(settings.database_url)
        ensure_at_head(db_engine)
        app.state.engine = db_engine
        app.state.session_factory = session_factory or make_session_factory(db_engine)
        app.state.secret_key = settings.resolved_secret_key()
        try:
            async with realtime_running(app, settings):  # sets app.state.hub
                async with ml_running(app, settings):  # model store, scoring loop
                    yield
        finally:
            if own_engine:
                db_engine.dispose()

    app = FastAPI(
        title="ReSight",
        version=__version__,
        description="Retail intelligence for sellers on Amazon.in, Myntra and Meesho.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.login_limiter = RateLimiter(settings.login_attempts_per_minute, window_seconds=60)
    app.state.webhook_limiter = RateLimiter(settings.webhook_requests_per_minute, window_seconds=60)
    install_error_handlers(app)
    install_database_error_handler(app)

    # Inside RequestIdMiddleware: webhook answers keep their request id and security headers.
    app.add_middleware(WebhookFastPath)
    app.add_middleware(RequestIdMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            allow_credentials=False,
        )
    mount_routes(app)
    mount_dashboard(app)
    return app
