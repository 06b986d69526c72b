from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from resight.catalog.models import Platform
from resight.db import Base, BigIntId, UTCDateTime, utcnow


class EventType(enum.StrEnum):
    view = "view"
    click = "click"
    add_to_cart = "add_to_cart"
    order = "order"
    cancellation = "cancellation"
    return_ = "return"


class Event(Base):
    """One customer interaction or order line, as reported by a marketplace."""

    __tablename__ = "events"
    __table_args__ = (
        # A marketplace's own id for the event (order line, traffic bucket) makes re-sends harmless.
        UniqueConstraint("store_id", "event_type", "external_id"),
        # No index by product, by delivery or by time: nothing reads events that way but the
        # operator's rollup rebuild (KPIs, alerts and item pages read the rollups), and each index
        # cost every insert (migrations events_0003, events_0007).
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    marketplace: Mapped[Platform] = mapped_column(Enum(Platform, native_enum=False, length=16))
    event_type: Mapped[EventType] = mapped_column(
        Enum(EventType, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    revenue_paise: Mapped[int] = mapped_column(BigInteger, default=0)
    event_time: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    external_id: Mapped[str | None] = mapped_column(String(200))
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="SET NULL"))


class RollupCounters:
    """The totals every rollup level keeps (docs/metrics.md defines each)."""

    views: Mapped[int] = mapped_column(BigInteger, default=0)
    clicks: Mapped[int] = mapped_column(BigInteger, default=0)
    add_to_carts: Mapped[int] = mapped_column(BigInteger, default=0)
    orders: Mapped[int] = mapped_column(BigInteger, default=0)
    units: Mapped[int] = mapped_column(BigInteger, default=0)
    gmv_paise: Mapped[int] = mapped_column(BigInteger, default=0)
    cancellations: Mapped[int] = mapped_column(BigInteger, default=0)
    cancelled_units: Mapped[int] = mapped_column(BigInteger, default=0)
    cancelled_paise: Mapped[int] = mapped_column(BigInteger, default=0)
    returns: Mapped[int] = mapped_column(BigInteger, default=0)
    returned_units: Mapped[int] = mapped_column(BigInteger, default=0)
    returned_paise: Mapped[int] = mapped_column(BigInteger, default=0)


class ProductHourlyMetrics(RollupCounters, Base):
    """Per product, per IST hour totals, kept in step with events in the ingestion transaction.

    `hour_start` is the UTC instant at which the IST hour begins (always hh:30 UTC), so IST days
    and IST hours are exact unions of buckets (docs/decisions/0101-ist-hour-rollups.md).
    """

    __tablename__ = "product_hourly_metrics"
    __table_args__ = (
        # The few product-hours with orders, covering what alerts sum over a week (units, GMV):
        # most product-hours hold only traffic (migration events_0002).
        Index(
            "ix_product_hourly_metrics_orders",
            "hour_start",
            "product_id",
            "units",
            "gmv_paise",
            sqlite_where=text("orders > 0"),
            postgresql_where=text("orders > 0"),
        ),
    )

    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), primary_key=True)
    hour_start: Mapped[dt.datetime] = mapped_column(UTCDateTime, primary_key=True, index=True)


class SegmentHourlyMetrics(RollupCounters, Base):
    """The same totals per IST hour per store and category: what whole-catalogue KPIs read.

    A window's KPIs then cost hours x (store, category) pairs, not hours x products. An event is
    attributed to the category its product had when the event was recorded.
    """

    __tablename__ = "segment_hourly_metrics"

    hour_start: Mapped[dt.datetime] = mapped_column(UTCDateTime, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True)
    category: Mapped[str] = mapped_column(String(300), primary_key=True)
    marketplace: Mapped[Platform] = mapped_column(Enum(Platform, native_enum=False, length=16))


