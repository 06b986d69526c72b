from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, Enum, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from resight.db import Base, BigIntId, UTCDateTime, utcnow


class RuleKind(enum.StrEnum):
    pin = "pin"
    boost = "boost"
    demote = "demote"
    remove = "remove"


class RuleScope(enum.StrEnum):
    product = "product"
    brand = "brand"
    category = "category"  # the category and its subcategories
    marketplace = "marketplace"


class Rule(Base):
    __tablename__ = "rules"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    kind: Mapped[RuleKind] = mapped_column(Enum(RuleKind, native_enum=False, length=16), index=True)
    scope: Mapped[RuleScope] = mapped_column(Enum(RuleScope, native_enum=False, length=16))
    scope_value: Mapped[str] = mapped_column(String(300))
    position: Mapped[int | None] = mapped_column(Integer)
    strength: Mapped[float | None] = mapped_column(Float)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    valid_from: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    valid_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
