"""The inbox and the applier: idempotency, event-time guards, quarantine and replay, batches, audit."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from resight.audit.models import AuditLog
from resight.catalog.models import HistoryField, ListingStatus, Platform, Product, ProductHistory, Store
from resight.events.models import Event, EventType, ProductHourlyMetrics
from resight.integrations import inbox, pipeline
from resight.integrations.apply import apply_normalized
from resight.integrations.models import DeliveryStatus, WebhookDelivery
from resight.integrations.records import NormalizationError, Normalized, StoreRef
from resight.users.models import Role
from tests.factories import headers_for, make_product
from tests.integrations.support import StoreHandle, admin, amazon_example, create_store, deliver, encode

T0 = dt.datetime(2026, 11, 1, 10, 0, tzinfo=dt.UTC)


def mfn(sku: str, quantity: int, at: dt.datetime) -> dict[str, Any]:
    return {
        "NotificationType": "LISTINGS_ITEM_MFN_QUANTITY_CHANGE",
        "EventTime": at.isoformat(),
        "Payload": {"SellerId": "S", "Sku": sku, "Quantity": quantity},
    }


def pricing(asin: str, price: str, at: dt.datetime, buybox: str | None = None) -> dict[str, Any]:
    summary: dict[str, Any] = {"salesRankings": [{"productCategoryId": "x", "rank": 7}]}
    if buybox is not None:
        summary["buyBoxPrices"] = [
            {"condition": "new", "listingPrice": {"amount": buybox, "currencyCode": "INR"}}
        ]
    return {
        "notificationType": "PRICING_HEALTH",
        "eventTime": at.isoformat(),
        "payload": {
            "offerChangeTrigger": {"asin": asin, "itemCondition": "new", "timeOfOfferChange": at.isoformat()},
            "merchantOffer": {"listingPrice": {"amount": price, "currencyCode": "INR"}},
            "summary": summary,
        },
    }


def order(order_id: str, sku: str, status: str, quantity: int = 2) -> dict[str, Any]:
    body = copy.deepcopy(amazon_example("OrderChangeNotification.json"))
    change = body["Payload"]["OrderChangeNotification"]
    change["AmazonOrderId"] = order_id
    change["Summary"]["OrderStatus"] = status
    change["Summary"]["OrderItems"][0].update({"SellerSKU": sku, "Quantity": quantity, "OrderItemId": "L1"})
    return body


def product(db: Session, store: StoreHandle, sku: str) -> Product:
    db.expire_all()
    found = db.scalar(select(Product).where(Product.store_id == store.id, Product.sku == sku))
    assert found is not None
    return found


def test_a_delivery_changes_only_the_fields_it_carries(client: TestClient, db: Session) -> None:
    store = create_store(client, db)
    existing = make_product(db, db.get(Store, store.id), sku="KURTA-1", external_id="B0KURTA001")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    assert deliver(client, store, mfn("KURTA-1", 3, later)).json()["status"] == "processed"
    kept = product(db, store, "KURTA-1")
    assert (kept.stock, kept.title, kept.price_paise, kept.brand) == (3, existing.title, 129_900, "Biba")
    history = db.scalars(select(ProductHistory).where(ProductHistory.product_id == existing.id)).all()
    assert [(h.field, h.value_int) for h in history] == [(HistoryField.stock, 3)]


def test_out_of_order_updates_keep_the_newest_state(client: TestClient, db: Session) -> None:
    store = create_store(client, db)
    deliver(client, store, mfn("SKU-A", 10, T0 + dt.timedelta(minutes=5)))
    deliver(client, store, mfn("SKU-A", 4, T0))  # older, arrives late
    late = product(db, store, "SKU-A")
    assert late.stock == 10
    assert late.stock_changed_at == T0 + dt.timedelta(minutes=5)
    history = db.execute(
        select(ProductHistory.value_int, ProductHistory.event_time)
        .where(ProductHistory.product_id == late.id)
        .order_by(ProductHistory.event_time)
    ).all()
    assert [tuple(h) for h in history] == [(4, T0), (10, T0 + dt.timedelta(minutes=5))]
    # Prices: the same rule, per kind of field; an older price does not block a newer stock.
    deliver(client, store, pricing("B0PRICE001", "499.00", T0 + dt.timedelta(hours=1), buybox="489.50"))
    deliver(client, store, pricing("B0PRICE001", "549.00", T0))
    priced = product(db, store, "B0PRICE001")
    assert (priced.price_paise, priced.buybox_price_paise, priced.sales_rank) == (49_900, 48_950, 7)


def test_asin_only_product_learns_its_sku(client: TestClient, db: Session) -> None:
    store = create_store(client, db)
    deliver(client, store, pricing("B0NEW00001", "299", T0))
    status = copy.deepcopy(amazon_example("ListingsItemStatusChangeNotification.json"))
    status["Payload"].update({"Sku": "REAL-SKU", "Asin": "B0NEW00001", "Status": ["DISCOVERABLE"]})
    deliver(client, store, status)
    products = db.scalars(select(Product).where(Product.store_id == store.id)).all()
    assert [(p.sku, p.external_id, p.price_paise, p.status) for p in products] == [
        ("REAL-SKU", "B0NEW00001", 29_900, ListingStatus.inactive)
    ]
    deliver(client, store, pricing("B0NEW00001", "279", T0 + dt.timedelta(minutes=1)))
    assert product(db, store, "REAL-SKU").price_paise == 27_900


def test_orders_and_cancellations_are_idempotent(client: TestClient, db: Session) -> None:
    store = create_store(client, db)
    deliver(client, store, pricing("B0ORDER001", "250", T0))
    status = copy.deepcopy(amazon_example("ListingsItemStatusChangeNotification.json"))
    status["Payload"].update({"Sku": "ORD-SKU", "Asin": "B0ORDER001"})
    deliver(client, store, status)
    assert (
        deliver(client, store, order("171-1", "ORD-SKU", "Unshipped")).json()["counts"]["events_stored"] == 1
    )
    cancelled = deliver(client, store, order("171-1", "ORD-SKU", "Canceled")).json()
    assert (cancelled["counts"]["events_stored"], cancelled["counts"]["events_repeated"]) == (1, 1)
    again = deliver(client, store, order("171-1", "ORD-SKU", "Canceled")).json()  # new webhook-id
    assert again["status"] == "processed"
    assert again["counts"]["events_stored"] == 0
    events = db.execute(
        select(Event.event_type, Event.quantity, Event.revenue_paise).order_by(Event.id)
    ).all()
    # ORDER_CHANGE has no prices: revenue is quantity x the product's price at the time.
    assert [tuple(e) for e in events] == [(EventType.order, 2, 50_000), (EventType.cancellation, 2, 50_000)]
    rollup = db.execute(
        select(func.sum(ProductHourlyMetrics.orders), func.sum(ProductHourlyMetrics.cancellations))
    ).one()
    assert tuple(rollup) == (1, 1)


def test_unknown_type_is_stored_and_ignored(client: TestClient, db: Session) -> None:
    store = create_store(client, db)
    response = deliver(client, store, {"NotificationType": "FEE_PROMOTION", "Payload": {"x": 1}})
    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    row = db.scalar(select(WebhookDelivery).where(WebhookDelivery.store_id == store.id))
    assert row is not None
    assert row.status is DeliveryStatus.ignored
    assert b"FEE_PROMOTION" in row.body


def test_quarantine_then_replay_after_a_fix(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = create_store(client, db)

    def broken(body: Any, ref: StoreRef) -> Normalized:
        raise NormalizationError("adapter bug: cannot read this")

    monkeypatch.setitem(pipeline.ADAPTERS, Platform.amazon, broken)
    response = deliver(client, store, mfn("SKU-Q", 8, T0))
    assert response.status_code == 200
    assert response.json()["status"] == "quarantined"
    assert "adapter bug" in response.json()["error"]
    row_id = response.json()["id"]
    assert db.scalar(select(func.count()).select_from(Product).where(Product.store_id == store.id)) == 0
    headers = admin(db)
    listed = client.get("/integrations/deliveries", params={"status": "quarantined"}, headers=headers).json()
    assert [item["id"] for item in listed["items"]] == [row_id]
    assert listed["items"][0]["error"] == "adapter bug: cannot read this"

    still = client.post(f"/integrations/deliveries/{row_id}/replay", headers=headers).json()
    assert still["status"] == "quarantined"

    monkeypatch.undo()  # the fix
    replayed = client.post(f"/integrations/deliveries/{row_id}/replay", headers=headers)
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["status"] == "processed"
    assert product(db, store, "SKU-Q").stock == 8
    row = db.get(WebhookDelivery, row_id)
    db.refresh(row)
    assert row is not None
    assert row.attempts == 3
    assert row.error is None
    actions = db.scalars(
        select(AuditLog.action).where(
            AuditLog.entity_type == "webhook_delivery", AuditLog.entity_id == str(row_id)
        )
    ).all()
    assert actions == ["delivery.quarantined", "delivery.replayed", "delivery.replayed"]


def test_only_quarantined_deliveries_are_replayed(client: TestClient, db: Session) -> None:
    store = create_store(client, db)
    row_id = deliver(client, store, mfn("SKU-R", 1, T0)).json()["id"]
    response = client.post(f"/integrations/deliveries/{row_id}/replay", headers=admin(db))
    assert response.status_code == 409
    assert "only quarantined" in response.json()["detail"]


def test_malformed_payload_is_quarantined_with_its_reason(client: TestClient, db: Session) -> None:
    store = create_store(client, db)
    body = mfn("SKU-M", 1, T0)
    del body["Payload"]["Sku"]
    response = deliver(client, store, body).json()
    assert response["status"] == "quarantined"
    assert "Payload.Sku" in response["error"]
    by_id = client.get(
        "/integrations/deliveries", params={"delivery_id": response["delivery_id"]}, headers=admin(db)
    ).json()
    assert [item["status"] for item in by_id["items"]] == ["quarantined"]


def test_batch_form_is_one_delivery_with_one_audit_row(client: TestClient, db: Session) -> None:
    store = create_store(client, db)
    items = [mfn(f"SKU-B{i % 10}", i, T0 + dt.timedelta(seconds=i)) for i in range(50)]
    items.append(amazon_example("DetailPageTrafficEventNotification.json"))
    response = deliver(client, store, {"batch": items})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "processed"
    assert body["notification_type"] == "batch"
    assert body["counts"]["products_in_delivery"] == 50
    assert body["counts"]["events_stored"] == 2
    assert body["counts"]["products_created"] == 12  # ten SKUs and two ASINs
    # Within a batch, the newest value of each SKU wins.
    assert product(db, store, "SKU-B9").stock == 49
    audits = db.scalars(
        select(AuditLog).where(AuditLog.actor_type == "store", AuditLog.actor_id == str(store.id))
    )
    [audit] = list(audits)
    assert audit.action == "delivery.processed"
    assert audit.actor_name == "amazon test store"
    assert audit.new_value["events_stored"] == 2
    # A bare JSON array is the same batch form; a bad item quarantines the whole batch.
    bad = [
        mfn("SKU-X", 1, T0),
        {"NotificationType": "ORDER_CHANGE", "EventTime": T0.isoformat(), "Payload": {}},
    ]
    quarantined = deliver(client, store, bad).json()
    assert quarantined["status"] == "quarantined"
    assert quarantined["error"].startswith("batch item 1:")
    assert db.scalar(select(Product.id).where(Product.sku == "SKU-X")) is None


def test_every_delivery_leaves_one_audit_row_by_the_store(client: TestClient, db: Session) -> None:
    store = create_store(client, db)
    deliver(client, store, mfn("SKU-1", 1, T0), msg_id="m1")
    deliver(client, store, mfn("SKU-1", 1, T0), msg_id="m1")
    deliver(client, store, {"NotificationType": "OTHER", "Payload": {}})
    rows = db.scalars(select(AuditLog).where(AuditLog.actor_type == "store").order_by(AuditLog.seq)).all()
    assert [(r.action, r.actor_id) for r in rows] == [
        ("delivery.processed", str(store.id)),
        ("delivery.duplicate", str(store.id)),
        ("delivery.ignored", str(store.id)),
    ]


def test_deliveries_list_is_admin_only_and_paged(client: TestClient, db: Session) -> None:
    store = create_store(client, db)
    for i in range(3):
        deliver(client, store, mfn("SKU-P", i, T0 + dt.timedelta(seconds=i)))
    headers = admin(db)
    first = client.get(
        "/integrations/deliveries", params={"limit": 2, "store": store.id}, headers=headers
    ).json()
    assert len(first["items"]) == 2
    assert first["next_cursor"]
    rest = client.get(
        "/integrations/deliveries", params={"limit": 2, "cursor": first["next_cursor"]}, headers=headers
    ).json()
    assert len(rest["items"]) == 1
    assert first["items"][0]["id"] > first["items"][1]["id"] > rest["items"][0]["id"]
    assert (
        client.get("/integrations/deliveries", headers=headers_for(db, Role.merchandiser)).status_code == 403
    )


def test_a_delivery_the_database_refuses_is_quarantined_alone(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = create_store(client, db)
    ref = StoreRef(store.id, Platform.amazon, "s", None)
    real_apply_one = apply_normalized

    def refuse_group(*_args: Any, **_kwargs: Any) -> Any:
        raise IntegrityError("INSERT ...", {}, Exception("group refused"))

    def refuse_bad(session: Session, store_ref: StoreRef, normalized: Normalized, **kwargs: Any) -> Any:
        if normalized.products and normalized.products[0].sku == "BAD":
            raise IntegrityError("INSERT ...", {}, Exception("value too long"))
        return real_apply_one(session, store_ref, normalized, **kwargs)

    monkeypatch.setattr(inbox, "apply_many", refuse_group)
    monkeypatch.setattr(inbox, "apply_normalized", refuse_bad)
    incoming = []
    for i, sku in enumerate(["OK-1", "BAD", "OK-2"]):
        raw = encode(mfn(sku, 5, T0))
        incoming.append(inbox.Incoming(ref, f"g{i}", raw, inbox.decode_body(raw), {}))
    receipts = inbox.receive_many(db, incoming)
    assert [r.status for r in receipts] == [
        DeliveryStatus.processed,
        DeliveryStatus.quarantined,
        DeliveryStatus.processed,
    ]
    assert receipts[1].error == "could not be applied: value too long"
    stored = {
        row.delivery_id: row.status
        for row in db.execute(select(WebhookDelivery.delivery_id, WebhookDelivery.status))
    }
    assert stored == {
        "g0": DeliveryStatus.processed,
        "g1": DeliveryStatus.quarantined,
        "g2": DeliveryStatus.processed,
    }
    assert product(db, store, "OK-2").stock == 5
    assert db.scalar(select(Product.id).where(Product.sku == "BAD")) is None


def test_a_group_with_repeats_stores_each_once(client: TestClient, db: Session) -> None:
    store = create_store(client, db)
    ref = StoreRef(store.id, Platform.amazon, "s", None)
    raw = encode(mfn("GRP-1", 3, T0))
    body = inbox.decode_body(raw)
    first = inbox.receive_many(
        db, [inbox.Incoming(ref, "x", raw, body, {}), inbox.Incoming(ref, "x", raw, body, {})]
    )
    again = inbox.receive_many(db, [inbox.Incoming(ref, "x", raw, body, {})])
    assert [r.status for r in [*first, *again]] == [DeliveryStatus.processed] + [DeliveryStatus.duplicate] * 2
    history = db.scalar(
        select(func.count()).select_from(ProductHistory).join(Product).where(Product.sku == "GRP-1")
    )
    assert history == 1
