"""Live updates: many WebSocket clients on one API process, freshness of `kpis`, memory per client."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import math
import os
import re
import resource
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
from standardwebhooks import Webhook
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.common import process_usage, started_server
from resight.audit.service import SYSTEM
from resight.db import make_engine, make_session_factory, transaction
from resight.migrations import runner
from resight.users.models import Role, TokenKind
from resight.users.service import create_user, issue_token

TITLE = "Live updates: WebSocket clients on one process"
CONNECT_BATCH = 100
ORDERS = re.compile(r'"orders":\{"value":(\d+)')


def _raise_fd_limit(needed: int) -> int:
    """Clients and server each hold one descriptor per connection; children inherit the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def _seed(database_url: str) -> str:
    engine = make_engine(database_url)
    runner.upgrade(engine)
    with transaction(make_session_factory(engine)) as session:
        user = create_user(session, SYSTEM, "bench-admin", "bench-password", Role.admin)
        _row, token = issue_token(session, user, kind=TokenKind.api, name="bench", lifetime=None)
    engine.dispose()
    return token


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS line")


def _signed_order(secret: str, line: str) -> tuple[bytes, dict[str, str]]:
    now = dt.datetime.now(dt.UTC)
    body = json.dumps(
        {
            "event_type": "order",
            "event_time": now.isoformat(),
            "order_id": f"O-{line}",
            "order_line_id": line,
            "seller_sku_code": "BENCH-KURTA-M",
            "order_status": "CREATED",
            "quantity": 1,
            "final_amount": 1299,
            "created_on": now.isoformat(),
        }
    ).encode()
    message_id = f"msg_{secrets.token_hex(8)}"
    headers = {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, now, body.decode()),
        "content-type": "application/json",
    }
    return body, headers


