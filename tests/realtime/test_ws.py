"""WS /ws through the ASGI app: authentication, snapshot, subscriptions, heartbeats, topic messages."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete
from sqlalchemy.orm import Session
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from resight.db import utcnow
from resight.events.models import Alert, EventType
from resight.events.records import NewEvent
from resight.events.service import record_events
from resight.ml.models import MlScore
from resight.realtime.hub import Hub, Topic
from resight.users.models import Role
from tests.factories import auth_headers, headers_for, make_product, make_user
from tests.realtime.conftest import token_for


def fresh_tables(db: Session) -> None:
    """This test's scores and alerts only. (On SQLite, the app's commits inside the test transaction
    can outlive it, since pysqlite's RELEASE of an outermost SAVEPOINT commits.)"""
    db.execute(delete(MlScore))
    db.execute(delete(Alert))


def receive(ws: WebSocketTestSession, kind: str, limit: int = 20) -> dict[str, Any]:
    """The next message of `kind`, skipping heartbeats and other kinds in between."""
    for _ in range(limit):
        message: dict[str, Any] = ws.receive_json()
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind!r} message within {limit} messages")


@pytest.mark.parametrize("query", ["", "?token=", "?token=not-a-token"])
def test_a_bad_or_missing_token_is_refused_with_policy_violation(client: TestClient, query: str) -> None:
    with client.websocket_connect(f"/ws{query}") as ws, pytest.raises(WebSocketDisconnect) as refused:
        ws.receive_json()
    assert refused.value.code == 1008


def test_an_expired_token_is_refused(client: TestClient, db: Session) -> None:
    expired = auth_headers(db, make_user(db), lifetime=dt.timedelta(seconds=-1))
    db.commit()
    token = expired["Authorization"].removeprefix("Bearer ")
    with client.websocket_connect(f"/ws?token={token}") as ws, pytest.raises(WebSocketDisconnect) as refused:
        ws.receive_json()
    assert refused.value.code == 1008


def test_snapshot_first_with_ranking_and_open_alerts(client: TestClient, db: Session) -> None:
    fresh_tables(db)
    first, second = make_product(db, title="Anarkali Kurta"), make_product(db, title="Palazzo Set")
    now = utcnow()
    db.add_all(
        [
            MlScore(
                product_id=first.id, score=9.5, rank=1, previous_rank=3, model_version="v7", computed_at=now
            ),
            MlScore(
                product_id=second.id, score=4.0, rank=2, previous_rank=1, model_version="v7", computed_at=now
            ),
            Alert(kind="low_stock", message="Palazzo Set: 2 days of cover", open_key="low_stock:x"),
        ]
    )
    token = token_for(db)
    with client.websocket_connect(f"/ws?token={token}") as ws:
        snapshot = ws.receive_json()
    assert snapshot["type"] == "snapshot"
    ranking = snapshot["data"]["ranking"]
    assert ranking["model_version"] == "v7"
    assert [(row["product_id"], row["rank"], row["rank_change"]) for row in ranking["top"]] == [
        (first.id, 1, 2),
        (second.id, 2, -1),
    ]
    assert ranking["top"][0]["title"] == "Anarkali Kurta"
    assert ranking["top"][0]["price"] == "1299.00"
    assert {row["product_id"] for row in ranking["changes"]} == {first.id, second.id}
    alerts = snapshot["data"]["alerts"]
    assert alerts["open_count"] == 1
    assert alerts["open"][0]["message"] == "Palazzo Set: 2 days of cover"


def test_topic_messages_follow_and_unsubscribe_stops_them(
    app: FastAPI, client: TestClient, db: Session
) -> None:
    hub: Hub = app.state.hub
    with client.websocket_connect(f"/ws?token={token_for(db)}") as ws:
        receive(ws, "snapshot")
        hub.publish_soon(Topic.rules, {"action": "created", "rule_id": 5})
        assert receive(ws, "rules")["data"] == {"action": "created", "rule_id": 5}

        ws.send_json({"type": "unsubscribe", "topics": ["rules"]})
        subscribed = receive(ws, "subscribed")["data"]
        assert "rules" not in subscribed["topics"]
        assert "kpis" in subscribed["topics"]
        hub.publish_soon(Topic.rules, {"action": "deleted", "rule_id": 5})
        hub.publish_soon(Topic.model, {"version": "v8"})
        assert receive(ws, "model")["data"] == {"version": "v8"}  # and no rules message before it

        ws.send_json({"type": "subscribe", "topics": ["rules"]})
        assert "rules" in receive(ws, "subscribed")["data"]["topics"]
        hub.publish_soon(Topic.rules, {"action": "updated", "rule_id": 6})
        assert receive(ws, "rules")["data"]["rule_id"] == 6


def test_item_messages_only_for_subscribed_products(app: FastAPI, client: TestClient, db: Session) -> None:
    watched, ignored = make_product(db, stock=4), make_product(db)
    token = token_for(db)
    with client.websocket_connect(f"/ws?token={token}") as ws:
        receive(ws, "snapshot")
        ws.send_json({"type": "subscribe", "product_ids": [watched.id]})
        subscribed = receive(ws, "subscribed")["data"]
        assert subscribed["product_ids"] == [watched.id]
        assert "item" in subscribed["topics"]
        current = receive(ws, "item")["data"]  # the current view, right after subscribing
        assert (current["product_id"], current["stock"], current["rank"]) == (watched.id, 4, None)

        hub: Hub = app.state.hub
        hub.publish_soon(Topic.item, {"product_id": ignored.id})
        hub.publish_soon(Topic.kpis, {"marker": 1})
        assert receive(ws, "kpis")["data"] == {"marker": 1}  # no item message came before it

        ws.send_json({"type": "unsubscribe", "product_ids": [watched.id]})
        assert receive(ws, "subscribed")["data"]["product_ids"] == []


