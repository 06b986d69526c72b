"""Keyset pagination: every list endpoint answers {"items": [...], "next_cursor": ...}."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from resight.errors import BadRequest

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str | None, arity: int) -> list[Any] | None:
    if cursor is None or cursor == "":
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("invalid cursor: pass back the next_cursor of the previous page") from exc
    if not isinstance(key, list) or len(key) != arity:
        raise BadRequest("invalid cursor: pass back the next_cursor of the previous page")
    return key


def page_of(rows: list[T], limit: int, key: Callable[[T], list[Any]]) -> tuple[list[T], str | None]:
    """Rows were fetched with limit + 1: trim the extra one and build the cursor it implies."""
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(key(rows[-1]))


def decode_id_cursor(cursor: str | None) -> int | None:
    key = decode_cursor(cursor, 1)
    if key is None:
        return None
    if not isinstance(key[0], int) or isinstance(key[0], bool):
        raise BadRequest("invalid cursor: pass back the next_cursor of the previous page")
    return key[0]
