"""Reading KPIs: from the rollup tables and products only, never from raw events."""

from __future__ import annotations

import datetime as dt
import enum
from collections import defaultdict
from typing import Any

from sqlalchemy import ColumnElement, Label, and_, case, func, or_, select
from sqlalchemy.orm import Session

from resight.catalog.models import Product
from resight.errors import NotFound
from resight.events import kpis
from resight.events.kpis import Totals, Window, WindowName
from resight.events.models import ProductHourlyMetrics, SegmentDailyMetrics, SegmentHourlyMetrics
from resight.events.rollups import COUNTERS
from resight.events.schemas import (
    BreakdownRow,
    EventKpis,
    KpiOut,
    MetricsOut,
    MoverOut,
    ProductMetrics,
    ProductWindowMetrics,
    TimeseriesOut,
    TimeseriesPoint,
    WindowOut,
)
from resight.events.segment_reads import Filters as Filters  # callers build filters from here
from resight.events.segment_reads import filtered, product_counts_at, segment_totals, split
from resight.india import paise_to_rupees


def metrics(session: Session, filters: Filters, window: Window) -> MetricsOut:
    filters = filters.resolved(session)  # read four times below
    current = segment_totals(session, filters, window.start, window.end)
    previous = segment_totals(session, filters, window.previous_start, window.previous_end)
    # As they stood when each window ended (or now, for a window still running).
    active, out_of_stock = product_counts_at(session, filters, window.end)
    active_before, out_of_stock_before = product_counts_at(session, filters, window.previous_end)
    return MetricsOut(
        window=WindowOut.of(window),
        **EventKpis.fields_of(current, previous),
        active_products=KpiOut.of(kpis.change(active, active_before)),
        out_of_stock_products=KpiOut.of(kpis.change(out_of_stock, out_of_stock_before)),
    )


class Granularity(enum.StrEnum):
    hour = "hour"
    day = "day"


def _totals_by_start(
    session: Session, filters: Filters, table: Any, column: Any, start: Any, end: Any
) -> Any:
    """{bucket start: Totals} of `table` (hourly or daily segment rollups) over [start, end)."""
    if start >= end:
        return {}
    query = (
        select(column.label("start"), *[func.sum(getattr(table, name)).label(name) for name in COUNTERS])
        .where(column >= start, column < end)
        .group_by(column)
    )
    query = filtered(session, query, filters, table.marketplace, table.store_id, table.category)
    return {row.start: Totals.of(row) for row in session.execute(query)}


def timeseries(session: Session, filters: Filters, window: Window, granularity: Granularity) -> TimeseriesOut:
    filters = filters.resolved(session)  # read once per part of the window
    daily = granularity is Granularity.day
    hourly_table = SegmentHourlyMetrics
    buckets: dict[dt.datetime, Totals] = defaultdict(Totals)
    if daily:
        # Whole IST days from the daily rollups, the partial days at the edges from the hourly ones.
        parts = split(window.start, window.end)
        day_table = SegmentDailyMetrics
        by_day = _totals_by_start(
            session, filters, day_table, day_table.day_start, parts.days_start, parts.days_end
        )
        edges = [(parts.start, parts.days_start), (parts.days_end, parts.end)]
    else:
        by_day, edges = {}, [(window.start, window.end)]
    by_hour: dict[dt.datetime, Totals] = {}
    for start, end in edges:
        by_hour.update(_totals_by_start(session, filters, hourly_table, hourly_table.hour_start, start, end))
    for start, end in edges:
        for hour in kpis.hour_labels(start, end):
            key = max(kpis.ist_midnight(hour), window.start) if daily else hour
            buckets[key] = buckets[key] + by_hour.get(hour, Totals())
    if daily:
        for day in kpis.day_labels(parts.days_start, parts.days_end):
            buckets[day] = buckets[day] + by_day.get(day, Totals())
    points = []
    for start, totals in sorted(buckets.items()):
        points.append(
            TimeseriesPoint(
                start=start,
                label=kpis.ist_label(start, daily=daily),
                gmv=paise_to_rupees(totals.gmv_paise),
                net_gmv=paise_to_rupees(kpis.net_gmv_paise(totals)),
                orders=totals.orders,
                units=totals.units,
                views=totals.views,
                clicks=totals.clicks,
                add_to_carts=totals.add_to_carts,
                ctr=kpis.ratio(totals.clicks, totals.views),
                conversion=kpis.ratio(totals.orders, totals.views),
                cancellations=totals.cancellations,
                returns=totals.returns,
            )
        )
    return TimeseriesOut(window=WindowOut.of(window), granularity=granularity.value, points=points)


def _in(start: dt.datetime, end: dt.datetime) -> ColumnElement[bool]:
    return and_(ProductHourlyMetrics.hour_start >= start, ProductHourlyMetrics.hour_start < end)


def _windowed_sum(name: str, start: dt.datetime, end: dt.datetime) -> ColumnElement[int]:
    column = getattr(ProductHourlyMetrics, name)
    return func.coalesce(func.sum(case((_in(start, end), column), else_=0)), 0)


def _both_windows(window: Window) -> list[Label[int]]:
    current = [_windowed_sum(name, window.start, window.end).label(f"c_{name}") for name in COUNTERS]
    previous = [
        _windowed_sum(name, window.previous_start, window.previous_end).label(f"p_{name}")
        for name in COUNTERS
    ]
    return current + previous


