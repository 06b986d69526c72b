"""SQL and script injection in product titles (through a signed webhook) and rule reasons (through
POST /rules): stored verbatim, round-trip exactly as JSON, change nothing else; the dashboard's
policy forbids inline script, so a title that reaches the page stays text."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from resight.catalog.models import Product
from resight.users.models import Role, User
from tests.factories import headers_for, make_product
from tests.integrations.support import create_store, deliver

HOSTILE = [
    "'); DROP TABLE products; --",
    "Robert'); DELETE FROM users WHERE ('1'='1",
    "1 OR 1=1; UPDATE products SET price_paise = 0 --",
    '" OR ""="',
    "<img src=x onerror=alert(1)>",
    "<script>alert(document.cookie)</script>",
    "</title><svg/onload=alert(1)>",
    "javascript:alert(1)",
    "{{7*7}} ${7*7} %s %n",
    "\u202eevil\u202c 🧨 \\x00 \\' \\\"",
]


@pytest.mark.parametrize("title", HOSTILE)
def test_title_from_a_webhook_is_stored_verbatim(title: str, client: TestClient, db: Session) -> None:
    store = create_store(client, db, "myntra")
    users = db.scalar(select(func.count()).select_from(User))
    message = {
        "event_type": "catalog",
        "event_time": "2026-11-28T10:15:00+05:30",
        "seller_sku_code": "INJ-1",
        "style_name": title,
        "brand": title[:50],
        "mrp": "1999",
        "selling_price": "1299",
    }
    assert deliver(client, store, message).json()["status"] == "processed"
    viewer = headers_for(db, Role.viewer)
    listed = client.get("/products", params={"store": store.id}, headers=viewer)
    assert listed.status_code == 200
    assert listed.headers["content-type"] == "application/json"
    assert listed.headers["x-content-type-options"] == "nosniff"
    (product,) = [p for p in listed.json()["items"] if p["sku"] == "INJ-1"]
    assert product["title"] == title
    assert product["brand"] == title[:50]
    assert client.get(f"/products/{product['id']}", headers=viewer).json()["title"] == title
    # No SQL effect: the other tables and prices are as they were.
    db.expire_all()
    stored = db.scalars(select(Product).where(Product.store_id == store.id)).one()
    assert (stored.title, stored.price_paise, stored.mrp_paise) == (title, 129_900, 199_900)
    assert db.scalar(select(func.count()).select_from(User)) == users + 1  # the viewer just made


@pytest.mark.parametrize("reason", HOSTILE)
def test_rule_reason_is_stored_verbatim(reason: str, client: TestClient, db: Session) -> None:
    product = make_product(db)
    merch = headers_for(db, Role.merchandiser)
    created = client.post(
        "/rules",
        json={"kind": "boost", "scope_value": str(product.id), "strength": 0.5, "reason": reason},
        headers=merch,
    )
    assert created.status_code == 201, created.text
    assert created.json()["reason"] == reason
    fetched = client.get(f"/rules/{created.json()['id']}", headers=merch)
    assert fetched.headers["content-type"] == "application/json"
    assert fetched.json()["reason"] == reason


def test_dashboard_policy_forbids_inline_script(client: TestClient) -> None:
    page = client.get("/app/")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval'
    assert directives["object-src"] == "'none'"
    assert "unsafe" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
