from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from resight.audit.service import Actor, record
from resight.db import utcnow
from resight.errors import BadRequest, Conflict, NotFound
from resight.users.models import ApiToken, Role, TokenKind, User
from resight.users.security import (
    DUMMY_PASSWORD_HASH,
    hash_password,
    new_token,
    token_digest,
    verify_password,
)

# A lookup per request is cheap; writing last_used_at on every request is not.
LAST_USED_RESOLUTION = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    role: Role
    token_id: int
    token_kind: TokenKind

    def actor(self, request_id: str | None = None) -> Actor:
        kind = "user" if self.token_kind is TokenKind.session else "api_token"
        actor_id = str(self.user_id) if kind == "user" else str(self.token_id)
        return Actor(type=kind, id=actor_id, name=self.username, request_id=request_id)


def _user_snapshot(user: User) -> dict[str, object]:
    return {"username": user.username, "role": user.role.value, "is_active": user.is_active}


def create_user(session: Session, actor: Actor, username: str, password: str, role: Role) -> User:
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"username {username!r} is taken")
    user = User(username=username, password_hash=hash_password(password), role=role, is_active=True)
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"username {username!r} is taken") from exc
    record(session, actor, "user.created", "user", user.id, new=_user_snapshot(user))
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


def update_user(
    session: Session,
    actor: Actor,
    user_id: int,
    *,
    role: Role | None,
    is_active: bool | None,
    password: str | None,
) -> User:
    user = get_user(session, user_id)
    before = _user_snapshot(user)
    if role is not None:
        user.role = role
    if password is not None:
        user.password_hash = hash_password(password)
    if is_active is not None and is_active != user.is_active:
        user.is_active = is_active
        if not is_active:
            revoke_all_tokens(session, user.id)
    session.flush()
    after = _user_snapshot(user)
    if password is not None:
        after["password_changed"] = True
    record(session, actor, "user.updated", "user", user.id, old=before, new=after)
    return user


def revoke_all_tokens(session: Session, user_id: int) -> None:
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        verify_password(DUMMY_PASSWORD_HASH, password)
        return None
    if not verify_password(user.password_hash, password) or not user.is_active:
        return None
    return user


def issue_token(
    session: Session,
    user: User,
    *,
    kind: TokenKind,
    name: str,
    lifetime: dt.timedelta | None,
) -> tuple[ApiToken, str]:
    token = new_token()
    now = utcnow()
    row = ApiToken(
        user_id=user.id,
        kind=kind,
        name=name,
        token_hash=token_digest(token),
        prefix=token[:10],
        created_at=now,
        expires_at=None if lifetime is None else now + lifetime,
    )
    session.add(row)
    session.flush()
    return row, token


def create_api_token(
    session: Session, actor: Actor, user_id: int, name: str, lifetime: dt.timedelta | None
) -> tuple[ApiToken, str]:
    user = get_user(session, user_id)
    if not user.is_active:
        raise BadRequest(f"user {user.username!r} is disabled")
    row, token = issue_token(session, user, kind=TokenKind.api, name=name, lifetime=lifetime)
    record(
        session,
        actor,
        "api_token.created",
        "api_token",
        row.id,
        new={"user_id": user.id, "name": name, "prefix": row.prefix, "expires_at": row.expires_at},
    )
    return row, token


def revoke_token(session: Session, actor: Actor, token_id: int) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"API token {token_id} not found")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
        record(session, actor, "api_token.revoked", "api_token", row.id, new={"user_id": row.user_id})
    return row


def resolve_token(session: Session, token: str) -> Principal | None:
    now = utcnow()
    found = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == token_digest(token))
    ).first()
    if found is None:
        return None
    row, user = found
    if row.revoked_at is not None or not user.is_active:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        row.last_used_at = now
    return Principal(
        user_id=user.id, username=user.username, role=user.role, token_id=row.id, token_kind=row.kind
    )


def any_admin_exists(session: Session) -> bool:
    return session.scalar(select(User.id).where(User.role == Role.admin).limit(1)) is not None
