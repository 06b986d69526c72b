"""Mounts each domain's routes. Nothing imports this module but app.py."""

from __future__ import annotations

from fastapi import FastAPI

from resight import health
from resight.audit import routes as audit_routes
from resight.catalog import routes as catalog_routes
from resight.events import routes as events_routes
from resight.integrations import routes as integrations_routes
from resight.ml import routes as ml_routes
from resight.realtime import routes as realtime_routes
from resight.rules import routes as rules_routes
from resight.users import routes as users_routes


def mount_routes(app: FastAPI) -> None:
    app.include_router(health.router)
    app.include_router(users_routes.router)
    app.include_router(catalog_routes.router)
    app.include_router(integrations_routes.router)
    app.include_router(events_routes.router)
    app.include_router(ml_routes.router)
    app.include_router(rules_routes.router)
    app.include_router(audit_routes.router)
    app.include_router(realtime_routes.router)
