"""Helpers for the ingestion tests: stores made through the API, signed deliveries."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from resight.users.models import Role
from tests.factories import headers_for

# Amazon's official notification schemas with their examples, copied unchanged (Apache 2.0, see
# LICENSE and SOURCE.md there) so the suite needs nothing outside the repository.
AMAZON_SCHEMAS = Path(__file__).resolve().parent / "amazon_reference"


@dataclass
class StoreHandle:
    id: int
    platform: str
    secret: str
    auth: str

    @property
    def path(self) -> str:
        return f"/integrations/{self.platform}/webhook?store={self.id}"


def admin(db: Session) -> dict[str, str]:
    return headers_for(db, Role.admin)


def create_store(
    client: TestClient,
    db: Session,
    platform: str = "amazon",
    *,
    auth: str = "signature",
    seller_id: str | None = "A3TH9S8BH6GOGM",
    headers: dict[str, str] | None = None,
) -> StoreHandle:
    response = client.post(
        "/stores",
        json={"platform": platform, "name": f"{platform} test store", "seller_id": seller_id, "auth": auth},
        headers=headers or admin(db),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return StoreHandle(body["store"]["id"], platform, body["webhook_secret"], auth)


def signed_headers(
    secret: str, raw: bytes, *, msg_id: str | None = None, at: dt.datetime | None = None
) -> dict[str, str]:
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    at = at or dt.datetime.now(dt.UTC)
    signature = Webhook(secret).sign(msg_id, at, raw.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


def encode(body: Any) -> bytes:
    return json.dumps(body).encode()


def deliver(
    client: TestClient, store: StoreHandle, body: Any, *, msg_id: str | None = None, raw: bytes | None = None
) -> Response:
    raw = raw if raw is not None else encode(body)
    if store.auth == "api_key":
        headers = {"X-Api-Key": store.secret, "content-type": "application/json"}
        if msg_id:
            headers["webhook-id"] = msg_id
    else:
        headers = signed_headers(store.secret, raw, msg_id=msg_id)
    return client.post(store.path, content=raw, headers=headers)


def amazon_example(file_name: str) -> dict[str, Any]:
    """The official example notification of one schema file."""
    schema = json.loads((AMAZON_SCHEMAS / file_name).read_text())
    if "examples" in schema:
        example: dict[str, Any] = schema["examples"][0]
        return example
    # FBAInventoryAvailabilityChangeNotification.json has examples per property only.
    properties = schema["properties"]
    return {
        "NotificationVersion": properties["NotificationVersion"]["examples"][0],
        "NotificationType": "FBA_INVENTORY_AVAILABILITY_CHANGES",
        "PayloadVersion": properties["PayloadVersion"]["examples"][0],
        "EventTime": properties["EventTime"]["examples"][0],
        "Payload": properties["Payload"]["examples"][0],
    }
