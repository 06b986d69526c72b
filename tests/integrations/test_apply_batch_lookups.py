"""The applier looks each product up once per run of events; a product update between two
deliveries' events that adopts an ASIN placeholder must not leave the later events unresolved."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from resight.catalog.models import Product, Store
from resight.events.models import Event, EventType
from resight.integrations.apply import apply_many
from resight.integrations.records import EventRecord, Normalized, ProductUpdate, StoreRef
from tests.factories import make_product

AT = dt.datetime(2026, 11, 1, 10, tzinfo=dt.UTC)
ASIN = "B0ADOPT001"


def _views(external_id: str) -> Normalized:
    # Named by SKU, and the SKU happens to be the placeholder's (sku = ASIN until adopted).
    return Normalized(events=[EventRecord(ASIN, EventType.view, AT, quantity=2, external_id=external_id)])


def test_events_around_an_adoption_in_one_batch_land_as_if_applied_one_by_one(db: Session) -> None:
    placeholder = make_product(db, sku=ASIN, external_id=ASIN)
    store = StoreRef(id=placeholder.store_id, platform=placeholder.marketplace, name="s", seller_id=None)
    adopt = Normalized(products=[ProductUpdate(sku="SKU-REAL", external_id=ASIN, event_time=AT, stock=5)])

    applied = apply_many(db, store, [(None, _views("v-1")), (None, adopt), (None, _views("v-2"))])
    db.flush()
    db.expire_all()

    assert [part.events_stored for part in applied] == [1, 0, 1]
    assert db.get(Product, placeholder.id).sku == "SKU-REAL"  # type: ignore[union-attr]
    owners = {
        external_id: product_id
        for external_id, product_id in db.execute(select(Event.external_id, Event.product_id))
    }
    # The SKU "B0ADOPT001" was the placeholder's when the batch began; both events land on it.
    assert owners == {"v-1": placeholder.id, "v-2": placeholder.id}
    assert db.execute(select(Product.id)).scalars().all() == [placeholder.id]


def test_an_asin_two_skus_share_finds_the_older_product(db: Session) -> None:
    # A seller may list one ASIN under two SKUs (say FBA and merchant-fulfilled). Looked up by SKU
    # the newer one comes first (its SKU sorts first); the ASIN finds the older one all the same.
    older = make_product(db, sku="Z-FBA-1", external_id="B0SHARED01")
    newer = make_product(db, store=db.get(Store, older.store_id), sku="A-MFN-1", external_id="B0SHARED01")
    assert older.id < newer.id
    store = StoreRef(id=older.store_id, platform=older.marketplace, name="s", seller_id=None)
    events = [
        EventRecord("Z-FBA-1", EventType.view, AT, external_id="by-older-sku"),
        EventRecord("A-MFN-1", EventType.view, AT, external_id="by-newer-sku"),
        EventRecord("B0SHARED01", EventType.view, AT, external_id="by-asin", by_external_id=True),
    ]

    apply_many(db, store, [(None, Normalized(events=events))])
    db.flush()

    owners = {
        external_id: product_id
        for external_id, product_id in db.execute(select(Event.external_id, Event.product_id))
    }
    assert owners == {"by-older-sku": older.id, "by-newer-sku": newer.id, "by-asin": older.id}
