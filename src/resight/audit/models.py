from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from resight.db import Base, BigIntId, UTCDateTime, utcnow


class AuditLog(Base):
    """Append-only; each row's hash covers its content and the previous row's hash."""

    __tablename__ = "audit_logs"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    actor_type: Mapped[str] = mapped_column(String(16), index=True)  # user | api_token | store | system
    actor_id: Mapped[str | None] = mapped_column(String(100), index=True)
    actor_name: Mapped[str | None] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64), index=True)
    entity_type: Mapped[str] = mapped_column(String(50), index=True)
    entity_id: Mapped[str | None] = mapped_column(String(100), index=True)
    old_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    new_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditChainHead(Base):
    """A single row: appending locks it, which serialises appenders on every backend."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))
