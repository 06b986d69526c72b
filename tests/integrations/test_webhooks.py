"""Webhook authentication: Standard Webhooks signatures, API keys, rotation, refusals, size limit."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from resight.audit.models import AuditLog
from resight.catalog.models import Product, StoreCredential
from resight.config import Settings
from resight.integrations.api_schemas import DeliveryReceipt
from resight.integrations.models import WebhookDelivery
from tests.integrations.support import admin, amazon_example, create_store, deliver, encode, signed_headers

MFN = amazon_example("ListingsItemMfnQuantityChange.json")


def stored(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(WebhookDelivery)) or 0


def stock_of(db: Session, store_id: int, sku: str = "NLS-SHOES-03") -> int | None:
    db.expire_all()
    return db.scalar(select(Product.stock).where(Product.store_id == store_id, Product.sku == sku))


def test_standardwebhooks_signed_request_is_accepted(client: TestClient, db: Session) -> None:
    store = create_store(client, db)
    raw = encode(MFN)
    response = client.post(store.path, content=raw, headers=signed_headers(store.secret, raw, msg_id="msg_1"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "processed"
    assert body["delivery_id"] == "msg_1"
    assert body["notification_type"] == "LISTINGS_ITEM_MFN_QUANTITY_CHANGE"
    assert stock_of(db, store.id) == 99
    # Encoded by hand on the hot path: it must stay exactly what the documented model gives.
    assert response.headers["content-type"] == "application/json"
    assert DeliveryReceipt.model_validate(body).model_dump(mode="json") == body
    assert body["counts"]["events_in_delivery"] == 0
    assert body["counts"]["products_in_delivery"] == 1
    # The library's own verification agrees with ours on what we accept.
    headers = signed_headers(store.secret, raw, msg_id="msg_2")
    Webhook(store.secret).verify(raw, headers)


def _refused(
    client: TestClient, db: Session, path: str, raw: bytes, headers: dict[str, str], why: str
) -> None:
    before = stored(db)
    response = client.post(path, content=raw, headers=headers)
    assert response.status_code == 401, response.text
    assert why in response.json()["detail"]
    assert stored(db) == before


def test_tampered_forged_expired_and_unsigned_are_refused(client: TestClient, db: Session) -> None:
    store = create_store(client, db)
    raw = encode(MFN)
    good = signed_headers(store.secret, raw)
    _refused(client, db, store.path, raw.replace(b"99", b"98"), good, "invalid webhook signature")
    forged = signed_headers("whsec_" + "A" * 44, raw)
    _refused(client, db, store.path, raw, forged, "invalid webhook signature")
    old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=6)
    _refused(client, db, store.path, raw, signed_headers(store.secret, raw, at=old), "too old")
    future = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=6)
    _refused(client, db, store.path, raw, signed_headers(store.secret, raw, at=future), "future")
    _refused(client, db, store.path, raw, {"content-type": "application/json"}, "missing webhook-id")
    wrong_id = {**good, "webhook-id": "msg_other"}
    _refused(client, db, store.path, raw, wrong_id, "invalid webhook signature")
    _refused(client, db, "/integrations/amazon/webhook?store=999999", raw, good, "no amazon store")
    assert stock_of(db, store.id) is None
    listed = client.get(f"/stores/{store.id}", headers=admin(db)).json()
    assert listed["deliveries"]["rejected"] == 7 - 1  # the unknown store is not counted against this one
    assert listed["deliveries"]["accepted"] == 0


def test_within_tolerance_and_several_signatures(client: TestClient, db: Session) -> None:
    store = create_store(client, db)
    raw = encode(MFN)
    at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=4)
    headers = signed_headers(store.secret, raw, at=at)
    other = Webhook("whsec_" + "B" * 44).sign(headers["webhook-id"], at, raw.decode())
    headers["webhook-signature"] = f"{other} {headers['webhook-signature']}"
    response = client.post(store.path, content=raw, headers=headers)
    assert response.status_code == 200, response.text


def test_replayed_webhook_id_is_a_duplicate_without_effect(client: TestClient, db: Session) -> None:
    store = create_store(client, db)
    first = deliver(client, store, MFN, msg_id="msg_same")
    assert first.json()["status"] == "processed"
    changed = {**MFN, "Payload": {**MFN["Payload"], "Quantity": 5}}
    again = deliver(client, store, changed, msg_id="msg_same")  # freshly signed, same id
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert stock_of(db, store.id) == 99
    rows = db.execute(
        select(WebhookDelivery.status, WebhookDelivery.dedupe_key).order_by(WebhookDelivery.id)
    ).all()
    assert [(r.status.value, r.dedupe_key) for r in rows] == [
        ("processed", f"{store.id}:msg_same"),
        ("duplicate", None),
    ]
    counts = client.get("/stores", headers=admin(db)).json()["items"][-1]["deliveries"]
    assert (counts["accepted"], counts["processed"], counts["duplicate"]) == (2, 1, 1)


def test_api_key_store(client: TestClient, db: Session) -> None:
    store = create_store(client, db, auth="api_key")
    assert store.secret.startswith("rsk_")
    response = deliver(client, store, MFN)
    assert response.status_code == 200
    assert response.json()["status"] == "processed"
    # Without webhook-id the Amazon NotificationId is the delivery id: a resend is a duplicate.
    assert response.json()["delivery_id"] == "amazon:8e009934-da2c-4f9c-9bc7-93f23b7e1f60"
    assert deliver(client, store, MFN).json()["status"] == "duplicate"
    before = stored(db)
    bad = client.post(store.path, content=encode(MFN), headers={"X-Api-Key": "rsk_wrong"})
    assert bad.status_code == 401
    assert client.post(store.path, content=encode(MFN)).status_code == 401
    assert stored(db) == before
    headers_kept = db.scalars(select(WebhookDelivery.headers)).all()
    assert all("x-api-key" not in headers for headers in headers_kept)


def test_rotation_keeps_the_old_secret_for_the_grace_period(client: TestClient, db: Session) -> None:
    store = create_store(client, db)
    old_secret = store.secret
    response = client.post(f"/stores/{store.id}/rotate-secret", headers=admin(db))
    assert response.status_code == 200, response.text
    body = response.json()
    new_secret = body["webhook_secret"]
    assert new_secret != old_secret
    assert new_secret.startswith("whsec_")
    expires = dt.datetime.fromisoformat(body["old_credentials_expire_at"])
    assert dt.timedelta(hours=23) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(hours=24)
    assert deliver(client, store, MFN).status_code == 200  # old secret, within grace
    store.secret = new_secret
    assert deliver(client, store, MFN).status_code == 200
    # The secret is never shown again, and never kept in clear.
    assert "webhook_secret" not in client.get(f"/stores/{store.id}", headers=admin(db)).json()
    for credential in db.scalars(select(StoreCredential).where(StoreCredential.store_id == store.id)):
        assert credential.secret_encrypted is not None
        assert old_secret not in credential.secret_encrypted
        assert new_secret not in credential.secret_encrypted
    audit = db.scalars(
        select(AuditLog)
        .where(AuditLog.entity_type == "store", AuditLog.entity_id == str(store.id))
        .order_by(AuditLog.id)  # PostgreSQL returns rows in no particular order without one
    )
    rows = list(audit)
    assert [row.action for row in rows] == ["store.created", "store.secret_rotated"]
    assert all(old_secret not in str(row.new_value) and new_secret not in str(row.new_value) for row in rows)


@pytest.fixture
def no_grace_settings(settings: Settings) -> Settings:
    settings.webhook_secret_grace_hours = 0
    return settings


def test_old_secret_refused_after_the_grace_period(
    no_grace_settings: Settings, client: TestClient, db: Session
) -> None:
    store = create_store(client, db)
    old = store.secret
    assert deliver(client, store, MFN).status_code == 200  # caches the old key
    store.secret = client.post(f"/stores/{store.id}/rotate-secret", headers=admin(db)).json()[
        "webhook_secret"
    ]
    assert deliver(client, store, MFN).status_code == 200
    store.secret = old
    assert deliver(client, store, MFN).status_code == 401


def test_body_over_the_limit_is_413_and_not_stored(
    settings: Settings, client: TestClient, db: Session
) -> None:
    store = create_store(client, db)
    settings.max_body_bytes = 1000
    raw = encode({**MFN, "padding": "x" * 2000})
    response = client.post(store.path, content=raw, headers=signed_headers(store.secret, raw))
    assert response.status_code == 413
    assert stored(db) == 0

    def chunks() -> object:
        yield raw[:600]
        yield raw[600:]

    streamed = client.post(store.path, content=chunks(), headers=signed_headers(store.secret, raw))  # type: ignore[arg-type]
    assert streamed.status_code == 413
    assert stored(db) == 0


def test_not_json_is_400_and_store_must_be_named(client: TestClient, db: Session) -> None:
    store = create_store(client, db)
    raw = b"{not json"
    response = client.post(store.path, content=raw, headers=signed_headers(store.secret, raw))
    assert response.status_code == 400
    assert "not JSON" in response.json()["detail"]
    raw = b'"a string"'
    assert client.post(store.path, content=raw, headers=signed_headers(store.secret, raw)).status_code == 422
    assert stored(db) == 0
    # Only one amazon store: ?store= may be left out.
    raw = encode(MFN)
    only = client.post("/integrations/amazon/webhook", content=raw, headers=signed_headers(store.secret, raw))
    assert only.status_code == 200, only.text
    create_store(client, db)
    ambiguous = client.post(
        "/integrations/amazon/webhook", content=raw, headers=signed_headers(store.secret, raw)
    )
    assert ambiguous.status_code == 400
    assert "store" in ambiguous.json()["detail"]
