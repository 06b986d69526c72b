"""GET / — the health check (JSON), or a redirect to the dashboard for a browser."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from resight import __version__
from resight.ml.service import last_scored_at, model_health, serving_model_version

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    database: Literal["ok", "unavailable"]
    model_version: str | None
    last_scored_at: dt.datetime | None
    # Set when the registry's serving model cannot be loaded (missing or corrupt artifact): the
    # scorer keeps the last good model, named here, in service.
    model_problem: str | None = None


@router.get(
    "/",
    response_model=Health,
    responses={
        307: {"description": "A browser (Accept: text/html) is sent to the dashboard at /app/."},
        503: {"model": Health, "description": "The database cannot be reached."},
    },
)
def health(request: Request) -> Health | JSONResponse | RedirectResponse:
    accept = request.headers.get("accept", "")
    if "text/html" in accept:
        return RedirectResponse("/app/", status_code=307)
    factory: sessionmaker[Session] = request.app.state.session_factory
    try:
        with factory() as session:
            session.execute(text("SELECT 1"))
            model_version = serving_model_version(session)
            scored_at = last_scored_at(session)
            model_problem = model_health(request.app, session)
    except SQLAlchemyError:
        body = Health(
            status="degraded",
            version=__version__,
            database="unavailable",
            model_version=None,
            last_scored_at=None,
        )
        return JSONResponse(body.model_dump(mode="json"), status_code=503, headers={"Retry-After": "5"})
    return Health(
        status="degraded" if model_problem else "ok",
        version=__version__,
        database="ok",
        model_version=model_version,
        last_scored_at=scored_at,
        model_problem=model_problem,
    )
