"""Whole-catalogue reads for a window: segment rollups and product state counts, filtered.

Their cost depends on the window's length and the number of (store, category) segments, never on
the number of events or products: whole IST days come from the daily rollups, only the partial
days at a window's edges from the hourly ones (docs/metrics.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, or_, select, text, union_all
from sqlalchemy.orm import Session

from resight.catalog.models import Platform
from resight.catalog.names import CATEGORY_SEPARATOR, normalise_category
from resight.catalog.service import categories_under
from resight.dialect import escape_like
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
    category: str | None = None  # the category and its subcategories; blank: no filter
    # The catalogue's stored spellings of `category` and below, once looked up (`resolved`).
    spellings: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.category is not None and not normalise_category(self.category):
            object.__setattr__(self, "category", None)  # " ", ">": names no category

    def resolved(self, session: Session) -> Filters:
        """These filters with the category's spellings looked up, for a request that reads
        several times with them (each read would look them up again)."""
        if self.category is None or self.spellings is not None:
            return self
        return replace(self, spellings=tuple(categories_under(session, self.category)))


def _category_clause(column: Any, values: dict[str, Any] | None = None) -> ColumnElement[bool]:
    """The category filter on `column`: with the values of _category_values, or bound at
    execution when None (the cached statements)."""

    def value(name: str) -> Any:
        return bindparam(name, expanding=name == "categories") if values is None else values[name]

    return or_(
        column.in_(value("categories")),
        column.ilike(value("category_path"), escape="\\"),
        column.ilike(value("category_prefix"), escape="\\"),
    )


def _category_values(session: Session, filters: Filters) -> dict[str, Any]:
    """A category filter matches what the ranking's filters, the product list and rules match:
    the catalogue's categories at or below `category`, case and spacing around " > " ignored
    (catalog.service.categories_under, which lists their stored spellings). Rollups keep the
    category a product had when its events happened, so a category no product has any more is
    matched too, ignoring case, when it is spelled with single spaces around " > "."""
    assert filters.category is not None
    path = normalise_category(filters.category)
    return {
        "categories": list(filters.resolved(session).spellings or ()),
        "category_path": escape_like(path),
        "category_prefix": escape_like(path + CATEGORY_SEPARATOR) + "%",
    }


def filtered(
    session: Session, query: Any, filters: Filters, marketplace: Any, store: Any, category: Any
) -> Any:
    """`query` (a Select of any shape) with the filters applied to the given columns."""
    if filters.marketplace is not None:
        query = query.where(marketplace == filters.marketplace)
    if filters.store_id is not None:
        query = query.where(store == filters.store_id)
    if filters.category is not None:
        query = query.where(_category_clause(category, _category_values(session, filters)))
    return query


# Statements are built once per combination of filters given (values are bound at execution):
# composing a dozen SUM()s over a UNION cost ten times more than running it.
Shape = tuple[bool, bool, bool]  # marketplace, store, category given


def _shape(filters: Filters) -> Shape:
    return (filters.marketplace is not None, filters.store_id is not None, filters.category is not None)


def _parameters(session: Session, filters: Filters) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if filters.marketplace is not None:
        values["marketplace"] = filters.marketplace
    if filters.store_id is not None:
        values["store_id"] = filters.store_id
    if filters.category is not None:
        values.update(_category_values(session, filters))
    return values


def _segment_filtered(query: Any, table: Any, shape: Shape) -> Any:
    """`query` restricted to the segments of the filters in `shape`, as bound parameters."""
    marketplace, store, category = shape
    if marketplace:
        query = query.where(table.marketplace == bindparam("marketplace"))
    if store:
        query = query.where(table.store_id == bindparam("store_id"))
    if category:
        query = query.where(_category_clause(table.category))
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
        _segment_totals_statement(_shape(filters)), {**bounds, **_parameters(session, filters)}
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
    row = session.execute(_state_counts_statement(_shape(filters)), _parameters(session, filters)).one()
    return int(row[0]), int(row[1])


def product_counts_at(session: Session, filters: Filters, moment: dt.datetime) -> tuple[int, int]:
    """(active, out-of-stock) products as they stood at `moment`, an IST-hour boundary: the counts
    now minus the changes recorded from that IST hour on (docs/metrics.md)."""
    active, out_of_stock = product_counts(session, filters)
    bounds = {"since": moment, "day": next_ist_midnight(moment)}
    changed = session.execute(
        _state_changes_statement(_shape(filters)), {**bounds, **_parameters(session, filters)}
    ).one()
    return active - int(changed[0]), out_of_stock - int(changed[1])
