"""Every endpoint's minimum role, from one table: anonymous -> 401, a weaker role -> 403,
the minimum role -> past the guard (whatever the endpoint then says about the empty request)."""

from __future__ import annotations

import importlib

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from resight.users.models import ROLE_ORDER, Role
from tests.access import Access
from tests.factories import headers_for

DOMAINS = ["users", "catalog", "audit", "integrations", "events", "ml", "rules", "realtime"]
TABLE: list[Access] = [
    row for domain in DOMAINS for row in importlib.import_module(f"tests.{domain}.access").ACCESS
]
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def test_every_route_is_in_the_table(app: FastAPI) -> None:
    declared = {(row.method, row.path) for row in TABLE}
    routes = {(method.upper(), path) for path, item in app.openapi()["paths"].items() for method in item}
    assert routes - declared == set(), "add these endpoints to tests/<domain>/access.py"
    assert declared - routes == set(), "the table names endpoints the app does not have"


def test_no_state_changing_endpoint_is_open_to_viewers() -> None:
    for row in TABLE:
        if row.method in STATE_CHANGING and row.minimum is not None and not row.reads_only:
            assert row.minimum is not Role.viewer, row


@pytest.mark.parametrize(
    "row", [r for r in TABLE if r.minimum is not None], ids=lambda r: f"{r.method} {r.path}"
)
def test_minimum_role(row: Access, client: TestClient, db: Session) -> None:
    assert row.minimum is not None
    anonymous = client.request(row.method, row.url)
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.json()["detail"]
    for role in ROLE_ORDER:
        response = client.request(row.method, row.url, headers=headers_for(db, role), json={})
        if role.allows(row.minimum):
            assert response.status_code not in (401, 403), (role, response.text)
        else:
            assert response.status_code == 403, (role, response.text)
            assert row.minimum.value in response.json()["detail"]
