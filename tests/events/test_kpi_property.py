"""KPIs read from rollups equal KPIs recomputed from raw events, for random events.

Runs on SQLite and on PostgreSQL (RESIGHT_TEST_DATABASE_URL). Each example works inside a
savepoint of the test's transaction and rolls it back.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from resight.catalog.models import Platform, Product
from resight.catalog.names import CATEGORY_SEPARATOR, normalise_category
from resight.events import kpis
from resight.events.kpis import Totals, WindowName
from resight.events.metrics_service import Dimension, Filters, Granularity, breakdown, metrics, timeseries
from resight.events.models import Event, EventType, SegmentDailyMetrics, SegmentHourlyMetrics
from resight.events.records import NewEvent
from resight.events.rollups import contribution, rebuild_rollups
from resight.events.service import record_events
from resight.india import IST
from tests.factories import make_product, make_store

# 2026-11-21 00:00 IST: an IST midnight, which is 18:30 UTC the day before.
MIDNIGHT = dt.datetime(2026, 11, 20, 18, 30, tzinfo=dt.UTC)
PRODUCTS = [
    (Platform.amazon, "Ethnic Wear > Kurtas", "Biba"),
    (Platform.amazon, "Ethnic Wear > Sarees", "Libas"),
    (Platform.myntra, "Ethnic Wear > Kurtas", "Biba"),
    (Platform.myntra, "Footwear > Sandals", "Bata"),
    (Platform.myntra, "Ethnic Wear", "W"),
    (Platform.amazon, "ethnic wear>Kurtas ", "Biba"),  # stored as a seller typed it
]
FILTERS = [
    Filters(),
    Filters(marketplace=Platform.myntra),
    Filters(category="Ethnic Wear"),
    Filters(category="Ethnic Wear > Kurtas", marketplace=Platform.amazon),
    Filters(category="Ethnic"),  # a prefix of a name is not a parent category: matches nothing
    # Case and spacing around ">" ignored, as the ranking's filters and rules compare categories.
    Filters(category="  ethnic wear>KURTAS "),
    Filters(category="FOOTWEAR", marketplace=Platform.myntra),
]

near_midnight = st.integers(-90 * 60, 90 * 60).map(lambda s: dt.timedelta(seconds=s))
anywhere = st.integers(-3 * 24 * 3600, 24 * 3600).map(lambda s: dt.timedelta(seconds=s))
event_strategy = st.tuples(
    st.integers(0, len(PRODUCTS) - 1),
    st.sampled_from(list(EventType)),
    st.one_of(near_midnight, near_midnight.map(lambda d: d - dt.timedelta(days=1)), anywhere),
    st.integers(1, 5),
    st.integers(0, 500_000),
)


@dataclass(frozen=True)
class RawEvent:
    marketplace: Platform
    store_id: int
    category: str
    brand: str
    event_type: EventType
    time: dt.datetime
    quantity: int
    revenue_paise: int


def _raw_events(session: Session) -> list[RawEvent]:
    rows = session.execute(
        select(
            Product.marketplace,
            Product.store_id,
            Product.category,
            Product.brand,
            Event.event_type,
            Event.event_time,
            Event.quantity,
            Event.revenue_paise,
        ).join(Product, Product.id == Event.product_id)
    )
    return [RawEvent(*row) for row in rows]


def _matches(event: RawEvent, filters: Filters) -> bool:
    if filters.marketplace is not None and event.marketplace != filters.marketplace:
        return False
    if filters.store_id is not None and event.store_id != filters.store_id:
        return False
    if filters.category is not None:
        wanted, stored = normalise_category(filters.category), normalise_category(event.category)
        return stored == wanted or stored.startswith(wanted + CATEGORY_SEPARATOR)
    return True


def _raw_totals(events: list[RawEvent], filters: Filters, start: dt.datetime, end: dt.datetime) -> Totals:
    counts: dict[str, int] = defaultdict(int)
    for event in events:
        if start <= event.time < end and _matches(event, filters):
            for name, amount in contribution(event.event_type, event.quantity, event.revenue_paise).items():
                counts[name] += amount
    return Totals.of(dict(counts))


def _check_daily_level(session: Session) -> None:
    """Each daily segment row is the sum of its IST day's hourly segment rows."""
    summed: dict[tuple[dt.datetime, int, str], Totals] = defaultdict(Totals)
    for row in session.scalars(select(SegmentHourlyMetrics)):
        summed[(kpis.ist_midnight(row.hour_start), row.store_id, row.category)] += Totals.of(row)
    daily = {
        (row.day_start, row.store_id, row.category): Totals.of(row)
        for row in session.scalars(select(SegmentDailyMetrics))
    }
    assert {key: totals for key, totals in daily.items() if totals != Totals()} == summed


