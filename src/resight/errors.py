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
    """A database we cannot reach (or that stays locked) is a temporary condition: 503, retry later.

    Covers what SQLAlchemy raises when the server goes away at any point of a request (connecting,
    executing, committing): OperationalError, InterfaceError ("connection already closed"), a pool
    timeout, and any DBAPIError that invalidated its connection. Other database errors stay 500s.
    """
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    def unavailable() -> JSONResponse:
        return JSONResponse(
            {"detail": "database unavailable, retry later"},
            status_code=503,
            headers={"Retry-After": "5"},
        )

    async def handle(_request: Request, _exc: Exception) -> JSONResponse:
        return unavailable()

    async def handle_dbapi(_request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            return unavailable()
        raise exc

    for kind in (OperationalError, InterfaceError, PoolTimeout):
        app.add_exception_handler(kind, handle)
    app.add_exception_handler(DBAPIError, handle_dbapi)
    install_value_range_handler(app)


def install_value_range_handler(app: FastAPI) -> None:
    """A value the database cannot hold (an id beyond 64 bits, a NUL in text) is the caller's error.

    Routes validate what they can; this is the net under them, so that no input reaches a 500:
    PostgreSQL refuses such values with a DataError, SQLite's driver with an OverflowError before
    the statement runs. The request's transaction is rolled back as for any error.
    """
    from sqlalchemy.exc import DataError

    async def handle(_request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, OverflowError) and "convert to SQLite INTEGER" not in str(exc):
            raise exc
        reason = str(exc.orig if isinstance(exc, DataError) else exc).splitlines()[0][:200]
        return JSONResponse({"detail": f"a value is out of range: {reason}"}, status_code=400)

    app.add_exception_handler(DataError, handle)
    app.add_exception_handler(OverflowError, handle)
