"""Whole-catalogue reads for a window: segment rollups and product state counts, filtered.

Their cost depends on the window's length and the number of (store, category) segments, never on
the number of events or products: whole IST days come from the daily rollups, only the partial
days at a window's edges from the hourly ones (docs/metrics.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, or_, select, text, union_all
from sqlalchemy.orm import Session

from resight.catalog.models import Platform
from resight.catalog.names import CATEGORY_SEPARATOR
from resight.events.kpis import Totals, ist_midnight
from resight.events.models import (
    ProductStateChanges,
    ProductStateCounts,
    ProductStateDailyChanges,
    SegmentDailyMetrics,
    SegmentHourlyMetrics,
)
from resight.events.rollups import COUNTERS

_DAY = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Filters:
    marketplace: Platform | None = None
    store_id: int | None = None
    category: str | None = None  # the category and its subcategories


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _category_clause(column: Any, category: str) -> ColumnElement[bool]:
    prefix = _escape_like(category + CATEGORY_SEPARATOR) + "%"
    return or_(column == category, column.like(prefix, escape="\\"))


def filtered(query: Any, filters: Filters, marketplace: Any, store: Any, category: Any) -> Any:
    """`query` (a Select of any shape) with the filters applied to the given columns."""
    if filters.marketplace is not None:
        query = query.where(marketplace == filters.marketplace)
    if filters.store_id is not None:
        query = query.where(store == filters.store_id)
    if filters.category is not None:
        query = query.where(_category_clause(category, filters.category))
    return query


# Statements are built once per combination of filters given (values are bound at execution):
# composing a dozen SUM()s over a UNION cost ten times more than running it.
Shape = tuple[bool, bool, bool]  # marketplace, store, category given


def _shape(filters: Filters) -> Shape:
    return (filters.marketplace is not None, filters.store_id is not None, filters.category is not None)


def _parameters(filters: Filters) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if filters.marketplace is not None:
        values["marketplace"] = filters.marketplace
    if filters.store_id is not None:
        values["store_id"] = filters.store_id
    if filters.category is not None:
        values["category"] = filters.category
        values["category_prefix"] = _escape_like(filters.category + CATEGORY_SEPARATOR) + "%"
    return values


def _segment_filtered(query: Any, table: Any, shape: Shape) -> Any:
    """`query` restricted to the segments of the filters in `shape`, as bound parameters."""
    marketplace, store, category = shape
    if marketplace:
        query = query.where(table.marketplace == bindparam("marketplace"))
    if store:
        query = query.where(table.store_id == bindparam("store_id"))
    if category:
        query = query.where(
            or_(
                table.category == bindparam("category"),
                table.category.like(bindparam("category_prefix"), escape="\\"),
            )
        )
    return query


def next_ist_midnight(moment: dt.datetime) -> dt.datetime:
    """The first IST midnight at or after `moment`."""
    midnight = ist_midnight(moment)
    return midnight if midnight == moment else midnight + _DAY


@dataclass(frozen=True, slots=True)
class Split:
    """[start, end) as hours [start, days_start), whole IST days [days_start, days_end), hours
    [days_end, end). Without a whole day inside, the days and the tail are empty."""

    start: dt.datetime
    days_start: dt.datetime
    days_end: dt.datetime
    end: dt.datetime


def split(start: dt.datetime, end: dt.datetime) -> Split:
    first = next_ist_midnight(start)
    last = ist_midnight(end)
    if first >= last:
        return Split(start, end, end, end)
    return Split(start, first, last, end)


def _range(column: Any, low: str, high: str) -> list[ColumnElement[bool]]:
    return [column >= bindparam(low), column < bindparam(high)]


def _counters(table: Any) -> list[Any]:
    return [getattr(table, name).label(name) for name in COUNTERS]


@cache
def _segment_totals_statement(shape: Shape) -> Any:
    hourly, daily = SegmentHourlyMetrics, SegmentDailyMetrics
    parts = [
        _segment_filtered(
            select(*_counters(hourly)).where(*_range(hourly.hour_start, "a", "b")), hourly, shape
        ),
        _segment_filtered(select(*_counters(daily)).where(*_range(daily.day_start, "b", "c")), daily, shape),
        _segment_filtered(
            select(*_counters(hourly)).where(*_range(hourly.hour_start, "c", "d")), hourly, shape
        ),
    ]
    rows = union_all(*parts).subquery()
    return select(*[func.coalesce(func.sum(getattr(rows.c, name)), 0).label(name) for name in COUNTERS])


def segment_totals(session: Session, filters: Filters, start: dt.datetime, end: dt.datetime) -> Totals:
    """Counter totals over [start, end) (IST-hour boundaries) for the filtered segments."""
    parts = split(start, end)
    bounds = {"a": parts.start, "b": parts.days_start, "c": parts.days_end, "d": parts.end}
    row = session.execute(
        _segment_totals_statement(_shape(filters)), {**bounds, **_parameters(filters)}
    ).one()
    return Totals.of(row)


@cache
def _state_counts_statement(shape: Shape) -> Any:
    table = ProductStateCounts
    query = select(func.coalesce(func.sum(table.active), 0), func.coalesce(func.sum(table.out_of_stock), 0))
    return _segment_filtered(query, table, shape)


@cache
def _state_changes_statement(shape: Shape) -> Any:
    hourly, daily = ProductStateChanges, ProductStateDailyChanges
    parts = [
        _segment_filtered(
            select(hourly.active, hourly.out_of_stock).where(*_range(hourly.hour_start, "since", "day")),
            hourly,
            shape,
        ),
        _segment_filtered(
            select(daily.active, daily.out_of_stock).where(daily.day_start >= bindparam("day")), daily, shape
        ),
    ]
    rows = union_all(*parts).subquery()
    return select(func.coalesce(func.sum(rows.c.active), 0), func.coalesce(func.sum(rows.c.out_of_stock), 0))


def fold_state_counts(session: Session) -> None:
    """PostgreSQL: bring product_state_counts up to this transaction's own product writes (its
    trigger appends deltas, folded at commit: migration events_0006); nothing to do on SQLite, or in
    a transaction that has written nothing."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT product_state_counts_fold()"))


def product_counts(session: Session, filters: Filters) -> tuple[int, int]:
    """(active products, out-of-stock products) now, per docs/metrics.md, from the trigger-kept counts."""
    fold_state_counts(session)
    row = session.execute(_state_counts_statement(_shape(filters)), _parameters(filters)).one()
    return int(row[0]), int(row[1])


def product_counts_at(session: Session, filters: Filters, moment: dt.datetime) -> tuple[int, int]:
    """(active, out-of-stock) products as they stood at `moment`, an IST-hour boundary: the counts
    now minus the changes recorded from that IST hour on (docs/metrics.md)."""
    active, out_of_stock = product_counts(session, filters)
    bounds = {"since": moment, "day": next_ist_midnight(moment)}
    changed = session.execute(
        _state_changes_statement(_shape(filters)), {**bounds, **_parameters(filters)}
    ).one()
    return active - int(changed[0]), out_of_stock - int(changed[1])