def _check(session: Session, now: dt.datetime) -> None:
    _check_daily_level(session)
    raw = _raw_events(session)
    windows = [kpis.named_window(name, now) for name in WindowName]
    windows.append(kpis.custom_window(MIDNIGHT - dt.timedelta(hours=3), MIDNIGHT + dt.timedelta(hours=2)))
    # Partial IST days at both edges around whole days: hourly, daily and hourly rollups together.
    windows.append(
        kpis.custom_window(MIDNIGHT - dt.timedelta(days=2, hours=3), MIDNIGHT + dt.timedelta(hours=5))
    )
    for n, window in enumerate(windows):
        # Every filter on the first window (today); the broad ones on the others, to stay fast.
        for filters in FILTERS if n == 0 else FILTERS[:3]:
            got = metrics(session, filters, window)
            current = kpis.kpi_values(_raw_totals(raw, filters, window.start, window.end))
            previous = kpis.kpi_values(_raw_totals(raw, filters, window.previous_start, window.previous_end))
            for name, value in current.items():
                kpi, before = getattr(got, name), previous[name]
                assert (kpi.value, kpi.previous) == (value, before), (window, filters, name)
                assert kpi.change == (None if value is None or before is None else value - before)
    # Daily IST buckets of the 30-day window: each IST calendar day's own events.
    month = kpis.named_window(WindowName.d30, now)
    series = timeseries(session, Filters(), month, Granularity.day)
    for point in series.points:
        day_start = max(point.start, month.start)
        day_end = min(kpis.ist_midnight(point.start) + dt.timedelta(days=1), month.end)
        expected = _raw_totals(raw, Filters(), day_start, day_end)
        assert (point.orders, point.views, point.gmv) == (
            expected.orders,
            expected.views,
            kpis.kpi_values(expected)["gmv"],
        )
        assert point.label == point.start.astimezone(IST).strftime("%Y-%m-%d")
    # Breakdown by brand (per-product rollups joined to products) adds up to the window's totals.
    week = kpis.named_window(WindowName.d7, now)
    rows = breakdown(session, Filters(), week, Dimension.brand, 0, 100)
    for row in rows:
        brand_events = [e for e in raw if e.brand == row.key]
        expected_brand = kpis.kpi_values(_raw_totals(brand_events, Filters(), week.start, week.end))
        assert row.gmv.value == expected_brand["gmv"]
        assert row.units.value == expected_brand["units"]


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    events=st.lists(event_strategy, max_size=40),
    now_offset=st.integers(0, 24 * 3600 - 1),
    batches=st.integers(1, 4),
)
def test_rollup_kpis_equal_raw_event_kpis(
    db: Session, events: list[tuple[int, EventType, dt.timedelta, int, int]], now_offset: int, batches: int
) -> None:
    savepoint = db.begin_nested()
    try:
        stores = {platform: make_store(db, platform) for platform in (Platform.amazon, Platform.myntra)}
        products = [
            make_product(db, stores[platform], category=category, brand=brand)
            for platform, category, brand in PRODUCTS
        ]
        new_events = []
        for n, (index, kind, offset, quantity, paise) in enumerate(events):
            product = products[index]
            traffic = kind in (EventType.view, EventType.click, EventType.add_to_cart)
            new_events.append(
                NewEvent(
                    product_id=product.id,
                    store_id=product.store_id,
                    marketplace=product.marketplace,
                    event_type=kind,
                    event_time=MIDNIGHT + offset,
                    quantity=quantity,
                    revenue_paise=0 if traffic else paise,
                    external_id=None if traffic and n % 2 else f"E{n}",
                )
            )
        size = max(1, len(new_events) // batches)
        for at in range(0, len(new_events), size):
            record_events(db, new_events[at : at + size])
        db.flush()
        now = MIDNIGHT + dt.timedelta(seconds=now_offset)
        _check(db, now)
        # A rebuild from raw events gives the same answers.
        rebuild_rollups(db)
        db.expire_all()
        _check(db, now)
    finally:
        savepoint.rollback()
