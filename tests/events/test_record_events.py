from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from resight.events.models import Event, EventType, ProductHourlyMetrics
from resight.events.records import NewEvent
from resight.events.rollups import COUNTERS, rebuild_rollups
from resight.events.service import record_events
from tests.factories import make_product

T0 = dt.datetime(2026, 11, 20, 18, 25, tzinfo=dt.UTC)


def _rollup_rows(session: Session) -> list[tuple[object, ...]]:
    columns = [getattr(ProductHourlyMetrics, name) for name in COUNTERS]
    return [
        tuple(row)
        for row in session.execute(
            select(ProductHourlyMetrics.product_id, ProductHourlyMetrics.hour_start, *columns).order_by(
                ProductHourlyMetrics.product_id, ProductHourlyMetrics.hour_start
            )
        )
    ]


def test_repeated_external_ids_are_stored_once_and_rollups_match_a_rebuild(db: Session) -> None:
    product = make_product(db)

    def event(
        kind: EventType, minutes: int, external_id: str | None, qty: int = 1, paise: int = 0
    ) -> NewEvent:
        return NewEvent(
            product_id=product.id,
            store_id=product.store_id,
            marketplace=product.marketplace,
            event_type=kind,
            event_time=T0 + dt.timedelta(minutes=minutes),
            quantity=qty,
            revenue_paise=paise,
            external_id=external_id,
        )

    first = [
        event(EventType.view, 0, None, qty=40),
        event(EventType.order, 5, "ORD-1", qty=2, paise=259_800),
        event(EventType.order, 5, "ORD-1", qty=2, paise=259_800),  # same line twice in one batch
        event(EventType.order, 50, "ORD-2", qty=1, paise=129_900),  # next hour
    ]
    stored = record_events(db, first)
    assert [e.external_id for e in stored] == [None, "ORD-1", "ORD-2"]
    again = record_events(db, [event(EventType.order, 5, "ORD-1", qty=2, paise=259_800)])
    assert again == []
    cancel = record_events(db, [event(EventType.cancellation, 70, "ORD-2", qty=1, paise=129_900)])
    assert len(cancel) == 1
    db.flush()

    assert db.scalar(select(func.count()).select_from(Event)) == 4
    incremental = _rollup_rows(db)
    hours = [row[1] for row in incremental]
    # IST-hour buckets start at hh:30 UTC; 18:25 UTC is 23:55 IST, the last hour of the IST day.
    assert hours == [
        dt.datetime(2026, 11, 20, 17, 30, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 20, 18, 30, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 20, 19, 30, tzinfo=dt.UTC),
    ]
    first_hour = dict(zip(COUNTERS, incremental[0][2:], strict=True))
    assert first_hour["views"] == 40
    assert first_hour["orders"] == 0
    second_hour = dict(zip(COUNTERS, incremental[1][2:], strict=True))
    assert second_hour["orders"] == 2
    assert second_hour["gmv_paise"] == 389_700
    assert dict(zip(COUNTERS, incremental[2][2:], strict=True))["cancelled_paise"] == 129_900

    rebuild_rollups(db)
    db.expire_all()
    assert _rollup_rows(db) == incremental
