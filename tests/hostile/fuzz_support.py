"""What the fuzz tests send and what they compare: valid examples to mutate, hostile values, and a
snapshot of every table a delivery may write."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st
from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from resight.catalog.models import Product, ProductHistory
from resight.events.models import Event, ProductHourlyMetrics
from resight.integrations import signatures
from tests.integrations.own_formats import markdown_examples
from tests.integrations.support import AMAZON_SCHEMAS, amazon_example

WRITTEN: list[Table] = [
    Product.__table__,  # type: ignore[list-item]
    ProductHistory.__table__,  # type: ignore[list-item]
    Event.__table__,  # type: ignore[list-item]
    ProductHourlyMetrics.__table__,  # type: ignore[list-item]
]


def snapshot(db: Session) -> list[list[Any]]:
    """Every row of the tables a delivery writes (the test database holds few)."""
    return [sorted(map(tuple, db.execute(select(table)).all()), key=repr) for table in WRITTEN]


def examples(platform: str) -> list[Any]:
    if platform == "amazon":
        files = sorted(p.name for p in AMAZON_SCHEMAS.glob("*.json"))
        return [amazon_example(name) for name in files]
    return [json.loads(json.dumps(body, default=str)) for body in markdown_examples(f"{platform}.md")]


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON document a value could be swapped for another."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*prefix, key)
            yield from paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield (*prefix, index)
            yield from paths(child, (*prefix, index))


def replaced(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    copy = json.loads(json.dumps(document))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return copy


HOSTILE_TEXT = [
    "",
    "\u0000",
    "title\u0000with NUL",
    "\u202eRTL override \u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627",
    "emoji 🧥👗🏳️‍🌈",
    "x" * 100_000,
    "'; DROP TABLE products; --",
    "<img src=x onerror=alert(1)>",
    "-1",
    "1e400",
    "NaN",
    "Infinity",
    "99999999999999999999999999",
    "2026-13-45T99:99:99Z",
]

HOSTILE_NUMBERS: list[Any] = [
    -1,
    0,
    2**31,
    2**63,
    -(2**63) - 1,
    10**40,
    1.5,
    1e308,
    -0.0,
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**62, max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(HOSTILE_TEXT),
    st.sampled_from(HOSTILE_NUMBERS),
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def raw_signed(secret: str, raw: bytes) -> dict[str, str]:
    """Standard Webhooks headers for bytes that are not UTF-8 text."""
    msg_id, now = f"msg_{uuid.uuid4().hex}", int(time.time())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(now),
        "webhook-signature": signatures.sign(signatures.key_of(secret), msg_id, now, raw),
        "content-type": "application/json",
    }
