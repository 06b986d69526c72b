"""The webhook endpoint's direct ASGI path answers exactly as the routed endpoint would."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from resight.audit.models import AuditLog
from resight.integrations import webhook_asgi
from resight.middleware import SECURITY_HEADERS
from tests.integrations.support import amazon_example, create_store, encode, signed_headers

MFN = amazon_example("ListingsItemMfnQuantityChange.json")


@pytest.fixture
def direct_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths the direct ASGI path handled (the rest went through the router)."""
    calls: list[str] = []
    handle = webhook_asgi.WebhookFastPath._handle

    async def spy(self: webhook_asgi.WebhookFastPath, scope: dict[str, object], *args: object) -> None:
        calls.append(str(scope["path"]))
        await handle(self, scope, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(webhook_asgi.WebhookFastPath, "_handle", spy)
    return calls


def test_direct_and_routed_answers_are_the_same(
    client: TestClient, db: Session, direct_calls: list[str]
) -> None:
    store = create_store(client, db)
    answers = {}
    # An extra query parameter is left to FastAPI (which ignores it): the routed endpoint answers.
    for path in (store.path, store.path + "&via=router"):
        raw = encode(MFN)
        answers[path] = client.post(path, content=raw, headers=signed_headers(store.secret, raw))
    assert direct_calls == ["/integrations/amazon/webhook"]
    direct, routed = answers.values()
    assert direct.status_code == routed.status_code == 200
    assert direct.json().keys() == routed.json().keys()
    assert direct.json()["status"] == "processed"
    assert routed.json()["status"] == "processed"
    for response in (direct, routed):
        assert response.headers["content-type"] == "application/json"
        assert len(response.headers["x-request-id"]) == 32
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value


def test_refusals_use_the_applications_error_handlers(
    client: TestClient, db: Session, direct_calls: list[str]
) -> None:
    store = create_store(client, db)
    raw = encode(MFN)
    forged = signed_headers("whsec_" + "A" * 43 + "=", raw)
    response = client.post(store.path, content=raw, headers={**forged, "X-Request-ID": "req-401"})
    assert response.status_code == 401
    assert response.json() == {"detail": "invalid webhook signature"}
    assert response.headers["www-authenticate"] == 'Webhook realm="resight"'
    assert response.headers["x-request-id"] == "req-401"
    assert response.headers["x-frame-options"] == "DENY"
    missing = client.post("/integrations/myntra/webhook?store=999999", content=raw, headers=forged)
    assert missing.status_code == 401
    assert direct_calls == ["/integrations/amazon/webhook", "/integrations/myntra/webhook"]


def test_what_fastapi_would_refuse_goes_to_the_router(
    client: TestClient, db: Session, direct_calls: list[str]
) -> None:
    store = create_store(client, db)
    raw = encode(MFN)
    headers = signed_headers(store.secret, raw)
    bad_store = client.post("/integrations/amazon/webhook?store=abc", content=raw, headers=headers)
    assert bad_store.status_code == 422
    assert bad_store.json()["detail"][0]["loc"] == ["query", "store"]
    assert client.post("/integrations/ebay/webhook", content=raw, headers=headers).status_code == 422
    assert client.get(store.path).status_code == 405
    assert direct_calls == []


def test_the_request_id_reaches_the_delivery_audit_row(client: TestClient, db: Session) -> None:
    store = create_store(client, db)
    raw = encode(MFN)
    headers = {**signed_headers(store.secret, raw, msg_id="msg_audited"), "X-Request-ID": "req-audit"}
    response = client.post(store.path, content=raw, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["x-request-id"] == "req-audit"
    db.expire_all()
    entry = db.scalars(select(AuditLog).where(AuditLog.entity_type == "webhook_delivery")).one()
    assert entry.request_id == "req-audit"
    assert entry.new_value is not None
    assert entry.new_value["delivery_id"] == "msg_audited"