class Listener:
    """One client: when it first saw each value of today's order count in a `kpis` message."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.orders_seen_at: dict[int, float] = {}
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in self.ws:
                if '"type":"kpis"' in raw[:20]:
                    # A regex, not json.loads: 1,000 clients share this process's CPU with the server.
                    found = ORDERS.search(raw)
                    if found is not None:
                        self.orders_seen_at.setdefault(int(found.group(1)), time.perf_counter())


async def _open(url: str) -> ClientConnection:
    ws = await connect(url, open_timeout=60, ping_interval=None, max_size=2**22)
    snapshot = json.loads(await ws.recv())
    assert snapshot["type"] == "snapshot", snapshot["type"]
    return ws


@dataclass(frozen=True)
class Result:
    connect_s: float
    rss_before_kib: int
    rss_after_kib: int
    per_client_kib: float
    received: int
    missed: int  # not within the 1.5 s window after its delivery
    late: int  # of those, arrived within 2 s more (slow, not lost)
    median_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    first_ms: list[int]
    spread_ms: list[int]


async def _measure(base: str, pid: int, token: str, clients: int, deliveries: int) -> Result:
    url = base.replace("http://", "ws://") + f"/ws?token={token}"
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        created = await http.post(
            "/stores", json={"platform": "myntra", "name": "bench", "auth": "signature"}, headers=headers
        )
        created.raise_for_status()
        store_id, secret = created.json()["store"]["id"], created.json()["webhook_secret"]

        warm = await _open(url)  # warm every code path before the baseline reading
        await warm.close()
        await asyncio.sleep(0.5)
        rss_before = _rss_kib(pid)

        started = time.perf_counter()
        sockets: list[ClientConnection] = []
        for first in range(0, clients, CONNECT_BATCH):
            batch = min(CONNECT_BATCH, clients - first)
            sockets += await asyncio.gather(*(_open(url) for _ in range(batch)))
        connect_seconds = time.perf_counter() - started
        await asyncio.sleep(1.0)
        rss_after = _rss_kib(pid)
        listeners = [Listener(ws) for ws in sockets]

        latencies: list[float] = []
        first_client: list[float] = []  # per delivery: ingestion + KPI query + first send
        spread: list[float] = []  # per delivery: last client minus first (the fan-out)
        missed = 0
        for n in range(deliveries):
            body, signed = _signed_order(secret, f"bench-line-{n}-{secrets.token_hex(3)}")
            sent = time.perf_counter()
            response = await http.post(
                f"/integrations/myntra/webhook?store={store_id}", content=body, headers=signed
            )
            response.raise_for_status()
            await asyncio.sleep(1.5)  # past the debounce, so each delivery gets its own push
            arrivals = []
            for listener in listeners:  # the push for delivery n says n + 1 orders today
                arrived = listener.orders_seen_at.get(n + 1)
                if arrived is None:
                    missed += 1
                else:
                    arrivals.append(arrived - sent)
            latencies += arrivals
            if arrivals:
                first_client.append(min(arrivals))
                spread.append(max(arrivals) - min(arrivals))
        await asyncio.sleep(2.0)
        late = sum(1 for listener in listeners for n in range(deliveries) if n + 1 in listener.orders_seen_at)
        late -= len(latencies)
        for ws in sockets:
            await ws.close()
        for listener in listeners:
            listener.task.cancel()
    # A push not seen within the window counts as infinitely late: the percentiles stay honest.
    ordered = sorted(latencies + [math.inf] * missed) or [math.nan]

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000

    return Result(
        connect_s=connect_seconds,
        rss_before_kib=rss_before,
        rss_after_kib=rss_after,
        per_client_kib=(rss_after - rss_before) / clients,
        received=len(latencies),
        missed=missed,
        late=late,
        median_ms=statistics.median(ordered) * 1000,
        p95_ms=pct(0.95),
        p99_ms=pct(0.99),
        max_ms=ordered[-1] * 1000,
        first_ms=[round(x * 1000) for x in first_client],
        spread_ms=[round(x * 1000) for x in spread],
    )


def run(quick: bool) -> str:
    clients, deliveries = (20, 3) if quick else (1000, 10)
    fd_limit = _raise_fd_limit(2 * clients + 512)
    with tempfile.TemporaryDirectory() as tmp:
        database_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        token = _seed(database_url)
        env = {"RESIGHT_SECRET_KEY_FILE": str(Path(tmp) / "key")}
        with started_server(database_url, env=env, start_timeout=120) as server:
            result = asyncio.run(_measure(server.base, server.process.pid, token, clients, deliveries))
            peak_kib = process_usage(server.process.pid).peak_rss_kib
    verdict = "met" if result.p95_ms <= 1000 else "NOT met"
    return "\n".join(
        [
            f"{clients:,} concurrent WebSocket clients (the `websockets` library, in one client process) on "
            "one `resight serve` process (one uvicorn worker, SQLite, in-process hub); "
            f"{deliveries} signed Myntra order deliveries, 1.5 s apart. Latency: from just before the "
            "webhook POST until each client has the `kpis` message for it (so it includes the "
            "webhook's own processing, the KPI query, the fan-out, and the client process's own "
            "scheduling on the same cores). Memory: the server's VmRSS (/proc/<pid>/status) after "
            f"the clients connected minus before, divided by the clients. File-descriptor limit: {fd_limit}.",
            "",
            "| clients | received in 1.5 s | later | lost | median ms | p95 ms | p99 ms | max ms |",
            "|---|---|---|---|---|---|---|---|",
            f"| {clients:,} | {result.received:,} | {result.late} | {result.missed - result.late} "
            f"| {result.median_ms:.0f} "
            f"| {result.p95_ms:.0f} | {result.p99_ms:.0f} | {result.max_ms:.0f} |",
            "",
            f"- Goal p95 ≤ 1,000 ms (pushes not seen within 1.5 s count as infinite): **{verdict}**.",
            f"- Per delivery, first client served after (ms): {result.first_ms}; "
            f"last minus first client (the fan-out, ms): {result.spread_ms}.",
            f"- Connecting {clients:,} clients (token check and snapshot each): {result.connect_s:.1f} s.",
            f"- Server RSS {result.rss_before_kib / 1024:.1f} MiB → {result.rss_after_kib / 1024:.1f} MiB: "
            f"**{result.per_client_kib:.1f} KiB per client** "
            "(permessage-deflate off, as `resight serve` runs); "
            f"the server's peak RSS over the whole run (VmHWM): {peak_kib / 1024:.1f} MiB.",
            f"- Machine load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.",
        ]
    )


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))  # noqa: T201
