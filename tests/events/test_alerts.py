from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from resight.audit.models import AuditLog
from resight.audit.service import verify_chain
from resight.catalog.models import Platform
from resight.config import Settings
from resight.db import utcnow
from resight.events.alerts import evaluate_alerts, raise_alert, resolve_alert
from resight.events.models import Alert, AlertStatus, EventType
from resight.events.rollups import BUCKET, bucket_start
from resight.integrations.models import DeliveryStatus, WebhookDelivery
from resight.ml.models import MlScore
from resight.users.models import Role
from tests.events.helpers import add_event
from tests.factories import headers_for, make_product, make_store


def _alerts(db: Session, kind: str) -> list[Alert]:
    return list(db.scalars(select(Alert).where(Alert.kind == kind).order_by(Alert.id)))


def test_low_stock_alert_lifecycle(client: TestClient, db: Session, settings: Settings) -> None:
    now = utcnow()
    product = make_product(db, stock=3)
    add_event(
        db, product, EventType.order, bucket_start(now), quantity=7, paise=70_000
    )  # 1 a day: 3 days left

    first = evaluate_alerts(db, settings, now)
    [alert] = _alerts(db, "low_stock")
    assert alert.id in first.raised
    assert alert.subject_id == str(product.id)
    assert alert.details["days_of_cover"] == "3.0"
    again = evaluate_alerts(db, settings, now)  # condition still holds: no duplicate
    assert alert.id not in again.raised
    assert len(_alerts(db, "low_stock")) == 1

    viewer, merchandiser = headers_for(db, Role.viewer), headers_for(db, Role.merchandiser)
    listed = client.get("/alerts", params={"kind": "low_stock", "status": "open"}, headers=viewer).json()
    assert [item["id"] for item in listed["items"]] == [alert.id]
    assert client.post(f"/alerts/{alert.id}/ack", headers=viewer).status_code == 403
    acked = client.post(f"/alerts/{alert.id}/ack", headers=merchandiser)
    assert acked.status_code == 200, acked.text
    assert acked.json()["status"] == "acknowledged"
    assert (
        db.scalar(
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.action == "alert.acknowledge", AuditLog.entity_id == str(alert.id))
        )
        == 1
    )
    evaluate_alerts(db, settings, now)  # acknowledged and still true: still one alert
    assert len(_alerts(db, "low_stock")) == 1

    product.stock = 100
    db.flush()
    cleared = evaluate_alerts(db, settings, now)
    assert cleared.resolved == [alert.id]
    db.refresh(alert)
    assert alert.status is AlertStatus.resolved
    assert alert.open_key is None
    assert client.post(f"/alerts/{alert.id}/ack", headers=merchandiser).status_code == 409
    assert client.post("/alerts/999999/ack", headers=merchandiser).status_code == 404

    product.stock = 1  # the condition returns: a new alert
    db.flush()
    evaluate_alerts(db, settings, now)
    statuses = [a.status for a in _alerts(db, "low_stock")]
    assert statuses == [AlertStatus.resolved, AlertStatus.open]


def test_rank_drop_top_out_of_stock_and_quarantine(db: Session, settings: Settings) -> None:
    now = utcnow()
    store = make_store(db, Platform.myntra)
    fell, steady = make_product(db, store), make_product(db, store, stock=0)
    db.add_all(
        [
            MlScore(
                product_id=fell.id, score=0.1, rank=40, previous_rank=5, model_version="v1", computed_at=now
            ),
            MlScore(
                product_id=steady.id, score=0.9, rank=1, previous_rank=2, model_version="v1", computed_at=now
            ),
        ]
    )
    db.add(
        WebhookDelivery(
            store_id=store.id,
            platform=Platform.myntra,
            delivery_id="d-1",
            status=DeliveryStatus.quarantined,
            body=b"{}",
            headers={},
        )
    )
    db.flush()
    evaluate_alerts(db, settings, now)
    [rank] = _alerts(db, "rank_drop")
    assert rank.subject_id == str(fell.id)
    assert rank.details == {"rank": 40, "previous_rank": 5}
    [top] = _alerts(db, "top_product_out_of_stock")
    assert top.subject_id == str(steady.id)
    assert top.severity == "critical"
    [quarantine] = _alerts(db, "deliveries_quarantined")
    assert quarantine.details == {"count": 1}


