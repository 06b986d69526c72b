"""Errors that carry their HTTP status; one handler turns them into JSON `{"detail": ...}`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


class ResightError(Exception):
    status_code = 400

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers


class BadRequest(ResightError):
    status_code = 400


class Unauthorized(ResightError):
    status_code = 401

    def __init__(self, detail: str = "Not authenticated") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ResightError):
    status_code = 403


class NotFound(ResightError):
    status_code = 404


class Conflict(ResightError):
    status_code = 409


class PayloadTooLarge(ResightError):
    status_code = 413


class Unprocessable(ResightError):
    status_code = 422


class ServiceUnavailable(ResightError):
    status_code = 503

    def __init__(self, detail: str, *, retry_after_seconds: int = 5) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after_seconds)})


def install_error_handlers(app: FastAPI) -> None:
    async def handle(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ResightError)
        body: dict[str, Any] = {"detail": exc.detail}
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    app.add_exception_handler(ResightError, handle)


def install_database_error_handler(app: FastAPI) -> None:
    """A database we cannot reach (or that stays locked) is a temporary condition: 503, retry later."""
    from sqlalchemy.exc import OperationalError

    async def handle(_request: Request, _exc: Exception) -> JSONResponse:
        return JSONResponse(
            {"detail": "database unavailable, retry later"},
            status_code=503,
            headers={"Retry-After": "5"},
        )

    app.add_exception_handler(OperationalError, handle)
