from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, BigInteger, Enum, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from resight.catalog.models import Platform
from resight.db import Base, BigIntId, UTCDateTime, utcnow


class DeliveryStatus(enum.StrEnum):
    received = "received"  # stored, not yet normalised
    processed = "processed"
    duplicate = "duplicate"  # a repeat of an earlier delivery id; no effect
    quarantined = "quarantined"  # authentic but could not be normalised; replayable
    ignored = "ignored"  # authentic, understood, nothing for us in it (unknown notification type)


class WebhookDelivery(Base):
    """The inbox: every authenticated delivery or import, raw, before anything is applied."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_store_status", "store_id", "status"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id", ondelete="SET NULL"))
    platform: Mapped[Platform] = mapped_column(Enum(Platform, native_enum=False, length=16))
    kind: Mapped[str] = mapped_column(String(16), default="webhook")  # webhook | batch | import
    # webhook-id, Amazon NotificationId, or a content hash.
    delivery_id: Mapped[str] = mapped_column(String(200), index=True)
    # "<store>:<delivery id>" for the first copy only; NULL on duplicates, so the unique
    # constraint makes redelivery idempotent even under concurrent requests.
    dedupe_key: Mapped[str | None] = mapped_column(String(250), unique=True)
    status: Mapped[DeliveryStatus] = mapped_column(Enum(DeliveryStatus, native_enum=False, length=16))
    notification_type: Mapped[str | None] = mapped_column(String(100))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    processed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    records_applied: Mapped[int] = mapped_column(Integer, default=0)


class StoreRejection(Base):
    """Refused deliveries per store (401, 413, 400), counted without storing anything they sent."""

    __tablename__ = "store_rejections"

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    last_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_reason: Mapped[str | None] = mapped_column(String(200))
