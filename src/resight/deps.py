"""Request dependencies shared by every domain's routes: settings, the session, the caller."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from resight.audit.service import Actor
from resight.config import Settings
from resight.db import transaction
from resight.errors import Forbidden, Unauthorized
from resight.users.models import Role
from resight.users.service import Principal, resolve_token


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session_factory(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


def get_db_session(
    factory: Annotated[sessionmaker[Session], Depends(get_session_factory)],
) -> Iterator[Session]:
    with transaction(factory) as session:
        yield session


# scope="function": commit before the response is sent, so a 2xx means the change is durable.
SessionDep = Annotated[Session, Depends(get_db_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]

_bearer = HTTPBearer(auto_error=False, description="A session token from POST /auth/token or an API token.")


def get_principal(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("Not authenticated: send Authorization: Bearer <token>")
    principal = resolve_token(session, credentials.credentials)
    if principal is None:
        raise Unauthorized("Invalid, expired or revoked token")
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_role(minimum: Role) -> Callable[[Principal], Principal]:
    def guard(principal: PrincipalDep) -> Principal:
        if not principal.role.allows(minimum):
            raise Forbidden(f"this action needs the {minimum.value} role (you are {principal.role.value})")
        return principal

    guard.__name__ = f"require_{minimum.value}"
    return guard


ViewerDep = Annotated[Principal, Depends(require_role(Role.viewer))]
MerchandiserDep = Annotated[Principal, Depends(require_role(Role.merchandiser))]
AdminDep = Annotated[Principal, Depends(require_role(Role.admin))]


def get_request_id(request: Request) -> str | None:
    value = getattr(request.state, "request_id", None)
    return value if isinstance(value, str) else None


RequestIdDep = Annotated[str | None, Depends(get_request_id)]


def actor_of(principal: Principal, request_id: str | None) -> Actor:
    return principal.actor(request_id)
