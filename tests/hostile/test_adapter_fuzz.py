"""Malformed deliveries through the real signed webhook endpoints of every marketplace adapter:
each answers 4xx or is stored as quarantined (or ignored), never a 5xx, and never leaves a
half-written product, history row or event behind."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from tests.hostile.fuzz_support import examples, json_values, paths, raw_signed, replaced, snapshot
from tests.integrations.support import StoreHandle, create_store, deliver

PLATFORMS = ["amazon", "myntra", "meesho"]
FUZZ = settings(
    max_examples=25, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
)


def _check(client: TestClient, db: Session, store: StoreHandle, raw: bytes) -> int:
    """Send `raw` signed; unless it was processed, nothing the store's data holds may change."""
    before = snapshot(db)
    try:
        raw.decode()
    except UnicodeDecodeError:  # the standardwebhooks package signs text only; same HMAC, our signer
        response = client.post(store.path, content=raw, headers=raw_signed(store.secret, raw))
    else:
        response = deliver(client, store, None, raw=raw)
    assert response.status_code < 500, response.text
    status = response.json()["status"] if response.status_code == 200 else None
    if status != "processed":
        db.expire_all()
        assert snapshot(db) == before, f"{response.status_code} {status}: tables changed"
    if 200 <= response.status_code < 300:
        assert status in {"processed", "quarantined", "ignored", "duplicate"}
    return response.status_code


@pytest.mark.parametrize("platform", PLATFORMS)
def test_mutated_examples_never_fail_the_server(platform: str, client: TestClient, db: Session) -> None:
    store = create_store(client, db, platform)
    documents = examples(platform)
    places = [(i, path) for i, document in enumerate(documents) for path in paths(document)]

    @FUZZ
    @given(place=st.sampled_from(places), value=json_values, batch=st.booleans())
    def run(place: tuple[int, tuple[Any, ...]], value: Any, batch: bool) -> None:
        index, path = place
        body = replaced(documents[index], path, value)
        if batch:
            body = {"batch": [documents[(index + 1) % len(documents)], body]}
        _check(client, db, store, json.dumps(body).encode())

    run()


@pytest.mark.parametrize("platform", PLATFORMS)
def test_arbitrary_json_never_fails_the_server(platform: str, client: TestClient, db: Session) -> None:
    store = create_store(client, db, platform)

    @FUZZ
    @given(body=json_values)
    def run(body: Any) -> None:
        _check(client, db, store, json.dumps(body).encode())

    run()


DEPTH = 100_000
RAW_HOSTILE: dict[str, bytes] = {
    "deeply nested arrays": b"[" * DEPTH + b"]" * DEPTH,
    "deeply nested objects": b'{"a":' * DEPTH + b"1" + b"}" * DEPTH,
    "deep nesting in a batch": b'{"batch": [' + b"[" * DEPTH + b"]" * DEPTH + b"]}",
    "NaN literal": b'{"event_type": "price", "seller_sku_code": "S", "selling_price": NaN}',
    "Infinity literal": b'{"event_type": "inventory", "seller_sku_code": "S", "inventory_count": Infinity}',
    "huge exponent": b'{"event_type": "price", "seller_sku_code": "S", "selling_price": 1e400}',
    "5000-digit integer": b'{"event_type": "inventory", "seller_sku_code": "S", "inventory_count": '
    + b"9" * 5000
    + b"}",
    "lone surrogate": b'{"event_type": "catalog", "seller_sku_code": "\\ud800", "style_name": "\\udfff"}',
    "NUL in a key and a value": b'{"event_type\\u0000": 1, "seller_sku_code": "a\\u0000b"}',
    "invalid UTF-8": b'{"seller_sku_code": "\xff\xfe"}',
    "not JSON": b"<xml/>",
    "empty body": b"",
    "JSON scalar": b"42",
    "empty batch": b'{"batch": []}',
    "batch of nulls": b'{"batch": [null, null]}',
}


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("name", sorted(RAW_HOSTILE))
def test_hostile_bodies_are_refused_or_quarantined(
    platform: str, name: str, client: TestClient, db: Session
) -> None:
    store = create_store(client, db, platform)
    assert _check(client, db, store, RAW_HOSTILE[name]) in {200, 400, 413, 422}


def test_oversized_body_is_413(client: TestClient, db: Session) -> None:
    store = create_store(client, db, "myntra")
    limit = client.app.state.settings.max_body_bytes  # type: ignore[attr-defined]
    raw = json.dumps({"batch": ["x" * 1000] * (limit // 1000 + 1)}).encode()
    assert _check(client, db, store, raw) == 413
