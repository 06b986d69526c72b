"""Myntra deliveries through the real endpoint (signed, and with an API key)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from resight.catalog.models import HistoryField, Product, ProductHistory
from resight.events.models import EventType
from tests.integrations.own_formats import events_of
from tests.integrations.support import create_store, deliver

LINE = "5012345678"


def line(status: str, event_time: str) -> dict[str, Any]:
    return {
        "event_type": "order",
        "event_time": event_time,
        "order_id": "1203345566778",
        "order_line_id": LINE,
        "seller_sku_code": "RGN-KRT-0042-M",
        "style_id": 24456781,
        "order_status": status,
        "quantity": 1,
        "final_amount": "1,299.00",
        "created_on": "2026-11-28T14:02:11+05:30",
    }


def test_rto_becomes_one_return_and_a_repeated_delivery_is_a_duplicate(
    client: TestClient, db: Session
) -> None:
    store = create_store(client, db, "myntra", seller_id=None)
    assert deliver(client, store, line("WP", "2026-11-28T14:02:11+05:30")).json()["status"] == "processed"
    first = deliver(client, store, line("RTO", "2026-11-30T18:45:00+05:30"), msg_id="msg_rto_1")
    assert first.json()["status"] == "processed"
    repeat = deliver(client, store, line("RTO", "2026-11-30T18:45:00+05:30"), msg_id="msg_rto_1")
    assert repeat.status_code == 200
    assert repeat.json()["status"] == "duplicate"
    assert events_of(db, store.id) == [
        (EventType.order, LINE, 1, 129_900),
        (EventType.return_, LINE, 1, 129_900),
    ]


def test_api_key_store_and_an_older_price_only_goes_to_history(client: TestClient, db: Session) -> None:
    store = create_store(client, db, "myntra", auth="api_key", seller_id=None)
    base = {"event_type": "price", "seller_sku_code": "SKU-1", "mrp": 1999}
    newer = deliver(client, store, {**base, "event_time": "2026-11-28T12:00:00+05:30", "selling_price": 1199})
    older = deliver(client, store, {**base, "event_time": "2026-11-28T11:00:00+05:30", "selling_price": 1299})
    assert newer.json()["status"] == older.json()["status"] == "processed"
    product = db.scalars(select(Product).where(Product.store_id == store.id)).one()
    assert (product.price_paise, product.mrp_paise) == (119_900, 199_900)
    prices = db.scalars(
        select(ProductHistory.value_int)
        .where(ProductHistory.product_id == product.id, ProductHistory.field == HistoryField.price)
        .order_by(ProductHistory.event_time)
    ).all()
    assert prices == [129_900, 119_900]
