from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import select

from resight.audit.service import Actor, record
from resight.deps import AdminDep, RequestIdDep, SessionDep, SettingsDep, ViewerDep
from resight.errors import Unauthorized
from resight.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_id_cursor, page_of
from resight.ratelimit import RateLimiter
from resight.users import service
from resight.users.models import ApiToken, Role, TokenKind, User
from resight.users.schemas import (
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenOut,
    Me,
    TokenResponse,
    UserCreate,
    UserOut,
    UserUpdate,
)

router = APIRouter(tags=["users"])
LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


@router.post(
    "/auth/token",
    response_model=TokenResponse,
    responses={429: {"description": "Too many login attempts for this username from this address."}},
)
def login(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
) -> TokenResponse:
    limiter: RateLimiter = request.app.state.login_limiter
    client = request.client.host if request.client else "unknown"
    limiter.hit(f"{client}|{form.username.lower()}", "login attempts")
    user = service.authenticate(session, form.username, form.password)
    if user is None:
        raise Unauthorized("Incorrect username or password")
    row, token = service.issue_token(
        session,
        user,
        kind=TokenKind.session,
        name="login",
        lifetime=dt.timedelta(minutes=settings.token_lifetime_minutes),
    )
    actor = Actor(type="user", id=str(user.id), name=user.username, request_id=request_id)
    record(
        session,
        actor,
        "auth.login",
        "api_token",
        row.id,
        new={"kind": "session", "expires_at": row.expires_at},
    )
    return TokenResponse(access_token=token, expires_at=row.expires_at)


@router.get("/auth/me", response_model=Me)
def me(principal: ViewerDep) -> Me:
    return Me(
        id=principal.user_id,
        username=principal.username,
        role=principal.role,
        token_kind=principal.token_kind,
    )


@router.get("/users", response_model=Page[UserOut])
def list_users(
    session: SessionDep,
    _admin: AdminDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[UserOut]:
    after_id = decode_id_cursor(cursor)
    query = select(User).order_by(User.id).limit(limit + 1)
    if after_id is not None:
        query = query.where(User.id > after_id)
    rows, next_cursor = page_of(list(session.scalars(query)), limit, lambda row: [row.id])
    return Page(items=[UserOut.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(body: UserCreate, session: SessionDep, admin: AdminDep, request_id: RequestIdDep) -> UserOut:
    user = service.create_user(session, admin.actor(request_id), body.username, body.password, body.role)
    return UserOut.model_validate(user)


@router.patch("/users/{user_id}", response_model=UserOut)
def update_user(
    user_id: int, body: UserUpdate, session: SessionDep, admin: AdminDep, request_id: RequestIdDep
) -> UserOut:
    user = service.update_user(
        session,
        admin.actor(request_id),
        user_id,
        role=body.role,
        is_active=body.is_active,
        password=body.password,
    )
    return UserOut.model_validate(user)


@router.get("/auth/api-tokens", response_model=Page[ApiTokenOut])
def list_api_tokens(
    session: SessionDep,
    principal: ViewerDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[ApiTokenOut]:
    """The caller's own API tokens (an admin sees everyone's)."""
    after_id = decode_id_cursor(cursor)
    query = select(ApiToken).where(ApiToken.kind == TokenKind.api).order_by(ApiToken.id).limit(limit + 1)
    if not principal.role.allows(Role.admin):
        query = query.where(ApiToken.user_id == principal.user_id)
    if after_id is not None:
        query = query.where(ApiToken.id > after_id)
    rows, next_cursor = page_of(list(session.scalars(query)), limit, lambda row: [row.id])
    return Page(items=[ApiTokenOut.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.post("/auth/api-tokens", response_model=ApiTokenCreated, status_code=201)
def create_api_token(
    body: ApiTokenCreate, session: SessionDep, admin: AdminDep, request_id: RequestIdDep
) -> ApiTokenCreated:
    lifetime = None if body.expires_in_days is None else dt.timedelta(days=body.expires_in_days)
    row, token = service.create_api_token(
        session, admin.actor(request_id), body.user_id or admin.user_id, body.name, lifetime
    )
    return ApiTokenCreated(**ApiTokenOut.model_validate(row).model_dump(), token=token)


@router.delete("/auth/api-tokens/{token_id}", response_model=ApiTokenOut)
def revoke_api_token(
    token_id: int, session: SessionDep, admin: AdminDep, request_id: RequestIdDep
) -> ApiTokenOut:
    return ApiTokenOut.model_validate(service.revoke_token(session, admin.actor(request_id), token_id))
