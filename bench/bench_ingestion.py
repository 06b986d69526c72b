"""Webhook ingestion through a real uvicorn (one worker) on SQLite: signed single deliveries per
second, each committed before its 2xx, and events per second through the batch form."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.common import process_usage, started_server, stats
from resight.audit.service import SYSTEM
from resight.catalog import stores
from resight.catalog.models import Platform
from resight.db import make_engine, make_session_factory, transaction
from resight.integrations.signatures import fernet_for, key_of, sign
from resight.migrations import runner

TITLE = "Ingestion: signed webhook deliveries"
SECRET_KEY = "bench-secret-key-" + "k" * 32
CONNECTIONS = 32


def _seed(database_url: str) -> tuple[int, str]:
    engine = make_engine(database_url)
    runner.upgrade(engine)
    with transaction(make_session_factory(engine)) as session:
        store, secret = stores.create_store(
            session,
            SYSTEM,
            fernet_for(SECRET_KEY),
            platform=Platform.amazon,
            name="bench",
            seller_id="A1BENCH",
        )
    engine.dispose()
    return store.id, secret


def _notification(i: int, skus: int) -> dict[str, Any]:
    at = (dt.datetime(2026, 11, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=i)).isoformat()
    sku = f"SKU-{i % skus}"
    kind = i % 3
    if kind == 0:
        return {
            "NotificationType": "LISTINGS_ITEM_MFN_QUANTITY_CHANGE",
            "EventTime": at,
            "Payload": {"SellerId": "A1BENCH", "Sku": sku, "Quantity": i % 40},
        }
    if kind == 1:
        return {
            "notificationType": "PRICING_HEALTH",
            "eventTime": at,
            "payload": {
                "offerChangeTrigger": {
                    "asin": f"B0{i % skus:08d}",
                    "itemCondition": "new",
                    "timeOfOfferChange": at,
                },
                "merchantOffer": {"listingPrice": {"amount": 499 + i % 50, "currencyCode": "INR"}},
                "summary": {"salesRankings": [{"productCategoryId": "apparel", "rank": 100 + i % 900}]},
            },
        }
    return {
        "NotificationType": "ORDER_CHANGE",
        "EventTime": at,
        "Payload": {
            "OrderChangeNotification": {
                "AmazonOrderId": f"403-{i:07d}",
                "Summary": {
                    "OrderStatus": "Unshipped",
                    "PurchaseDate": at,
                    "OrderItems": [{"OrderItemId": f"OI{i}", "SellerSKU": sku, "Quantity": 1 + i % 3}],
                },
            }
        },
    }


def _traffic(k: int, asins: int, buckets: int) -> dict[str, Any]:
    """An hourly traffic or sales notification carrying many ASINs, as Amazon sends them."""
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC) + dt.timedelta(hours=k)
    window = {"startTime": start.isoformat(), "endTime": (start + dt.timedelta(hours=1)).isoformat()}
    if k % 2:
        changes = [
            {
                **window,
                "asin": f"B0{(k * buckets + i) % asins:08d}",
                "orderedUnits": 1 + i % 4,
                "orderedRevenue": 499.5,
            }
            for i in range(buckets)
        ]
        return {
            "notificationType": "ITEM_SALES_EVENT_CHANGE",
            "eventTime": window["endTime"],
            "payload": {"itemSalesEventChanges": changes},
        }
    events = [
        {**window, "asin": f"B0{(k * buckets + i) % asins:08d}", "glanceViews": 1 + i % 90}
        for i in range(buckets)
    ]
    return {
        "notificationType": "DETAIL_PAGE_TRAFFIC_EVENT",
        "eventTime": window["endTime"],
        "payload": {"detailPageTrafficEvents": events},
    }


def _request(port: int, path: str, key: bytes, body: bytes) -> bytes:
    msg_id = "msg_" + uuid.uuid4().hex
    timestamp = int(time.time())
    head = (
        f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nwebhook-id: {msg_id}\r\nwebhook-timestamp: {timestamp}\r\n"
        f"webhook-signature: {sign(key, msg_id, timestamp, body)}\r\n\r\n"
    )
    return head.encode() + body


async def _send_all(port: int, requests: list[bytes], connections: int) -> tuple[list[float], float]:
    """A minimal keep-alive HTTP/1.1 client, so the client costs little of the shared CPU."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)
    latencies: list[float] = []

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while not queue.empty():
                request = queue.get_nowait()
                started = time.perf_counter()
                writer.write(request)
                status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode().partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                if b" 200 " not in status_line or b'"processed"' not in body:
                    raise RuntimeError(f"delivery failed: {status_line!r} {body[:300]!r}")
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(connections, len(requests)))))
    return latencies, time.perf_counter() - started


