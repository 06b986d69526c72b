"""Webhook rate limits (per store and per source address), and secrets that never show again:
webhook secrets, API keys, passwords and bearer tokens appear in no log line and no later response."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from resight.integrations.models import WebhookDelivery
from resight.ratelimit import RateLimiter
from resight.users.models import Role
from tests.factories import PASSWORD, make_user
from tests.integrations.support import admin, create_store, deliver
from tests.resilience.support import myntra_order


def _inbox(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(WebhookDelivery)) or 0)


def test_webhooks_are_limited_per_store_and_per_address(client: TestClient, db: Session) -> None:
    first, second = create_store(client, db, "myntra"), create_store(client, db, "myntra")
    client.app.state.webhook_limiter = RateLimiter(3, window_seconds=60)  # type: ignore[attr-defined]
    for n in range(3):
        assert deliver(client, first, myntra_order(f"RL-{n}", "RL-SKU")).status_code == 200
    stored = _inbox(db)
    too_many = deliver(client, first, myntra_order("RL-3", "RL-SKU"))
    assert too_many.status_code == 429
    assert int(too_many.headers["retry-after"]) >= 1
    assert f"store {first.id}" in too_many.json()["detail"]
    # Another store from the same address: its own store budget is untouched, the address's is spent.
    from_same_address = deliver(client, second, myntra_order("RL-4", "RL-SKU"))
    assert from_same_address.status_code == 429
    assert "from you" in from_same_address.json()["detail"]
    assert _inbox(db) == stored  # refused before anything was read or stored


def test_default_limit_is_a_setting(client: TestClient) -> None:
    limiter = client.app.state.webhook_limiter  # type: ignore[attr-defined]
    assert limiter.limit == client.app.state.settings.webhook_requests_per_minute  # type: ignore[attr-defined]


def test_secrets_never_appear_in_logs_or_later_responses(
    client: TestClient, db: Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    admin_user = make_user(db, Role.admin)
    login = client.post("/auth/token", data={"username": admin_user.username, "password": PASSWORD})
    assert login.status_code == 200, login.text
    session_token = login.json()["access_token"]
    bearer = {"Authorization": f"Bearer {session_token}"}
    api_token = client.post("/auth/api-tokens", json={"name": "feed"}, headers=bearer).json()["token"]
    signed = create_store(client, db, "myntra", headers=bearer)
    keyed = create_store(client, db, "meesho", auth="api_key", headers=bearer)
    rotated = client.post(f"/stores/{signed.id}/rotate-secret", headers=bearer)
    assert rotated.status_code == 200
    new_secret = rotated.json()["webhook_secret"]
    first_secret = signed.secret
    for n, secret in enumerate([signed.secret, new_secret]):
        signed.secret = secret
        assert deliver(client, signed, myntra_order(f"SEC-{n}", "SEC-SKU")).status_code == 200
    bad_key = deliver(client, keyed, {"x": 1}, raw=b"{}")
    assert bad_key.status_code in {200, 401}
    api_headers = {"Authorization": f"Bearer {api_token}"}
    secrets = [first_secret, new_secret, keyed.secret, session_token, api_token, PASSWORD]
    later = [
        client.get("/stores", headers=api_headers).text,
        client.get(f"/stores/{signed.id}", headers=api_headers).text,
        client.get(f"/stores/{keyed.id}", headers=api_headers).text,
        client.get("/integrations/deliveries", headers=api_headers).text,
        client.get("/auth/api-tokens", headers=api_headers).text,
        client.get("/audit-logs", headers=admin(db)).text,
    ]
    logged = "\n".join(
        f"{record.getMessage()} {record.args!r} {record.exc_text}" for record in caplog.records
    )
    for secret in secrets:
        assert secret not in logged
        for text in later:
            assert secret not in text
