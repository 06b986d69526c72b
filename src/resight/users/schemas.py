from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from resight.users.models import Role, TokenKind


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: dt.datetime | None = None


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    role: Role
    is_active: bool
    created_at: dt.datetime


class UserCreate(BaseModel):
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=8, max_length=256)
    role: Role = Role.viewer


class UserUpdate(BaseModel):
    role: Role | None = None
    is_active: bool | None = None
    password: str | None = Field(default=None, min_length=8, max_length=256)


class ApiTokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    user_id: int | None = Field(default=None, description="Defaults to the caller.")
    expires_in_days: int | None = Field(default=None, gt=0, le=3650)


class ApiTokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    kind: TokenKind
    name: str
    prefix: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None


class ApiTokenCreated(ApiTokenOut):
    token: str = Field(description="Shown once; only its hash is stored.")


class Me(BaseModel):
    id: int
    username: str
    role: Role
    token_kind: TokenKind