def run(quick: bool) -> str:
    singles, batches, batch_size, skus = (300, 2, 1000, 200) if quick else (20_000, 20, 5_000, 2_000)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        store_id, secret = _seed(url)
        key = key_of(secret)
        env = {"RESIGHT_SECRET_KEY": SECRET_KEY, "RESIGHT_SECRET_KEY_FILE": str(Path(tmp) / "key")}
        with started_server(url, env=env) as server:
            port = int(server.base.rsplit(":", 1)[1])

            def server_cpu() -> float:
                return process_usage(server.process.pid).cpu_seconds

            path = f"/integrations/amazon/webhook?store={store_id}"
            # Warm-up: creates the products, loads the credential cache.
            warm = [
                _request(port, path, key, json.dumps(_notification(i, skus)).encode()) for i in range(skus)
            ]
            asyncio.run(_send_all(port, warm, CONNECTIONS))

            single_requests = [
                _request(port, path, key, json.dumps(_notification(skus + i, skus)).encode())
                for i in range(singles)
            ]
            cpu = server_cpu()
            single_latencies, single_seconds = asyncio.run(_send_all(port, single_requests, CONNECTIONS))
            single_cpu, cpu = server_cpu() - cpu, server_cpu()

            mixed = []
            for b in range(batches):
                offset = 10 * skus + b * batch_size
                items = [_notification(offset + i, skus) for i in range(batch_size)]
                mixed.append(_request(port, path, key, json.dumps({"batch": items}).encode()))
            cpu = server_cpu()
            mixed_latencies, mixed_seconds = asyncio.run(_send_all(port, mixed, 2))
            mixed_cpu = server_cpu() - cpu

            per_notification = 250
            hourly = []
            for b in range(batches):
                items = [
                    _traffic(b * 1000 + i, skus, per_notification)
                    for i in range(batch_size // per_notification)
                ]
                hourly.append(_request(port, path, key, json.dumps({"batch": items}).encode()))
            cpu = server_cpu()
            hourly_latencies, hourly_seconds = asyncio.run(_send_all(port, hourly, 2))
            hourly_cpu = server_cpu() - cpu

    lines = [
        f"One Amazon store, {skus:,} SKUs already known. Every request is signed (Standard Webhooks), "
        "stored in the inbox, applied (products, history, events, hourly rollups), audited and "
        "committed before its 200. Real uvicorn, one worker, SQLite (WAL, synchronous=FULL: on disk "
        "before the 200); the client (asyncio, raw HTTP/1.1 keep-alive) runs on the same machine.",
        "",
        "- single: one notification per request (a third each stock change, pricing, order), "
        f"{CONNECTIONS} concurrent connections;",
        f"- batch, mixed: {batch_size:,} such notifications per request, each one record "
        "(a stock or price update, or an order event), 2 connections;",
        f"- batch, hourly: {batch_size // per_notification} hourly traffic and sales notifications "
        f"per request, {per_notification} ASINs each ({batch_size:,} view/order events), 2 connections.",
        "",
        "Wall-clock rates depend on what else the machine runs (load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores during this run), so the server's own CPU "
        "time per delivery or event is given too, with the rate one dedicated core would sustain.",
        "",
        "| measurement | goal | wall-clock rate | server CPU per item | rate per CPU-second |",
        "|---|---|---|---|---|",
        _rate_row("single deliveries", "≥ 1,500/s", singles, single_seconds, single_cpu),
        _rate_row("events, batch form, mixed", "≥ 50,000/s", batches * batch_size, mixed_seconds, mixed_cpu),
        _rate_row(
            "events, batch form, hourly", "≥ 50,000/s", batches * batch_size, hourly_seconds, hourly_cpu
        ),
        "",
        "| request | n | median ms | p99 ms |",
        "|---|---|---|---|",
        stats(single_latencies).row("single delivery"),
        stats(mixed_latencies).row(f"batch, mixed ({batch_size:,} records)"),
        stats(hourly_latencies).row(f"batch, hourly ({batch_size:,} events)"),
    ]
    return "\n".join(lines)


def _rate_row(name: str, goal: str, count: int, seconds: float, cpu_seconds: float) -> str:
    per_item_ms = cpu_seconds / count * 1000
    per_cpu_second = count / cpu_seconds if cpu_seconds else float("inf")
    return f"| {name} | {goal} | {count / seconds:,.0f}/s | {per_item_ms:.3f} ms | {per_cpu_second:,.0f}/s |"
