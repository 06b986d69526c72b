"""The applier looks each product up once per run of events; a product update between two
deliveries' events that adopts an ASIN placeholder must not leave the later events unresolved."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from resight.catalog.models import Product
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
