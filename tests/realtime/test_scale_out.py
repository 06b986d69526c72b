"""Two API processes, the scorer (and a standby), PostgreSQL and Redis: a delivery to A reaches a
WebSocket on B, and so does the ranking of each cycle of the one scorer."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import text
from websockets.asyncio.client import ClientConnection, connect

from resight.audit.service import SYSTEM
from resight.db import make_engine, make_session_factory, transaction
from resight.migrations import runner
from resight.ml.training import train_and_register
from resight.users.models import Role, TokenKind
from resight.users.service import create_user, issue_token
from tests.ml.world import SMALL, build_world
from tests.realtime.processes import (
    REDIS_URL,
    processes,
    scratch_postgres,
    services_available,
    signed_myntra_order,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not services_available(), reason="needs PostgreSQL and Redis"),
]


def _admin_token_and_model(database_url: str, models_dir: Path) -> tuple[str, str]:
    """An admin's API token, and the version of a serving model (so that the scorer scores)."""
    engine = make_engine(database_url)
    runner.upgrade(engine)
    with transaction(make_session_factory(engine)) as session:
        user = create_user(session, SYSTEM, "ops", "ops-password-1", Role.admin)
        _row, token = issue_token(session, user, kind=TokenKind.api, name="scale-out test", lifetime=None)
        world = build_world(session)
        model = train_and_register(session, models_dir, config=SMALL, until=world.end).model
    engine.dispose()
    return token, model.version


def _scorer_locks_held(database_url: str) -> int:
    """Advisory locks granted in this database: the scorer lock (ml/lock.py) is the only one."""
    engine = make_engine(database_url)
    with engine.connect() as connection:
        held = connection.execute(
            text(
                "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
                " WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()"
            )
        ).scalar_one()
    engine.dispose()
    return int(held)


async def _next_of(ws: ClientConnection, kind: str, timeout: float) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            message: dict[str, Any] = json.loads(await ws.recv())
            if message["type"] == kind:
                return message


def test_a_delivery_to_process_a_reaches_a_websocket_on_process_b(tmp_path: Path) -> None:
    with scratch_postgres() as database_url:
        token, model_version = _admin_token_and_model(database_url, tmp_path)
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": REDIS_URL,
            "RESIGHT_MODELS_DIR": str(tmp_path),
            "RESIGHT_SECRET_KEY": "scale-out-test-key-" + "k" * 32,  # shared: it encrypts store secrets
            "RESIGHT_LOG_LEVEL": "warning",
            "RESIGHT_SCORING_INTERVAL_SECONDS": "1",
            "RESIGHT_SCORING_ENABLED": "false",  # for the API processes; `resight worker` scores
        }
        # Two `resight worker`: one scores, the other stands by (the scorer lock).
        with processes(env, api=2, workers=2) as (process_a, process_b, scorer, standby):
            headers = {"Authorization": f"Bearer {token}"}
            store = httpx.post(
                f"{process_a.base}/stores",
                json={"platform": "myntra", "name": "Rangeen", "auth": "signature"},
                headers=headers,
                timeout=10,
            )
            assert store.status_code == 201, store.text
            store_id, secret = store.json()["store"]["id"], store.json()["webhook_secret"]

            async def scenario() -> None:
                async with connect(f"ws://127.0.0.1:{process_b.port}/ws?token={token}") as ws:
                    snapshot = await _next_of(ws, "snapshot", 5)
                    orders_before = snapshot["data"]["kpis"]["orders"]["value"]
                    for n in range(3):
                        body, signed = signed_myntra_order(secret, "RGN-KRT-0042-M", f"line-{n}")
                        sent = time.monotonic()
                        response = await asyncio.to_thread(
                            httpx.post,
                            f"{process_a.base}/integrations/myntra/webhook?store={store_id}",
                            content=body,
                            headers=signed,
                            timeout=10,
                        )
                        assert response.status_code in (200, 202), response.text
                        kpis = await _next_of(ws, "kpis", 5)
                        assert time.monotonic() - sent < 1.0
                        assert kpis["data"]["orders"]["value"] == orders_before + n + 1
                    # The scorer's cycles (every second here) reach B through Redis as well.
                    ranking = (await _next_of(ws, "ranking", 30))["data"]
                    assert ranking["model_version"] == model_version
                    assert len(ranking["top"]) == 20

            asyncio.run(scenario())
            assert scorer.popen.poll() is None, "the scorer (resight worker) died"
            assert standby.popen.poll() is None, "the standby scorer (resight worker) died"
            assert _scorer_locks_held(database_url) == 1  # exactly one of the two workers scores