def test_ctr_drop_against_the_previous_24_hours(db: Session, settings: Settings) -> None:
    now = utcnow()
    product = make_product(db)
    last_hour = bucket_start(now) - BUCKET
    add_event(db, product, EventType.view, last_hour, quantity=1000)
    add_event(db, product, EventType.click, last_hour, quantity=50)  # 5% now
    add_event(db, product, EventType.view, last_hour - dt.timedelta(hours=24), quantity=1000)
    add_event(db, product, EventType.click, last_hour - dt.timedelta(hours=24), quantity=100)  # 10% before
    evaluate_alerts(db, settings, now)
    [ctr] = _alerts(db, "ctr_drop")
    assert ctr.subject_id == str(product.store_id)
    assert ctr.details["drop_pct"] == "50.00"
    assert _alerts(db, "conversion_drop") == []  # no orders either time: nothing to compare
    stricter = settings.model_copy(update={"alert_ratio_drop_pct": 60.0})
    evaluate_alerts(db, stricter, now)
    db.refresh(ctr)
    assert ctr.status is AlertStatus.resolved


def test_alerts_raised_by_other_domains(client: TestClient, db: Session) -> None:
    first = raise_alert(db, "scoring_failed", "scoring_failed", "scoring failed 3 times", {"error": "boom"})
    assert first is not None
    assert raise_alert(db, "scoring_failed", "scoring_failed", "scoring failed 4 times") is None
    evaluate_alerts(db, Settings(), utcnow())  # does not resolve kinds it does not own
    db.refresh(first)
    assert first.status is AlertStatus.open
    resolved = resolve_alert(db, "scoring_failed")
    assert resolved is not None
    assert resolved.id == first.id
    assert resolve_alert(db, "scoring_failed") is None
    viewer = headers_for(db, Role.viewer)
    page = client.get("/alerts", params={"limit": 1, "kind": "scoring_failed"}, headers=viewer).json()
    assert page["items"][0]["status"] == "resolved"
    assert page["next_cursor"] is None
    raise_alert(db, "model_promoted", "model_promoted:v2", "model v2 now serving")
    raise_alert(db, "model_promoted", "model_promoted:v3", "model v3 now serving")
    page = client.get("/alerts", params={"limit": 1, "kind": "model_promoted"}, headers=viewer).json()
    assert page["items"][0]["message"] == "model v3 now serving"
    rest = client.get(
        "/alerts",
        params={"limit": 1, "kind": "model_promoted", "cursor": page["next_cursor"]},
        headers=viewer,
    ).json()
    assert rest["items"][0]["message"] == "model v2 now serving"


def test_many_conditions_raise_and_resolve_in_bulk_with_an_intact_audit_chain(
    db: Session, settings: Settings
) -> None:
    now = utcnow()
    store = make_store(db, Platform.amazon)
    products = [make_product(db, store, stock=2) for _ in range(60)]
    for product in products:
        add_event(db, product, EventType.order, bucket_start(now), quantity=7, paise=1_000)
    first = evaluate_alerts(db, settings, now)
    keys = {f"low_stock:product:{product.id}" for product in products}
    opened = {a.open_key: a.id for a in _alerts(db, "low_stock")}
    assert set(opened) == keys
    assert sorted(opened.values()) == [i for i in first.raised if i in opened.values()]
    assert evaluate_alerts(db, settings, now).raised == []  # still holding: nothing new
    for product in products[:40]:
        product.stock = 500
    db.flush()
    cleared = evaluate_alerts(db, settings, now)
    assert sorted(cleared.resolved) == sorted(opened[f"low_stock:product:{p.id}"] for p in products[:40])
    db.expire_all()
    still_open = {a.open_key for a in _alerts(db, "low_stock") if a.status is AlertStatus.open}
    assert still_open == {f"low_stock:product:{p.id}" for p in products[40:]}
    raised_audit = db.scalar(
        select(func.count()).select_from(AuditLog).where(AuditLog.action == "alert.raise")
    )
    resolved_audit = db.scalar(
        select(func.count()).select_from(AuditLog).where(AuditLog.action == "alert.resolve")
    )
    assert (raised_audit, resolved_audit) == (len(first.raised), 40)
    assert verify_chain(db) is None