def test_ping_pong_heartbeat_and_errors(client: TestClient, db: Session) -> None:
    with client.websocket_connect(f"/ws?token={token_for(db)}") as ws:
        receive(ws, "snapshot")
        ws.send_json({"type": "ping", "data": "t1"})
        assert receive(ws, "pong")["data"] == {"echo": "t1"}
        started = time.monotonic()
        assert receive(ws, "heartbeat")["data"] == {"interval_seconds": 0.3}
        assert time.monotonic() - started < 2
        ws.send_text("not json")
        assert "JSON" in receive(ws, "error")["data"]["detail"]
        ws.send_json({"type": "subscribe", "topics": ["weather"]})
        assert "weather" in receive(ws, "error")["data"]["detail"]
        ws.send_json({"type": "subscribe", "product_ids": ["7"]})
        assert "positive integers" in receive(ws, "error")["data"]["detail"]
        ws.send_json({"type": "dance"})
        assert "dance" in receive(ws, "error")["data"]["detail"]


def test_a_silent_client_is_closed(app: FastAPI, client: TestClient, db: Session) -> None:
    app.state.settings.ws_client_timeout_seconds = 0.5
    with client.websocket_connect(f"/ws?token={token_for(db)}") as ws:
        receive(ws, "snapshot")
        with pytest.raises(WebSocketDisconnect) as closed:
            receive(ws, "never sent")
    assert closed.value.code == 4408


def test_an_ingestion_commit_pushes_fresh_kpis(app: FastAPI, client: TestClient, db: Session) -> None:
    product = make_product(db)
    with client.websocket_connect(f"/ws?token={token_for(db)}") as ws:
        before = receive(ws, "snapshot")["data"]["kpis"]
        assert before["window"]["name"] == "today"
        orders_before = before["orders"]["value"]
        hub: Hub = app.state.hub
        record_events(
            db,
            [
                NewEvent(
                    product_id=product.id,
                    store_id=product.store_id,
                    marketplace=product.marketplace,
                    event_type=EventType.order,
                    event_time=utcnow(),
                    quantity=2,
                    revenue_paise=259_800,
                    external_id="order-1",
                )
            ],
        )
        hub.notify_ingested(db, [product.id])  # announced only once committed
        started = time.monotonic()
        db.commit()
        kpis = receive(ws, "kpis")["data"]
        assert time.monotonic() - started < 1.0
        assert kpis["orders"]["value"] == orders_before + 1
        assert kpis["units"]["value"] >= 2
        assert kpis["window"]["name"] == "today"


def test_a_scoring_cycle_pushes_the_ranking_and_subscribed_items(
    app: FastAPI, client: TestClient, db: Session
) -> None:
    fresh_tables(db)
    product = make_product(db, title="Chikankari Kurta")
    token = token_for(db)
    with client.websocket_connect(f"/ws?token={token}") as ws:
        receive(ws, "snapshot")
        ws.send_json({"type": "subscribe", "product_ids": [product.id]})
        assert receive(ws, "item")["data"]["rank"] is None
        db.add(
            MlScore(
                product_id=product.id,
                score=3.5,
                rank=1,
                previous_rank=4,
                model_version="v9",
                computed_at=utcnow(),
            )
        )
        db.commit()
        assert callable(app.state.on_scored[0])  # the scoring loop calls these after each cycle
        app.state.hub.call_soon(lambda: app.state.live_feeds.on_scored(None))
        ranking = receive(ws, "ranking")["data"]
        assert ranking["model_version"] == "v9"
        assert ranking["top"][0]["product_id"] == product.id
        assert ranking["changes"] == [
            {"product_id": product.id, "rank": 1, "previous_rank": 4, "rank_change": 3}
        ]
        item = receive(ws, "item")["data"]  # every scoring cycle refreshes the items a client watches
        assert (item["product_id"], item["rank"], item["rank_change"]) == (product.id, 1, 3)


def test_a_rule_change_reaches_live_clients(client: TestClient, db: Session) -> None:
    product = make_product(db)
    merchandiser = headers_for(db, Role.merchandiser)
    with client.websocket_connect(f"/ws?token={token_for(db)}") as ws:
        receive(ws, "snapshot")
        pinned = client.post("/rules/pin", json={"item_id": product.id, "position": 1}, headers=merchandiser)
        assert pinned.status_code == 201, pinned.text
        assert receive(ws, "rules")["data"] == {"action": "created", "path": "/rules/pin"}
        rule_id = pinned.json()["id"]
        deleted = client.delete(f"/rules/{rule_id}", headers=merchandiser)
        assert deleted.status_code == 200, deleted.text
        assert receive(ws, "rules")["data"] == {"action": "deleted", "path": f"/rules/{rule_id}"}


def test_acknowledging_an_alert_pushes_the_open_alerts(client: TestClient, db: Session) -> None:
    fresh_tables(db)
    alert = Alert(kind="low_stock", message="Kurta: 2 days of cover", open_key="low_stock:ack-test")
    db.add(alert)
    db.flush()
    merchandiser = headers_for(db, Role.merchandiser)
    with client.websocket_connect(f"/ws?token={token_for(db)}") as ws:
        assert receive(ws, "snapshot")["data"]["alerts"]["open_count"] == 1
        acked = client.post(f"/alerts/{alert.id}/ack", headers=merchandiser)
        assert acked.status_code == 200, acked.text
        assert receive(ws, "alerts")["data"] == {"open_count": 0, "open": []}
