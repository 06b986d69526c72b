"""KPI definitions (docs/metrics.md), pure: counters in, KPI values out; windows from `now`.

Nothing here touches the database or the clock, so rollup-based and raw-event-based KPIs
share one definition and the property test compares like with like.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, fields
from decimal import ROUND_HALF_UP, Decimal

from resight.events.rollups import BUCKET, bucket_start, is_bucket_boundary
from resight.india import IST, paise_to_rupees

RATIO = Decimal("0.0001")
PERCENT = Decimal("0.01")
RUPEE = Decimal("0.01")
MAX_WINDOW = dt.timedelta(days=400)


@dataclass(frozen=True, slots=True)
class Totals:
    """Summed rollup counters for some set of products and buckets."""

    views: int = 0
    clicks: int = 0
    add_to_carts: int = 0
    orders: int = 0
    units: int = 0
    gmv_paise: int = 0
    cancellations: int = 0
    cancelled_units: int = 0
    cancelled_paise: int = 0
    returns: int = 0
    returned_units: int = 0
    returned_paise: int = 0

    def __add__(self, other: Totals) -> Totals:
        return Totals(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    @classmethod
    def of(cls, values: object) -> Totals:
        """From any row-like object or mapping with the counter names (None counts as 0)."""
        names = [f.name for f in fields(cls)]
        if isinstance(values, dict):
            return cls(*(int(values.get(name) or 0) for name in names))
        return cls(*(int(getattr(values, name) or 0) for name in names))


def ratio(numerator: int, denominator: int) -> Decimal | None:
    if denominator == 0:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(RATIO, rounding=ROUND_HALF_UP)


def net_gmv_paise(totals: Totals) -> int:
    return totals.gmv_paise - totals.cancelled_paise - totals.returned_paise


def aov(totals: Totals) -> Decimal | None:
    if totals.orders == 0:
        return None
    return (Decimal(totals.gmv_paise) / 100 / totals.orders).quantize(RUPEE, rounding=ROUND_HALF_UP)


Number = Decimal | int


def kpi_values(totals: Totals) -> dict[str, Number | None]:
    """Every event-derived KPI of docs/metrics.md, by name."""
    return {
        "gmv": paise_to_rupees(totals.gmv_paise),
        "net_gmv": paise_to_rupees(net_gmv_paise(totals)),
        "orders": totals.orders,
        "units": totals.units,
        "views": totals.views,
        "clicks": totals.clicks,
        "add_to_carts": totals.add_to_carts,
        "ctr": ratio(totals.clicks, totals.views),
        "conversion": ratio(totals.orders, totals.views),
        "aov": aov(totals),
        "cancellations": totals.cancellations,
        "cancelled_units": totals.cancelled_units,
        "returns": totals.returns,
        "returned_units": totals.returned_units,
    }


@dataclass(frozen=True, slots=True)
class Change:
    value: Number | None
    previous: Number | None
    change: Number | None
    change_pct: Decimal | None


def change(value: Number | None, previous: Number | None) -> Change:
    """Absolute change, and percent change of the previous value (None when it is 0 or unknown)."""
    if value is None or previous is None:
        return Change(value, previous, None, None)
    delta = value - previous
    pct = (
        None if previous == 0 else (Decimal(delta) * 100 / Decimal(previous)).quantize(PERCENT, ROUND_HALF_UP)
    )
    return Change(value, previous, delta, pct)


class WindowName(enum.StrEnum):
    today = "today"
    h24 = "24h"
    d7 = "7d"
    d30 = "30d"


_SPANS = {
    WindowName.h24: dt.timedelta(hours=24),
    WindowName.d7: dt.timedelta(days=7),
    WindowName.d30: dt.timedelta(days=30),
}


@dataclass(frozen=True, slots=True)
class Window:
    """[start, end) and the previous window [previous_start, previous_end), all on IST-hour boundaries."""

    name: str
    start: dt.datetime
    end: dt.datetime
    previous_start: dt.datetime
    previous_end: dt.datetime


def ist_midnight(moment: dt.datetime) -> dt.datetime:
    local = moment.astimezone(IST)
    return dt.datetime(local.year, local.month, local.day, tzinfo=IST).astimezone(dt.UTC)


def named_window(name: WindowName, now: dt.datetime) -> Window:
    """Windows end with the current, partly elapsed IST hour, so the latest events count."""
    end = bucket_start(now) + BUCKET
    if name is WindowName.today:
        start = ist_midnight(now)
        day = dt.timedelta(days=1)
        # Yesterday up to the same time of day: the same span, one IST day earlier.
        return Window(name.value, start, end, start - day, end - day)
    span = _SPANS[name]
    return Window(name.value, end - span, end, end - 2 * span, end - span)


class WindowError(ValueError):
    pass


def custom_window(start: dt.datetime, end: dt.datetime) -> Window:
    """`from`/`to` must be timezone-aware IST-hour boundaries (any offset; IST hours are hh:30 UTC)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise WindowError("from and to must include a UTC offset, e.g. 2026-11-28T00:00:00+05:30")
    start, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
    if not (is_bucket_boundary(start) and is_bucket_boundary(end)):
        raise WindowError(
            "from and to must fall on whole IST hours (e.g. 10:00+05:30 = 04:30Z): KPIs are kept per IST hour"
        )
    if end <= start:
        raise WindowError("to must be after from")
    if end - start > MAX_WINDOW:
        raise WindowError(f"a window may span at most {MAX_WINDOW.days} days")
    span = end - start
    return Window("custom", start, end, start - span, start)


def hour_labels(start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """Each bucket start in [start, end)."""
    hours = []
    moment = start
    while moment < end:
        hours.append(moment)
        moment += BUCKET
    return hours


def day_labels(start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """Each IST day start in [start, end), both IST midnights."""
    days = []
    moment = start
    while moment < end:
        days.append(moment)
        moment += dt.timedelta(days=1)
    return days


def ist_label(moment: dt.datetime, *, daily: bool) -> str:
    local = moment.astimezone(IST)
    return local.strftime("%Y-%m-%d") if daily else local.strftime("%Y-%m-%d %H:%M IST")


def days_of_cover(stock: int | None, units_7d: int) -> Decimal | None:
    """Days the current stock lasts at the last 7 days' sales rate (None if unknown or not selling)."""
    if stock is None or units_7d <= 0:
        return None
    return (Decimal(max(stock, 0)) * 7 / units_7d).quantize(Decimal("0.1"), ROUND_HALF_UP)
