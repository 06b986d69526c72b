from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from resight.audit.models import AuditLog
from resight.db import utcnow
from resight.events.models import ProductHourlyMetrics
from resight.ml.models import MlScore
from resight.rules.models import Rule
from resight.users.models import Role
from tests.factories import headers_for, make_product


@pytest.fixture
def merch(db: Session) -> dict[str, str]:
    return headers_for(db, Role.merchandiser)


def audit_rows(db: Session, entity_id: int | None = None) -> list[AuditLog]:
    query = select(AuditLog).where(AuditLog.entity_type == "rule").order_by(AuditLog.seq)
    if entity_id is not None:
        query = query.where(AuditLog.entity_id == str(entity_id))
    return list(db.scalars(query))


def iso(value: dt.datetime) -> str:
    return value.isoformat()


def test_create_get_list_update_delete_with_audit(
    client: TestClient, db: Session, merch: dict[str, str]
) -> None:
    product = make_product(db)
    body = {
        "kind": "boost",
        "scope": "product",
        "scope_value": str(product.id),
        "strength": 0.5,
        "reason": "Diwali",
    }
    created = client.post("/rules", json=body, headers=merch)
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["kind"] == "boost"
    assert rule["strength"] == 0.5
    assert rule["enabled"] is True
    assert rule["created_by"] is not None

    viewer = headers_for(db, Role.viewer)
    assert client.get(f"/rules/{rule['id']}", headers=viewer).json()["reason"] == "Diwali"
    page = client.get("/rules", params={"kind": "boost"}, headers=viewer).json()
    assert [r["id"] for r in page["items"]] == [rule["id"]]
    assert client.get("/rules", params={"kind": "pin"}, headers=viewer).json()["items"] == []

    until = utcnow() + dt.timedelta(days=3)
    patched = client.patch(
        f"/rules/{rule['id']}",
        json={"enabled": False, "priority": 5, "valid_until": iso(until)},
        headers=merch,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["enabled"] is False
    assert patched.json()["priority"] == 5
    assert client.get("/rules", params={"active": True}, headers=viewer).json()["items"] == []
    assert len(client.get("/rules", params={"active": False}, headers=viewer).json()["items"]) == 1

    deleted = client.delete(f"/rules/{rule['id']}", headers=merch)
    assert deleted.status_code == 200
    assert deleted.json()["id"] == rule["id"]
    assert client.get(f"/rules/{rule['id']}", headers=viewer).status_code == 404
    assert db.get(Rule, rule["id"]) is None

    rows = audit_rows(db, rule["id"])
    assert [r.action for r in rows] == ["rule.created", "rule.updated", "rule.deleted"]
    created_row, updated_row, deleted_row = rows
    assert created_row.old_value is None
    assert created_row.new_value["strength"] == 0.5
    assert updated_row.old_value["enabled"] is True
    assert updated_row.new_value["enabled"] is False
    assert updated_row.old_value["priority"] == 0
    assert updated_row.new_value["priority"] == 5
    assert updated_row.new_value["valid_until"] is not None
    assert deleted_row.old_value["reason"] == "Diwali"
    assert deleted_row.new_value is None
    assert created_row.actor_type == "user"
    assert created_row.request_id


def test_list_pages_with_a_cursor(client: TestClient, db: Session, merch: dict[str, str]) -> None:
    ids = [
        client.post(
            "/rules", json={"kind": "remove", "scope": "brand", "scope_value": f"Brand {i}"}, headers=merch
        ).json()["id"]
        for i in range(5)
    ]
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, "scope": "brand"}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/rules", params=params, headers=merch).json()
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)


