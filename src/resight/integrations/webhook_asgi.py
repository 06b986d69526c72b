"""The webhook endpoint's direct ASGI path: POST /integrations/{platform}/webhook answered without
the router and FastAPI's per-request dependency solving.

Single deliveries are the hottest request the server has, and routing (matching every route),
solving the endpoint's parameters and wrapping the request cost more CPU than storing the delivery
(docs/decisions/0302-webhook-asgi-path.md). This middleware sits inside RequestIdMiddleware (so
responses keep their request id and security headers) and handles only requests whose query
string it reads exactly as FastAPI would: none, or `store=<digits>`. Anything else goes on to the
routed endpoint in routes.py, which runs the same receiver code and documents the API in OpenAPI.
Errors are answered by the application's own exception handlers, as the router would.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import AsyncIterator

from fastapi import FastAPI
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from resight.catalog.models import Platform
from resight.integrations import receiver

_PLATFORMS = "|".join(platform.value for platform in Platform)
_PATH = re.compile(rf"/integrations/({_PLATFORMS})/webhook")
_QUERY = re.compile(rb"(?:store=([0-9]{1,18}))?")
_WANTED = frozenset(name.encode() for name in receiver.WANTED_HEADERS)
_JSON_HEADERS = [(b"content-type", b"application/json")]


class WebhookFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        matched = _PATH.fullmatch(path) if path.endswith("/webhook") else None
        query = _QUERY.fullmatch(scope.get("query_string", b"")) if matched else None
        if matched is None or query is None:
            await self.app(scope, receive, send)
            return
        store = query.group(1)
        await self._handle(
            scope,
            receive,
            send,
            Platform(matched.group(1)),
            int(store) if store is not None else None,
        )

    async def _handle(
        self, scope: Scope, receive: Receive, send: Send, platform: Platform, store: int | None
    ) -> None:
        app: FastAPI = scope["app"]
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            # The first of repeated headers, as Starlette's Headers[name] reads it.
            if name in _WANTED and (key := name.decode("latin-1")) not in headers:
                headers[key] = value.decode("latin-1")
        client = scope.get("client")
        try:
            receipt = await receiver.receive_delivery(
                app,
                platform,
                store,
                headers,
                _body(receive),
                client_host=client[0] if client else None,
                request_id=scope.get("state", {}).get("request_id"),
            )
        except ClientDisconnect:
            return  # nothing stored, nobody to answer
        except Exception as exc:
            await _answer_error(app, scope, receive, send, exc)
            return
        content = receiver.receipt_json(receipt)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", str(len(content)).encode()), *_JSON_HEADERS],
            }
        )
        await send({"type": "http.response.body", "body": content})


async def _body(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


async def _answer_error(app: FastAPI, scope: Scope, receive: Receive, send: Send, exc: Exception) -> None:
    """As Starlette's exception middleware: the app's handler for the nearest class, else re-raise
    (a 500 from the server-error middleware)."""
    handlers = app.exception_handlers
    handler = next((handlers[kind] for kind in type(exc).__mro__ if kind in handlers), None)
    if handler is None:
        raise exc
    result = handler(Request(scope, receive), exc)
    response = await result if inspect.isawaitable(result) else result
    assert isinstance(response, Response)
    await response(scope, receive, send)
