"""A client that stops reading, on a real uvicorn: dropped, while a reading client gets everything."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from resight.realtime.hub import Hub, Topic
from tests.realtime.conftest import serving, token_for

MESSAGES = 300
PADDING = "x" * 64 * 1024  # large messages fill the socket buffers of a client that does not read


async def _read_all(ws: ClientConnection) -> None:
    while True:
        await ws.recv()


@pytest.mark.slow
def test_a_stalled_client_is_disconnected_and_a_fast_one_keeps_receiving(app: FastAPI, db: Session) -> None:
    token = token_for(db)
    app.state.settings.ws_queue_size = 8
    app.state.settings.ws_heartbeat_seconds = 10  # also the send timeout: a busy CI must not trip it
    with serving(app) as base:
        hub: Hub = app.state.hub

        async def scenario() -> None:
            url = f"{base}/ws?token={token}"
            # One at a time: the app's sessions share the test's single database connection.
            async with connect(url, max_queue=1, compression=None) as stalled:
                assert json.loads(await stalled.recv())["type"] == "snapshot"
                fast = await connect(url, compression=None)
                assert json.loads(await fast.recv())["type"] == "snapshot"
                received: list[int] = []

                async def read_fast() -> None:
                    while len(received) < MESSAGES:
                        message = json.loads(await fast.recv())
                        if message["type"] == "kpis":
                            received.append(message["data"]["n"])

                reader = asyncio.create_task(read_fast())
                started = time.monotonic()
                for n in range(MESSAGES):
                    hub.publish_soon(Topic.kpis, {"n": n, "padding": PADDING})
                    await asyncio.sleep(0.001)
                await asyncio.wait_for(reader, timeout=20)
                assert received == list(range(MESSAGES))
                assert time.monotonic() - started < 15
                assert hub.dropped_clients == 1
                assert len(hub.clients) == 1

                with pytest.raises(ConnectionClosed):  # the stalled client finds itself disconnected
                    await asyncio.wait_for(_read_all(stalled), timeout=10)
                await fast.close()

        asyncio.run(scenario())