def _split(row: Any) -> tuple[Totals, Totals]:
    mapping = row._mapping
    return (
        Totals.of({name: mapping[f"c_{name}"] for name in COUNTERS}),
        Totals.of({name: mapping[f"p_{name}"] for name in COUNTERS}),
    )


def _product_rollups(window: Window) -> ColumnElement[bool]:
    return or_(_in(window.start, window.end), _in(window.previous_start, window.previous_end))


class Dimension(enum.StrEnum):
    marketplace = "marketplace"
    category = "category"
    brand = "brand"


def breakdown(
    session: Session, filters: Filters, window: Window, dimension: Dimension, offset: int, limit: int
) -> list[BreakdownRow]:
    """KPIs per marketplace, category path or brand (the product's current one), by GMV, largest first."""
    key = getattr(Product, dimension.value)
    gmv = _windowed_sum("gmv_paise", window.start, window.end)
    query = (
        select(key.label("key"), *_both_windows(window))
        .join(Product, Product.id == ProductHourlyMetrics.product_id)
        .where(_product_rollups(window))
        .group_by(key)
        .order_by(gmv.desc(), key)
        .offset(offset)
        .limit(limit)
    )
    query = filtered(session, query, filters, Product.marketplace, Product.store_id, Product.category)
    rows = []
    for row in session.execute(query):
        current, previous = _split(row)
        rows.append(BreakdownRow(key=str(row.key), **EventKpis.fields_of(current, previous)))
    return rows


class MoverMetric(enum.StrEnum):
    gmv = "gmv"
    views = "views"


class Direction(enum.StrEnum):
    up = "up"
    down = "down"


def movers(
    session: Session,
    filters: Filters,
    window: Window,
    metric: MoverMetric,
    direction: Direction,
    offset: int,
    limit: int,
) -> list[MoverOut]:
    """Products whose GMV or views changed most against the previous window (unchanged ones omitted)."""
    counter = "gmv_paise" if metric is MoverMetric.gmv else "views"
    current = _windowed_sum(counter, window.start, window.end)
    previous = _windowed_sum(counter, window.previous_start, window.previous_end)
    delta = current - previous
    query = (
        select(
            Product.id,
            Product.sku,
            Product.title,
            Product.marketplace,
            Product.category,
            Product.brand,
            current.label("current"),
            previous.label("previous"),
        )
        .join(Product, Product.id == ProductHourlyMetrics.product_id)
        .where(_product_rollups(window))
        .group_by(
            Product.id, Product.sku, Product.title, Product.marketplace, Product.category, Product.brand
        )
        .having(delta > 0 if direction is Direction.up else delta < 0)
        .order_by(delta.desc() if direction is Direction.up else delta.asc(), Product.id)
        .offset(offset)
        .limit(limit)
    )
    query = filtered(session, query, filters, Product.marketplace, Product.store_id, Product.category)
    result = []
    for row in session.execute(query):
        value: Any = int(row.current)
        before: Any = int(row.previous)
        if metric is MoverMetric.gmv:
            value, before = paise_to_rupees(value), paise_to_rupees(before)
        moved = kpis.change(value, before)
        result.append(
            MoverOut(
                product_id=row.id,
                sku=row.sku,
                title=row.title,
                marketplace=row.marketplace,
                category=row.category,
                brand=row.brand,
                metric=metric.value,
                value=value,
                previous=before,
                change=moved.change if moved.change is not None else 0,
                change_pct=moved.change_pct,
            )
        )
    return result


def product_units(session: Session, start: dt.datetime, end: dt.datetime) -> dict[int, int]:
    """Units ordered per product in [start, end), for products with any."""
    query = (
        select(ProductHourlyMetrics.product_id, func.sum(ProductHourlyMetrics.units))
        .where(_in(start, end))
        .group_by(ProductHourlyMetrics.product_id)
        .having(func.sum(ProductHourlyMetrics.units) > 0)
    )
    return {int(product_id): int(units) for product_id, units in session.execute(query)}


def product_metrics(session: Session, product_id: int, now: dt.datetime) -> ProductMetrics:
    """One product's KPIs for today, 24h, 7d and 30d (each with its previous window and change),
    its stock and days of cover at the last 7 days' sales rate; rollups only.

    Raises NotFound if the product does not exist. `now` is any timezone-aware time; windows are
    those of GET /metrics (docs/metrics.md).
    """
    stock = session.execute(select(Product.stock).where(Product.id == product_id)).one_or_none()
    if stock is None:
        raise NotFound(f"product {product_id} not found")
    windows: dict[str, ProductWindowMetrics] = {}
    for name in WindowName:
        window = kpis.named_window(name, now)
        query = select(*_both_windows(window)).where(
            ProductHourlyMetrics.product_id == product_id, _product_rollups(window)
        )
        current, previous = _split(session.execute(query).one())
        windows[name.value] = ProductWindowMetrics(
            window=WindowOut.of(window), **EventKpis.fields_of(current, previous)
        )
    week = kpis.named_window(WindowName.d7, now)
    units = session.scalar(
        select(func.coalesce(func.sum(ProductHourlyMetrics.units), 0)).where(
            ProductHourlyMetrics.product_id == product_id, _in(week.start, week.end)
        )
    )
    units_7d = int(units or 0)
    return ProductMetrics(
        product_id=product_id,
        stock=stock[0],
        units_last_7d=units_7d,
        days_of_cover=kpis.days_of_cover(stock[0], units_7d),
        windows=windows,
    )
