"""Real `resight` processes for scale-out tests: a PostgreSQL database of their own, signed deliveries."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from bench.common import ROOT, free_port, stop_process, wait_until_serving
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from standardwebhooks import Webhook

from tests.conftest import _create_postgres_database, _drop_postgres_database

POSTGRES_URL = os.environ.get(
    "RESIGHT_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("RESIGHT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def services_available() -> bool:
    import redis

    try:
        engine = create_engine(make_url(POSTGRES_URL).set(drivername="postgresql+psycopg"))
        with engine.connect():
            pass
        engine.dispose()
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except (OperationalError, redis.exceptions.ConnectionError, OSError):
        return False


@contextmanager
def scratch_postgres() -> Iterator[str]:
    """A database created for one test and dropped after it."""
    url, name = _create_postgres_database(POSTGRES_URL)
    try:
        yield url
    finally:
        _drop_postgres_database(POSTGRES_URL, name)


class Process:
    def __init__(self, args: list[str], env: dict[str, str], port: int | None = None) -> None:
        self.port = port
        self.popen = subprocess.Popen([sys.executable, "-m", "resight", *args], env=env, cwd=ROOT)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, deadline: float) -> None:
        wait_until_serving(self.base, self.popen, deadline)

    def stop(self) -> None:
        stop_process(self.popen, timeout=15)


@contextmanager
def processes(env: dict[str, str], *, api: int, workers: int) -> Iterator[list[Process]]:
    """`api` separate `resight serve` processes, each on its own port, then `workers` `resight worker`."""
    started: list[Process] = []
    try:
        for _ in range(api):
            port = free_port()
            started.append(Process(["serve", "--port", str(port)], env, port))
        for _ in range(workers):
            started.append(Process(["worker"], env))
        deadline = time.monotonic() + 180  # a bound for failure; a few seconds on a quiet machine
        for process in started:
            if process.port is not None:
                process.wait_ready(deadline)
        yield started
    finally:
        for process in started:
            process.stop()


def signed_myntra_order(secret: str, sku: str, line: str, rupees: int = 1299) -> tuple[bytes, dict[str, str]]:
    now = dt.datetime.now(dt.UTC)
    body = json.dumps(
        {
            "event_type": "order",
            "event_time": now.isoformat(),
            "order_id": f"O-{line}",
            "order_line_id": line,
            "seller_sku_code": sku,
            "order_status": "CREATED",
            "quantity": 1,
            "final_amount": rupees,
            "created_on": now.isoformat(),
        }
    ).encode()
    message_id = f"msg_{secrets.token_hex(8)}"
    signature = Webhook(secret).sign(message_id, now, body.decode())
    headers = {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }
    return body, headers
