"""Helpers for the tests of our own Myntra and Meesho formats: documented examples, DB reads."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from resight.events.models import Event, EventType
from resight.integrations.fields import MAX_RUPEES

DOCS = Path(__file__).resolve().parents[2] / "docs" / "integrations"
_JSON_BLOCK = re.compile(r"```json\n(.*?)```", re.DOTALL)


def as_delivered(body: Any) -> Any:
    """What the inbox hands an adapter: decoded JSON with fractions as Decimal."""
    return json.loads(json.dumps(body), parse_float=Decimal)


def markdown_examples(name: str) -> list[Any]:
    text = (DOCS / name).read_text(encoding="utf-8")
    return [as_delivered(json.loads(block)) for block in _JSON_BLOCK.findall(text)]


def schema_examples(schema: dict[str, Any]) -> list[Any]:
    """Every `examples` entry anywhere in the schema's definitions."""
    found: list[Any] = []
    for definition in schema["$defs"].values():
        found.extend(as_delivered(example) for example in definition.get("examples", []))
    return found


def events_of(db: Session, store_id: int) -> list[tuple[EventType, str | None, int, int]]:
    rows = db.execute(
        select(Event.event_type, Event.external_id, Event.quantity, Event.revenue_paise)
        .where(Event.store_id == store_id)
        .order_by(Event.id)
    )
    return [(row.event_type, row.external_id, row.quantity, row.revenue_paise) for row in rows]


ABSURD_RUPEES = str(MAX_RUPEES + 1)


# Values of every JSON type, and edge cases of each: a message field set to any of these must be
# either accepted or refused with NormalizationError, never crash the adapter.
HOSTILE_VALUES: list[Any] = [
    None,
    True,
    -1,
    0,
    10**30,
    Decimal("NaN"),
    Decimal("-Infinity"),
    Decimal("1E+400"),
    Decimal("0.001"),
    "",
    " ",
    "x" * 5000,
    "٣٤٥",
    "2026-02-30T10:00:00",
    [],
    ["a"],
    {},
    {"nested": 1},
]