def test_pin_endpoint(client: TestClient, db: Session, merch: dict[str, str]) -> None:
    product = make_product(db)
    until = utcnow() + dt.timedelta(days=1)
    response = client.post(
        "/rules/pin", json={"item_id": product.id, "valid_until": iso(until), "reason": "hero"}, headers=merch
    )
    assert response.status_code == 201, response.text
    rule = response.json()
    assert (rule["kind"], rule["scope"], rule["scope_value"], rule["position"]) == (
        "pin",
        "product",
        str(product.id),
        1,
    )
    assert audit_rows(db, rule["id"])[0].new_value["position"] == 1
    assert (
        client.post("/rules/pin", json={"item_id": product.id, "position": 0}, headers=merch).status_code
        == 422
    )
    missing = client.post("/rules/pin", json={"item_id": 987654}, headers=merch)
    assert missing.status_code == 422
    assert "987654 does not exist" in missing.json()["detail"]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (
            {"kind": "pin", "scope": "brand", "scope_value": "Biba", "position": 1},
            "pin applies to one product",
        ),
        ({"kind": "boost", "scope_value": "{pid}"}, "needs a strength"),
        ({"kind": "remove", "scope_value": "{pid}", "strength": 1}, "only boosts and demotes"),
        (
            {"kind": "boost", "scope_value": "{pid}", "strength": 1, "position": 2},
            "only pins have a position",
        ),
        ({"kind": "remove", "scope_value": "999999"}, "does not exist"),
        ({"kind": "remove", "scope_value": "abc"}, "is the product id"),
        ({"kind": "remove", "scope": "marketplace", "scope_value": "flipkart"}, "unknown marketplace"),
        ({"kind": "remove", "scope": "category", "scope_value": " > "}, "category is a path"),
        ({"kind": "remove", "scope": "brand", "scope_value": "   "}, "must not be empty"),
        (
            {
                "kind": "remove",
                "scope_value": "{pid}",
                "valid_from": "2030-01-02T00:00:00Z",
                "valid_until": "2030-01-01T00:00:00Z",
            },
            "valid_until must be after valid_from",
        ),
        ({"kind": "remove", "scope_value": "{pid}", "valid_until": "2020-01-01T00:00:00Z"}, "in the past"),
    ],
)
def test_validation_errors(
    client: TestClient, db: Session, merch: dict[str, str], body: dict[str, Any], detail: str
) -> None:
    product = make_product(db)
    body = {k: (v.format(pid=product.id) if isinstance(v, str) else v) for k, v in body.items()}
    response = client.post("/rules", json=body, headers=merch)
    assert response.status_code == 422, response.text
    assert detail in response.json()["detail"]
    assert audit_rows(db) == []


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "boost", "scope_value": "1", "strength": 0},
        {"kind": "boost", "scope_value": "1", "strength": 9.5},
        {"kind": "boost", "scope_value": "1", "strength": 1, "valid_until": "2030-01-01T00:00:00"},  # naive
        {"kind": "boost", "scope_value": "1", "strength": 1, "colour": "red"},
        {"kind": "shout", "scope_value": "1"},
    ],
)
def test_schema_errors_are_422(client: TestClient, merch: dict[str, str], body: dict[str, Any]) -> None:
    assert client.post("/rules", json=body, headers=merch).status_code == 422


def test_a_pin_goes_to_the_top_unless_told(client: TestClient, db: Session, merch: dict[str, str]) -> None:
    product = make_product(db)
    response = client.post("/rules", json={"kind": "pin", "scope_value": str(product.id)}, headers=merch)
    assert response.status_code == 201, response.text
    assert response.json()["position"] == 1
    assert audit_rows(db, response.json()["id"])[0].new_value["position"] == 1


def test_patch_validates_the_merged_rule(client: TestClient, db: Session, merch: dict[str, str]) -> None:
    product = make_product(db)
    rule = client.post(
        "/rules", json={"kind": "pin", "scope_value": str(product.id), "position": 3}, headers=merch
    ).json()
    assert client.patch(f"/rules/{rule['id']}", json={"strength": 1}, headers=merch).status_code == 422
    assert client.patch(f"/rules/{rule['id']}", json={"enabled": None}, headers=merch).status_code == 422
    assert client.patch(f"/rules/{rule['id']}", json={"kind": "boost"}, headers=merch).status_code == 422
    assert client.patch("/rules/999999", json={"enabled": False}, headers=merch).status_code == 404
    assert client.patch(f"/rules/{rule['id']}", json={"position": None}, headers=merch).status_code == 422
    moved = client.patch(f"/rules/{rule['id']}", json={"position": 1}, headers=merch)
    assert moved.json()["position"] == 1
    assert [r.action for r in audit_rows(db, rule["id"])] == ["rule.created", "rule.updated"]
    assert client.delete("/rules/999999", headers=merch).status_code == 404


def test_a_rule_change_triggers_scoring_after_commit(
    app: FastAPI, client: TestClient, db: Session, merch: dict[str, str]
) -> None:
    calls: list[int] = []

    def trigger() -> None:
        # Runs after the response, when the change is committed and visible.
        calls.append(db.scalar(select(func.count()).select_from(Rule)) or 0)

    app.state.scoring_trigger = trigger
    product = make_product(db)
    rule = client.post("/rules/pin", json={"item_id": product.id}, headers=merch).json()
    client.patch(f"/rules/{rule['id']}", json={"priority": 2}, headers=merch)
    client.delete(f"/rules/{rule['id']}", headers=merch)
    client.post("/rules", json={"kind": "remove", "scope_value": "x"}, headers=merch)  # rejected: no trigger
    assert calls == [1, 1, 0]


def _sell(db: Session, product_id: int, units: int) -> None:
    hour = utcnow().replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=2)
    db.add(ProductHourlyMetrics(product_id=product_id, hour_start=hour, units=units, orders=units))
    db.flush()


