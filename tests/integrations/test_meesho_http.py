"""Meesho deliveries through the real endpoint, signed with the `standardwebhooks` package."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from resight.catalog.models import Product
from resight.events.models import EventType, ProductHourlyMetrics
from resight.integrations.models import WebhookDelivery
from tests.integrations.own_formats import events_of
from tests.integrations.support import create_store, deliver

LINE = "170345678901234_1"


def sub_order(status: str, event_time: str, **extra: Any) -> dict[str, Any]:
    return {
        "event_type": "order",
        "event_time": event_time,
        "sub_order_no": LINE,
        "sku": "JVK-SAREE-117-RED",
        "catalog_id": 98123456,
        "product_name": "Banarasi Saree",
        "quantity": 2,
        "supplier_discounted_price": "599.00",
        "order_status": status,
        "order_date": "2026-11-28T19:20:00+05:30",
        **extra,
    }


def test_cancellation_is_recorded_once_however_often_it_is_sent(client: TestClient, db: Session) -> None:
    store = create_store(client, db, "meesho", seller_id=None)
    placed = deliver(client, store, sub_order("PENDING", "2026-11-28T19:20:00+05:30"))
    assert placed.status_code == 200, placed.text
    assert placed.json()["status"] == "processed"
    for _ in range(2):  # the cancellation, then the same status again under a new webhook-id
        response = deliver(client, store, sub_order("CANCELLED", "2026-11-29T08:05:00+05:30"))
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "processed"
    assert events_of(db, store.id) == [
        (EventType.order, LINE, 2, 119_800),
        (EventType.cancellation, LINE, 2, 119_800),
    ]
    product = db.scalars(select(Product).where(Product.store_id == store.id)).one()
    assert (product.sku, product.external_id, product.title) == (
        "JVK-SAREE-117-RED",
        "98123456",
        "Banarasi Saree",
    )
    totals = db.execute(
        select(
            ProductHourlyMetrics.orders, ProductHourlyMetrics.cancellations, ProductHourlyMetrics.gmv_paise
        )
        .where(ProductHourlyMetrics.product_id == product.id)
        .order_by(ProductHourlyMetrics.hour_start)
    ).all()
    assert [tuple(row) for row in totals] == [(1, 0, 119_800), (0, 1, 0)]


def test_rto_after_delivery_is_one_return(client: TestClient, db: Session) -> None:
    store = create_store(client, db, "meesho", seller_id=None)
    for status, at in (
        ("SHIPPED", "2026-11-29T10:00:00+05:30"),
        ("RTO_INITIATED", "2026-12-01T10:00:00+05:30"),
        ("RTO_COMPLETE", "2026-12-03T10:00:00+05:30"),
    ):
        assert deliver(client, store, sub_order(status, at)).status_code == 200
    assert events_of(db, store.id) == [
        (EventType.order, LINE, 2, 119_800),
        (EventType.return_, LINE, 2, 119_800),
    ]


def test_batch_of_messages_in_one_signed_delivery(client: TestClient, db: Session) -> None:
    store = create_store(client, db, "meesho", seller_id=None)
    batch = {
        "batch": [
            {
                "event_type": "catalog",
                "event_time": "2026-11-28T09:00:00+05:30",
                "sku": "S1",
                "product_name": "Kurti",
                "mrp": 999,
                "supplier_discounted_price": "499",
                "inventory": 10,
            },
            {
                "event_type": "inventory",
                "event_time": "2026-11-28T09:30:00+05:30",
                "sku": "S1",
                "inventory": 7,
            },
            {"event_type": "traffic", "event_time": "2026-11-28T09:00:00+05:30", "sku": "S1", "views": 120},
        ]
    }
    response = deliver(client, store, batch)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "processed"
    product = db.scalars(select(Product).where(Product.store_id == store.id)).one()
    assert (product.title, product.mrp_paise, product.price_paise, product.stock) == (
        "Kurti",
        99_900,
        49_900,
        7,
    )
    assert events_of(db, store.id) == [(EventType.view, "S1@2026-11-28T03:30:00Z/60m", 120, 0)]
    # The same traffic bucket again, in a new delivery: no second effect.
    again = deliver(client, store, {"batch": batch["batch"][2:]})
    assert again.json()["status"] == "processed"
    assert len(events_of(db, store.id)) == 1


def test_unusable_message_is_stored_and_quarantined_with_its_reason(client: TestClient, db: Session) -> None:
    store = create_store(client, db, "meesho", seller_id=None)
    bad = sub_order("PENDING", "2026-11-28T19:20:00+05:30", supplier_discounted_price="five hundred")
    response = deliver(client, store, bad)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "quarantined"
    assert body["error"] == "supplier_discounted_price: not an amount in rupees: 'five hundred'"
    row = db.get(WebhookDelivery, body["id"])
    assert row is not None
    assert row.body == json.dumps(bad).encode()
    assert row.status.value == "quarantined"
    assert events_of(db, store.id) == []