class ProductStateCounts(Base):
    """Active and out-of-stock products per store and category, now.

    Kept exact by database triggers on `products` (migration events_0001), so every writer of
    products (catalog, ingestion, imports, bulk SQL) keeps it in step without calling us, and
    GET /metrics reads a few rows instead of counting the catalogue. On PostgreSQL the trigger's
    changes are folded in at commit (events_0006): read through `segment_reads.product_counts`.
    """

    __tablename__ = "product_state_counts"

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True)
    category: Mapped[str] = mapped_column(String(300), primary_key=True)
    marketplace: Mapped[Platform] = mapped_column(Enum(Platform, native_enum=False, length=16))
    active: Mapped[int] = mapped_column(BigInteger, default=0)
    out_of_stock: Mapped[int] = mapped_column(BigInteger, default=0)


class ProductStateCountDelta(Base):
    """PostgreSQL only (empty on SQLite): changes to product_state_counts appended by the products
    trigger and folded into it once per transaction, at commit or before a read
    (`segment_reads.fold_state_counts`). Updating one counts row per product costs O(N²) in
    PostgreSQL for N products of a segment in one transaction (migration events_0006)."""

    __tablename__ = "product_state_count_deltas"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    store_id: Mapped[int] = mapped_column(BigIntId)
    category: Mapped[str] = mapped_column(String(300))
    marketplace: Mapped[Platform] = mapped_column(Enum(Platform, native_enum=False, length=16))
    active: Mapped[int] = mapped_column(Integer)
    out_of_stock: Mapped[int] = mapped_column(Integer)


class SegmentDailyMetrics(RollupCounters, Base):
    """The segment totals per IST day: long windows read whole days here and only their edge hours
    from segment_hourly_metrics.

    Kept exact by database triggers on `segment_hourly_metrics` (migration events_0002), so every
    writer of hourly rollups (ingestion, the simulator's bulk load, the rebuild) keeps it in step.
    `day_start` is the UTC instant at which the IST day begins (18:30 UTC the day before).
    """

    __tablename__ = "segment_daily_metrics"
    __table_args__ = ({"sqlite_with_rowid": False},)  # clustered by day: a window is one range read

    day_start: Mapped[dt.datetime] = mapped_column(UTCDateTime, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True)
    category: Mapped[str] = mapped_column(String(300), primary_key=True)
    marketplace: Mapped[Platform] = mapped_column(Enum(Platform, native_enum=False, length=16))


class ProductStateChanges(Base):
    """How much the active and out-of-stock counts of a store and category changed in an IST hour.

    Written by triggers on `product_state_counts` (migration events_0002) with the database clock,
    so the count at any past IST hour boundary is the current count minus the changes since.
    """

    __tablename__ = "product_state_changes"
    __table_args__ = ({"sqlite_with_rowid": False},)

    hour_start: Mapped[dt.datetime] = mapped_column(UTCDateTime, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True)
    category: Mapped[str] = mapped_column(String(300), primary_key=True)
    marketplace: Mapped[Platform] = mapped_column(Enum(Platform, native_enum=False, length=16))
    active: Mapped[int] = mapped_column(BigInteger, default=0)
    out_of_stock: Mapped[int] = mapped_column(BigInteger, default=0)


class ProductStateDailyChanges(Base):
    """The same changes per IST day, so going back 30 days reads 30 rows per segment, not 720."""

    __tablename__ = "product_state_daily_changes"
    __table_args__ = ({"sqlite_with_rowid": False},)

    day_start: Mapped[dt.datetime] = mapped_column(UTCDateTime, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True)
    category: Mapped[str] = mapped_column(String(300), primary_key=True)
    marketplace: Mapped[Platform] = mapped_column(Enum(Platform, native_enum=False, length=16))
    active: Mapped[int] = mapped_column(BigInteger, default=0)
    out_of_stock: Mapped[int] = mapped_column(BigInteger, default=0)


class AlertStatus(enum.StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    resolved = "resolved"


class Alert(Base):
    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(50), index=True)
    severity: Mapped[str] = mapped_column(String(16), default="warning")
    subject_type: Mapped[str | None] = mapped_column(String(50))
    subject_id: Mapped[str | None] = mapped_column(String(100))
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[AlertStatus] = mapped_column(
        Enum(AlertStatus, native_enum=False, length=16), default=AlertStatus.open, index=True
    )
    # Set while the alert is open and cleared when it resolves: one open alert per condition.
    open_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