def test_boost_clearance(client: TestClient, db: Session, merch: dict[str, str]) -> None:
    overstocked = make_product(db, category="Toys > Blocks", stock=500, mrp_paise=10_000, price_paise=9_000)
    _sell(db, overstocked.id, 7)  # 1 a day: 500 days of cover
    deep_discount = make_product(db, category="Toys", stock=10, mrp_paise=10_000, price_paise=5_000)
    _sell(db, deep_discount.id, 70)  # 1 day of cover, but 50% off
    # Stored without spaces around ">": still under "Toys", as rules compare category paths.
    unsold = make_product(db, category="toys>Dolls", stock=3, mrp_paise=10_000, price_paise=9_500)
    selling = make_product(db, category="Toys", stock=20, mrp_paise=10_000, price_paise=9_000)
    _sell(db, selling.id, 70)  # 2 days of cover, 10% off: not clearance
    out_of_stock = make_product(db, category="Toys", stock=0, mrp_paise=10_000, price_paise=1_000)
    elsewhere = make_product(db, category="Books", stock=500)

    response = client.post(
        "/rules/boost-clearance", json={"category": "toys", "strength": 1.5}, headers=merch
    )
    assert response.status_code == 201, response.text
    result = response.json()
    boosted = [item["product_id"] for item in result["items"]]
    assert boosted == [unsold.id, overstocked.id, deep_discount.id]  # unbounded cover first
    assert {selling.id, out_of_stock.id, elsewhere.id}.isdisjoint(boosted)
    assert result["items"][1]["days_of_cover"] == 500.0
    assert result["items"][0]["days_of_cover"] is None
    assert all(r["kind"] == "boost" and r["strength"] == 1.5 for r in result["rules"])
    assert len(audit_rows(db)) == 3

    again = client.post("/rules/boost-clearance", json={"category": "Toys"}, headers=merch).json()
    assert again["rules"] == []
    assert sorted(again["already_boosted"]) == sorted(boosted)
    assert (
        client.post("/rules/boost-clearance", json={"category": "Garden"}, headers=merch).status_code == 404
    )
    everywhere = client.post("/rules/boost-clearance", json={}, headers=merch).json()
    everywhere_ids = {item["product_id"] for item in everywhere["items"]}
    assert elsewhere.id in everywhere_ids
    assert not everywhere_ids & set(boosted)  # already boosted: not boosted twice


def test_preview_shows_before_and_after_without_saving(
    client: TestClient, db: Session, merch: dict[str, str]
) -> None:
    # Brands and scores of their own, so that other rows in the database cannot interfere.
    proposal = {"kind": "remove", "scope": "brand", "scope_value": "Preview Biba"}
    conflict = client.post("/rules/preview", json=proposal, headers=merch)
    assert conflict.status_code == 409
    assert "no model scores" in conflict.json()["detail"]

    now = utcnow()
    brands = ("Preview Biba", "Preview W", "Preview Biba", "Preview Libas")
    products = [make_product(db, brand=brand) for brand in brands]
    for score, product in zip([1e6 + 0.9, 1e6 + 0.8, 1e6 + 0.7, 1e6 + 0.6], products, strict=True):
        db.add(MlScore(product_id=product.id, score=score, rank=None, model_version="v1", computed_at=now))
    db.flush()
    existing = client.post(
        "/rules", json={"kind": "boost", "scope_value": str(products[3].id), "strength": 9}, headers=merch
    ).json()
    audit_before = len(audit_rows(db))

    response = client.post("/rules/preview", json={**proposal, "limit": 3}, headers=merch)
    assert response.status_code == 200, response.text
    preview = response.json()
    ids = [p.id for p in products]
    assert [i["product_id"] for i in preview["before"]] == [ids[3], ids[0], ids[1]]
    assert preview["before"][0]["rule_ids"] == [existing["id"]]
    assert [i["product_id"] for i in preview["after"]] == [ids[3], ids[1]]
    assert preview["removed"] >= 2
    changes = {c["product_id"]: (c["rank_before"], c["rank_after"]) for c in preview["changes"]}
    assert changes == {ids[0]: (2, None), ids[1]: (3, 2)}
    assert preview["after"][0]["title"] == products[3].title

    pin = client.post(
        "/rules/preview", json={"kind": "pin", "scope_value": str(ids[2]), "position": 1}, headers=merch
    ).json()
    assert pin["after"][0]["product_id"] == ids[2]
    assert pin["after"][0]["rule_ids"] == [0]
    assert db.scalar(select(func.count()).select_from(Rule)) == 1
    assert len(audit_rows(db)) == audit_before
    top = client.post(
        "/rules/preview", json={"kind": "pin", "scope_value": str(ids[2])}, headers=merch
    ).json()
    assert top["after"][0]["product_id"] == ids[2]  # a pin's position defaults to 1
    invalid = client.post(
        "/rules/preview", json={"kind": "pin", "scope": "brand", "scope_value": "Preview W"}, headers=merch
    )
    assert invalid.status_code == 422
