"""An event landing in an IST hour that has already ended marks its product changed (updated_at),
so readers that refresh incrementally by updated_at (the scorer's features) see the late rollup."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from resight.catalog.models import Product, Store
from resight.events.models import EventType
from resight.integrations import apply
from resight.integrations.apply import apply_normalized
from resight.integrations.records import EventRecord, Normalized, ProductUpdate, StoreRef
from tests.factories import make_product

NOW = dt.datetime(2026, 11, 20, 10, 45, tzinfo=dt.UTC)  # IST hour 16:00-17:00 began at 10:30 UTC
BEFORE = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(apply, "utcnow", lambda: NOW)


def _product(db: Session, **overrides: Any) -> tuple[Product, StoreRef]:
    # last_event_at ahead of every event below: no event moves it, so only the hour rule can
    # touch updated_at.
    product = make_product(db, last_event_at=NOW + dt.timedelta(days=1), updated_at=BEFORE, **overrides)
    store = StoreRef(id=product.store_id, platform=product.marketplace, name="s", seller_id=None)
    return product, store


def _updated_at(db: Session, product_id: int) -> dt.datetime:
    return db.execute(select(Product.updated_at).where(Product.id == product_id)).scalar_one()


def _views(sku: str, at: dt.datetime, external_id: str) -> Normalized:
    return Normalized(events=[EventRecord(sku, EventType.view, at, quantity=3, external_id=external_id)])


@pytest.mark.usefixtures("clock")
def test_an_event_in_an_ended_hour_marks_its_product_changed_once(db: Session) -> None:
    late, store = _product(db)
    current, _ = _product(db, store=db.get(Store, late.store_id))
    quiet, _ = _product(db, store=db.get(Store, late.store_id))
    last_hour = dt.datetime(2026, 11, 20, 10, 29, 59, tzinfo=dt.UTC)  # the IST hour that just ended
    this_hour = dt.datetime(2026, 11, 20, 10, 30, tzinfo=dt.UTC)
    delivery = Normalized(
        events=[
            *_views(late.sku, last_hour, "late-1").events,
            *_views(current.sku, this_hour, "now-1").events,
        ]
    )

    applied = apply_normalized(db, store, delivery)
    db.flush()
    db.expire_all()

    assert applied.events_stored == 2
    assert _updated_at(db, late.id) == NOW
    assert _updated_at(db, current.id) == BEFORE  # its hour is still open
    assert _updated_at(db, quiet.id) == BEFORE

    # A repeat of the late event has no second effect: updated_at keeps the first delivery's time.
    db.execute(update(Product).where(Product.id == late.id).values(updated_at=BEFORE))
    again = apply_normalized(db, store, _views(late.sku, last_hour, "late-1"))
    db.flush()
    db.expire_all()
    assert again.events_repeated == 1
    assert _updated_at(db, late.id) == BEFORE


@pytest.mark.usefixtures("clock")
def test_a_late_event_of_a_product_changed_by_the_same_delivery_is_written_once(db: Session) -> None:
    product, store = _product(db, stock_changed_at=BEFORE)
    delivery = Normalized(
        products=[ProductUpdate(product.sku, NOW, stock=3)],
        events=_views(product.sku, BEFORE, "old-1").events,
    )

    applied = apply_normalized(db, store, delivery)
    db.flush()
    db.expire_all()

    assert (applied.products_changed, applied.events_stored) == (1, 1)
    row = db.execute(select(Product.stock, Product.updated_at).where(Product.id == product.id)).one()
    assert tuple(row) == (3, NOW)
