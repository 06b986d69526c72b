"""Every state change of accounts, tokens, rules and models leaves an audit row; the trail is readable
through GET /audit-logs (filters, cursor pages) and cannot be changed through the API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from resight.audit.models import AuditLog
from resight.audit.service import SYSTEM, Actor, record
from resight.db import utcnow
from resight.events.models import ProductHourlyMetrics
from resight.ml import registry
from resight.ml.models import MlModel
from resight.rules.models import Rule, RuleKind, RuleScope
from resight.users.models import ApiToken, Role, TokenKind
from resight.users.service import issue_token
from tests.factories import PASSWORD, headers_for, make_product, make_user


@dataclass(frozen=True)
class Change:
    method: str
    path: str
    role: Role | None  # None: the endpoint authenticates by itself (login)
    call: Callable[[TestClient, Session, dict[str, str]], httpx.Response]
    actions: tuple[str, ...]  # the audit actions it must write, in order


def _rule(db: Session, **values: Any) -> Rule:
    product = make_product(db)
    fields: dict[str, Any] = {
        "kind": RuleKind.remove,
        "scope": RuleScope.product,
        "scope_value": str(product.id),
    }
    fields.update(values)
    rule = Rule(**fields)
    db.add(rule)
    db.flush()
    return rule


def _clearance(client: TestClient, db: Session, headers: dict[str, str]) -> httpx.Response:
    product = make_product(db, category="Clearance Test", stock=100)
    hour = utcnow().replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=1)
    db.add(ProductHourlyMetrics(product_id=product.id, hour_start=hour, units=1))
    db.flush()
    return client.post("/rules/boost-clearance", json={"category": "Clearance Test"}, headers=headers)


def _api_token(db: Session) -> ApiToken:
    owner = make_user(db)
    token = ApiToken(user_id=owner.id, kind=TokenKind.api, name="t", prefix="rs_x", token_hash="h" * 64)
    db.add(token)
    db.flush()
    return token


CHANGES = [
    Change(
        "POST",
        "/auth/token",
        None,
        lambda c, db, h: c.post(
            "/auth/token", data={"username": make_user(db).username, "password": PASSWORD}, headers=h
        ),
        ("auth.login",),
    ),
    Change(
        "POST",
        "/users",
        Role.admin,
        lambda c, _db, h: c.post("/users", json={"username": "newbie", "password": "long-enough"}, headers=h),
        ("user.created",),
    ),
    Change(
        "PATCH",
        "/users/{user_id}",
        Role.admin,
        lambda c, db, h: c.patch(f"/users/{make_user(db).id}", json={"role": "merchandiser"}, headers=h),
        ("user.updated",),
    ),
    Change(
        "POST",
        "/auth/api-tokens",
        Role.admin,
        lambda c, _db, h: c.post("/auth/api-tokens", json={"name": "export"}, headers=h),
        ("api_token.created",),
    ),
    Change(
        "DELETE",
        "/auth/api-tokens/{token_id}",
        Role.admin,
        lambda c, db, h: c.delete(f"/auth/api-tokens/{_api_token(db).id}", headers=h),
        ("api_token.revoked",),
    ),
    Change(
        "POST",
        "/rules",
        Role.merchandiser,
        lambda c, _db, h: c.post(
            "/rules", json={"kind": "remove", "scope": "brand", "scope_value": "W"}, headers=h
        ),
        ("rule.created",),
    ),
    Change(
        "POST",
        "/rules/pin",
        Role.merchandiser,
        lambda c, db, h: c.post("/rules/pin", json={"item_id": make_product(db).id}, headers=h),
        ("rule.created",),
    ),
    Change("POST", "/rules/boost-clearance", Role.merchandiser, _clearance, ("rule.created",)),
    Change(
        "PATCH",
        "/rules/{rule_id}",
        Role.merchandiser,
        lambda c, db, h: c.patch(f"/rules/{_rule(db).id}", json={"enabled": False}, headers=h),
        ("rule.updated",),
    ),
    Change(
        "DELETE",
        "/rules/{rule_id}",
        Role.merchandiser,
        lambda c, db, h: c.delete(f"/rules/{_rule(db).id}", headers=h),
        ("rule.deleted",),
    ),
]
# State-changing by method, but they change nothing: no audit row.
READ_ONLY_POSTS = {("POST", "/rules/preview")}
AUDITED_PREFIXES = ("/auth", "/users", "/rules")


def test_every_accounts_tokens_and_rules_change_is_listed(app: FastAPI) -> None:
    routes = {
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()
        for method in item
        if method.upper() in {"POST", "PUT", "PATCH", "DELETE"} and path.startswith(AUDITED_PREFIXES)
    }
    assert routes - READ_ONLY_POSTS == {(change.method, change.path) for change in CHANGES}


@pytest.mark.parametrize("change", CHANGES, ids=lambda c: f"{c.method} {c.path}")
def test_the_change_writes_its_audit_row(change: Change, client: TestClient, db: Session) -> None:
    headers = headers_for(db, change.role) if change.role else {}
    last_seq = db.scalar(select(AuditLog.seq).order_by(AuditLog.seq.desc()).limit(1)) or 0
    response = change.call(client, db, {**headers, "X-Request-ID": "req-audit-1"})
    assert response.status_code < 300, response.text
    rows = list(db.scalars(select(AuditLog).where(AuditLog.seq > last_seq).order_by(AuditLog.seq)))
    assert tuple(row.action for row in rows) == change.actions
    for row in rows:
        assert row.request_id == "req-audit-1"
        assert row.actor_type in ("user", "api_token")
        assert row.new_value is not None or row.old_value is not None


def test_a_failed_change_writes_no_audit_row(client: TestClient, db: Session) -> None:
    headers = headers_for(db, Role.merchandiser)
    before = db.scalar(select(AuditLog.seq).order_by(AuditLog.seq.desc()).limit(1))
    pin_a_brand = {"kind": "pin", "scope": "brand", "scope_value": "W", "position": 1}  # pins are per product
    assert client.post("/rules", json=pin_a_brand, headers=headers).status_code == 422
    assert db.scalar(select(AuditLog.seq).order_by(AuditLog.seq.desc()).limit(1)) == before


def test_a_change_through_an_api_token_names_the_token(client: TestClient, db: Session) -> None:
    user = make_user(db, Role.merchandiser)
    token_row, token = issue_token(db, user, kind=TokenKind.api, name="feed bot", lifetime=None)
    response = client.post(
        "/rules",
        json={"kind": "remove", "scope": "brand", "scope_value": "Token Brand"},
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": "req-token-1"},
    )
    assert response.status_code == 201, response.text
    row = db.scalars(
        select(AuditLog).where(
            AuditLog.entity_type == "rule", AuditLog.entity_id == str(response.json()["id"])
        )
    ).one()
    assert (row.actor_type, row.actor_id, row.actor_name) == ("api_token", str(token_row.id), user.username)
    assert row.request_id == "req-token-1"


def _trail(db: Session) -> list[AuditLog]:
    rows = []
    base = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    actors = [Actor("user", "7", "asha"), Actor("store", "2", "myntra"), SYSTEM]
    for i in range(9):
        row = record(
            db, actors[i % 3], f"thing.{'created' if i % 2 else 'updated'}", "thing", i % 4, new={"i": i}
        )
        row.created_at = base + dt.timedelta(hours=i)  # spread in time (the hash is not re-checked here)
        rows.append(row)
    db.flush()
    return rows


def test_audit_logs_filters(client: TestClient, db: Session) -> None:
    rows = _trail(db)
    headers = headers_for(db, Role.viewer)

    def seqs(**params: Any) -> list[int]:
        response = client.get("/audit-logs", params={"entity_type": "thing", **params}, headers=headers)
        assert response.status_code == 200, response.text
        return [item["seq"] for item in response.json()["items"]]

    newest_first = [row.seq for row in reversed(rows)]
    assert seqs() == newest_first
    assert seqs(actor="user") == [r.seq for r in reversed(rows) if r.actor_type == "user"]
    assert seqs(actor="store:2") == [r.seq for r in reversed(rows) if r.actor_type == "store"]
    assert seqs(actor="store:3") == []
    assert seqs(action="thing.created") == [r.seq for r in reversed(rows) if r.action == "thing.created"]
    assert seqs(entity_id="1") == [r.seq for r in reversed(rows) if r.entity_id == "1"]
    since, until = rows[2].created_at, rows[5].created_at
    assert seqs(**{"from": since.isoformat(), "to": until.isoformat()}) == [
        rows[4].seq,
        rows[3].seq,
        rows[2].seq,
    ]
    item = client.get("/audit-logs", params={"entity_type": "thing", "limit": 1}, headers=headers).json()[
        "items"
    ][0]
    assert item["new_value"] == {"i": 8}
    assert item["actor_type"] == "system"
    assert len(item["hash"]) == 64
    naive = client.get("/audit-logs", params={"from": "2026-03-01T00:00:00"}, headers=headers)
    assert naive.status_code == 422


def test_audit_logs_cursor_pages(client: TestClient, db: Session) -> None:
    rows = _trail(db)
    headers = headers_for(db, Role.viewer)
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"entity_type": "thing", "limit": 4}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/audit-logs", params=params, headers=headers).json()
        seen += [item["seq"] for item in page["items"]]
        cursor = page["next_cursor"]
        pages += 1
        if cursor is None:
            break
    assert pages == 3
    assert seen == [row.seq for row in reversed(rows)]
    bad = client.get("/audit-logs", params={"cursor": "not-a-cursor"}, headers=headers)
    assert bad.status_code == 400


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "POST"])
@pytest.mark.parametrize("path", ["/audit-logs", "/audit-logs/1"])
def test_no_api_edits_or_deletes_audit_rows(client: TestClient, db: Session, method: str, path: str) -> None:
    rows = _trail(db)
    headers = headers_for(db, Role.admin)
    response = client.request(method, path, headers=headers, json={"action": "forged"})
    assert response.status_code in (404, 405)
    assert db.scalar(select(AuditLog.action).where(AuditLog.seq == rows[0].seq)) == rows[0].action


def test_the_only_audit_route_is_the_read(app: FastAPI) -> None:
    routes = {
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()
        for method in item
        if "audit" in path
    }
    assert routes == {("GET", "/audit-logs")}


def test_training_and_promoting_a_model_write_their_rows_in_that_transaction(
    db: Session, tmp_path: Path
) -> None:
    actor = Actor("user", "5", "ravi", request_id="req-train")
    window = {
        "train_from": dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
        "train_to": dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
    }

    def register(version: str) -> None:
        registry.register(
            db,
            actor,
            version=version,
            artifact=tmp_path / f"{version}.txt",
            sha256="0" * 64,
            params={},
            metrics={"spearman": 0.7},
            fingerprint="fp",
            **window,
        )

    def rows(version: str) -> list[tuple[str, Any, Any]]:
        found = db.scalars(
            select(AuditLog).where(AuditLog.entity_type == "ml_model", AuditLog.entity_id == version)
        )
        return [(row.action, row.old_value, row.new_value) for row in found]

    # Rolled back with the change: neither the model nor its audit rows remain.
    with db.begin_nested() as nested:
        register("audit-gone")
        registry.promote(db, actor, "audit-gone")
        assert [action for action, _, _ in rows("audit-gone")] == ["model.trained", "model.promoted"]
        nested.rollback()
    assert rows("audit-gone") == []
    assert db.scalar(select(MlModel.id).where(MlModel.version == "audit-gone")) is None

    register("audit-kept")
    registry.promote(db, actor, "audit-kept")
    (trained, trained_old, trained_new), (promoted, promoted_old, promoted_new) = rows("audit-kept")
    assert (trained, trained_old) == ("model.trained", None)
    assert trained_new["metrics"] == {"spearman": 0.7}
    assert trained_new["train_to"] == "2026-11-01T00:00:00+00:00"
    assert promoted == "model.promoted"
    assert promoted_new == {"serving": "audit-kept"}
    assert set(promoted_old) == {"serving"}  # the model served before (none, or another run's)
    assert promoted_old["serving"] != "audit-kept"
    last = db.scalars(select(AuditLog).order_by(AuditLog.seq.desc()).limit(1)).one()
    assert (last.actor_type, last.actor_id, last.request_id) == ("user", "5", "req-train")
