"""The database goes away under a running server (PostgreSQL through a TCP proxy we can cut)."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url

from resight.events.models import Event
from resight.integrations.models import WebhookDelivery
from tests.resilience.support import create_store, make_admin_token, myntra_order, server, signed
from tests.resilience.tcp_proxy import tcp_proxy

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("RESIGHT_TEST_DATABASE_URL"),
        reason="needs a database reached over the network (runs in the PostgreSQL pass)",
    ),
]


def _wait_for(check: object, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError("condition not reached in time")


def test_health_degrades_then_recovers_by_itself(engine: Engine, database_url: str, tmp_path: Path) -> None:
    url = make_url(database_url)
    with tcp_proxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        with (
            server(proxied, tmp_path / "server.log") as running,
            httpx.Client(base_url=running.base, timeout=10) as client,
        ):
            assert client.get("/").json()["database"] == "ok"
            proxy.cut()
            down = client.get("/")
            assert down.status_code == 503
            assert down.headers["retry-after"]
            assert down.json()["database"] == "unavailable"
            proxy.restore()
            _wait_for(lambda: client.get("/").status_code == 200)


def _inbox_ids(engine: Engine, store_id: int) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.scalars(select(WebhookDelivery.delivery_id).where(WebhookDelivery.store_id == store_id))
        )


def _order_events(engine: Engine, store_id: int) -> int:
    with engine.connect() as conn:
        count = conn.scalar(select(func.count()).select_from(Event).where(Event.store_id == store_id))
    return int(count or 0)


def test_webhooks_answer_503_while_the_database_is_away_and_resume_by_themselves(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    url = make_url(database_url)
    _username, token = make_admin_token(engine)
    run = secrets.token_hex(4)
    with tcp_proxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        with (
            server(proxied, tmp_path / "server.log") as running,
            httpx.Client(base_url=running.base, timeout=30) as client,
        ):
            warm_id, warm_secret = create_store(client, token, "myntra", f"outage warm {run}")
            cold_id, cold_secret = create_store(client, token, "myntra", f"outage cold {run}")
            warm = f"/integrations/myntra/webhook?store={warm_id}"
            cold = f"/integrations/myntra/webhook?store={cold_id}"

            def send(path: str, secret: str, msg_id: str) -> httpx.Response:
                raw, headers = signed(secret, msg_id, myntra_order(msg_id, "OUTAGE-SKU"))
                return client.post(path, content=raw, headers=headers)

            # The warm store's credentials are cached; the cold store's must be read from the database.
            assert send(warm, warm_secret, f"{run}-before").json()["status"] == "processed"
            proxy.cut()
            for path, secret, msg_id in ((warm, warm_secret, f"{run}-w"), (cold, cold_secret, f"{run}-c")):
                refused = send(path, secret, msg_id)
                assert refused.status_code == 503, refused.text
                assert int(refused.headers["retry-after"]) > 0
                assert refused.json() == {"detail": "database unavailable, retry later"}
            listed = client.get("/products", headers={"Authorization": f"Bearer {token}"})
            assert listed.status_code == 503
            assert listed.headers["retry-after"]

            # Nothing half-written: no inbox row, no event (read directly, not through the proxy).
            assert _inbox_ids(engine, warm_id) == [f"{run}-before"]
            assert _inbox_ids(engine, cold_id) == []
            assert _order_events(engine, warm_id) == 1

            proxy.restore()
            _wait_for(lambda: client.get("/").status_code == 200)
            # The senders retry after Retry-After: each delivery is applied, once.
            assert send(warm, warm_secret, f"{run}-w").json()["status"] == "processed"
            assert send(cold, cold_secret, f"{run}-c").json()["status"] == "processed"
            assert send(warm, warm_secret, f"{run}-w").json()["status"] == "duplicate"
    assert sorted(_inbox_ids(engine, warm_id)) == sorted([f"{run}-before", f"{run}-w", f"{run}-w"])
    assert _order_events(engine, warm_id) == 2
    assert _order_events(engine, cold_id) == 1
