from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from resight.catalog.models import Platform
from resight.events.kpis import Change, Totals, Window, change, kpi_values
from resight.events.models import Alert, AlertStatus
from resight.india import IST

Number = Decimal | int


class KpiOut(BaseModel):
    value: Number | None = Field(
        description="This window's value (null when undefined, e.g. CTR with 0 views)."
    )
    previous: Number | None = Field(description="The previous window's value.")
    change: Number | None = Field(description="value - previous.")
    change_pct: Decimal | None = Field(description="Percent change of the previous value; null when it is 0.")

    @classmethod
    def of(cls, item: Change) -> KpiOut:
        return cls(value=item.value, previous=item.previous, change=item.change, change_pct=item.change_pct)


class WindowOut(BaseModel):
    name: str = Field(description="today, 24h, 7d, 30d or custom.")
    start: dt.datetime = Field(description="Inclusive, UTC.")
    end: dt.datetime = Field(description="Exclusive, UTC.")
    start_ist: dt.datetime
    end_ist: dt.datetime
    previous_start: dt.datetime
    previous_end: dt.datetime

    @classmethod
    def of(cls, window: Window) -> WindowOut:
        return cls(
            name=window.name,
            start=window.start,
            end=window.end,
            start_ist=window.start.astimezone(IST),
            end_ist=window.end.astimezone(IST),
            previous_start=window.previous_start,
            previous_end=window.previous_end,
        )


class EventKpis(BaseModel):
    """Event-derived KPIs with the previous window's value and the change (docs/metrics.md)."""

    gmv: KpiOut = Field(description="Ordered GMV in ₹: order value of order lines placed in the window.")
    net_gmv: KpiOut = Field(description="GMV minus cancelled and returned value recorded in the window, ₹.")
    orders: KpiOut
    units: KpiOut
    views: KpiOut
    clicks: KpiOut
    add_to_carts: KpiOut
    ctr: KpiOut = Field(description="clicks / views.")
    conversion: KpiOut = Field(description="orders / views.")
    aov: KpiOut = Field(description="GMV / orders, ₹.")
    cancellations: KpiOut
    cancelled_units: KpiOut
    returns: KpiOut
    returned_units: KpiOut

    @staticmethod
    def fields_of(current: Totals, previous: Totals) -> dict[str, Any]:
        now_values, before = kpi_values(current), kpi_values(previous)
        return {name: KpiOut.of(change(now_values[name], before[name])) for name in now_values}


class MetricsOut(EventKpis):
    window: WindowOut
    active_products: KpiOut = Field(
        description="Products listed as active at the window's end (now for a running window); "
        "previous: at the previous window's end (docs/metrics.md)."
    )
    out_of_stock_products: KpiOut = Field(
        description="Products not deleted whose known stock is 0 or less, at the window's end "
        "(now for a running window); previous: at the previous window's end."
    )


class TimeseriesPoint(BaseModel):
    start: dt.datetime = Field(description="Bucket start, UTC.")
    label: str = Field(description="The IST hour ('2026-11-28 10:00 IST') or IST date ('2026-11-28').")
    gmv: Decimal
    net_gmv: Decimal
    orders: int
    units: int
    views: int
    clicks: int
    add_to_carts: int
    ctr: Decimal | None
    conversion: Decimal | None
    cancellations: int
    returns: int


class TimeseriesOut(BaseModel):
    window: WindowOut
    granularity: str
    points: list[TimeseriesPoint]


class BreakdownRow(EventKpis):
    key: str = Field(description="The marketplace, category path or brand.")


class MoverOut(BaseModel):
    product_id: int
    sku: str
    title: str
    marketplace: Platform
    category: str
    brand: str
    metric: str
    value: Number
    previous: Number
    change: Number
    change_pct: Decimal | None


class ProductWindowMetrics(EventKpis):
    window: WindowOut


class ProductMetrics(BaseModel):
    """One product's KPIs for each named window, and its stock cover."""

    product_id: int
    stock: int | None
    units_last_7d: int
    days_of_cover: Decimal | None = Field(description="stock / (units sold in the last 7 days / 7).")
    windows: dict[str, ProductWindowMetrics] = Field(description="Keyed by today, 24h, 7d, 30d.")


class AlertOut(BaseModel):
    id: int
    kind: str
    severity: str
    subject_type: str | None
    subject_id: str | None
    message: str
    details: dict[str, Any]
    status: AlertStatus
    created_at: dt.datetime
    acknowledged_at: dt.datetime | None
    acknowledged_by: int | None
    resolved_at: dt.datetime | None

    @classmethod
    def of(cls, alert: Alert) -> AlertOut:
        return cls(
            id=alert.id,
            kind=alert.kind,
            severity=alert.severity,
            subject_type=alert.subject_type,
            subject_id=alert.subject_id,
            message=alert.message,
            details=alert.details,
            status=alert.status,
            created_at=alert.created_at,
            acknowledged_at=alert.acknowledged_at,
            acknowledged_by=alert.acknowledged_by,
            resolved_at=alert.resolved_at,
        )
