"""Real `resight serve` processes we can kill, an admin made in their database, signed deliveries."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx
from bench.common import ROOT, free_port, stop_process, wait_until_serving
from sqlalchemy import Engine
from standardwebhooks import Webhook

from resight.db import make_session_factory, transaction
from resight.users.models import Role, TokenKind, User
from resight.users.security import hash_password
from resight.users.service import issue_token

SECRET_KEY = "resilience-secret-key-" + "k" * 32


class Server:
    """One `resight serve` on a free port, its output kept in a file for the test to read."""

    def __init__(self, database_url: str, log_path: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        process_env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "RESIGHT_SECRET_KEY": SECRET_KEY,
            "RESIGHT_SCORING_ENABLED": "false",
            "RESIGHT_MODELS_DIR": str(log_path.parent / "models"),
            "RESIGHT_LOG_LEVEL": "info",
            **(env or {}),
        }
        process_env.pop("REDIS_URL", None)
        self._log = log_path.open("ab")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "resight", "serve", "--port", str(self.port)],
            env=process_env,
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 120.0) -> None:
        try:
            wait_until_serving(self.base, self.popen, time.monotonic() + timeout)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}:\n{self.output()}") from exc

    def kill9(self) -> None:
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        stop_process(self.popen)
        self._log.close()

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")


@contextmanager
def server(database_url: str, log_path: Path, env: dict[str, str] | None = None) -> Iterator[Server]:
    running = Server(database_url, log_path, env)
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()


def make_admin_token(engine: Engine, password: str = "correct-horse-battery") -> tuple[str, str]:
    """An admin user (unique name) and a session token for it, committed; returns (username, token)."""
    factory = make_session_factory(engine)
    username = f"admin_{secrets.token_hex(4)}"
    with transaction(factory) as session:
        user = User(username=username, password_hash=hash_password(password), role=Role.admin, is_active=True)
        session.add(user)
        session.flush()
        _row, token = issue_token(
            session, user, kind=TokenKind.session, name="resilience", lifetime=dt.timedelta(hours=1)
        )
    return username, token


def create_store(client: httpx.Client, token: str, platform: str, name: str) -> tuple[int, str]:
    response = client.post(
        "/stores",
        json={"platform": platform, "name": name, "auth": "signature"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return int(body["store"]["id"]), str(body["webhook_secret"])


def myntra_order(line: str, sku: str) -> dict[str, Any]:
    at = "2026-11-28T14:02:11+05:30"
    return {
        "event_type": "order",
        "event_time": at,
        "order_id": f"O-{line}",
        "order_line_id": line,
        "seller_sku_code": sku,
        "style_name": f"Kurta {sku}",
        "order_status": "CREATED",
        "quantity": 1,
        "final_amount": "1299.00",
        "created_on": at,
    }


def signed(secret: str, msg_id: str, body: Any) -> tuple[bytes, dict[str, str]]:
    """The body and its Standard Webhooks headers, signed now by the `standardwebhooks` package."""
    raw = json.dumps(body).encode()
    now = dt.datetime.now(dt.UTC)
    return raw, {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, now, raw.decode()),
        "content-type": "application/json",
    }
