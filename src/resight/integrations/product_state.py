"""A product's state as the applier holds it, and the event-time guards that update it.

State is guarded per kind of field by event time: an update older than the stored state of its kind
is written to history but does not overwrite newer state, and an update changes only the fields it
carries. States are dicts of STATE_COLUMNS as read by plain SQL (integrations/apply.py).
"""

from __future__ import annotations

import datetime as dt
from operator import attrgetter, is_not
from typing import Any

from resight.bulksql import Bulk, placeholders
from resight.catalog.models import HistoryField, ListingStatus
from resight.integrations.records import ProductUpdate

# (timestamp column guarding the kind, fields of the kind, the history field of each or None)
GUARDS: tuple[tuple[str, tuple[tuple[str, HistoryField | None], ...]], ...] = (
    ("price_changed_at", (("price_paise", HistoryField.price), ("mrp_paise", HistoryField.mrp))),
    ("stock_changed_at", (("stock", HistoryField.stock),)),
    ("status_changed_at", (("status", HistoryField.status),)),
    (
        "market_changed_at",
        (
            ("buybox_price_paise", HistoryField.buybox_price),
            ("lowest_competitor_price_paise", HistoryField.lowest_competitor_price),
            ("sales_rank", HistoryField.sales_rank),
        ),
    ),
    (
        "details_changed_at",
        (("title", None), ("brand", None), ("category", None), ("rating", None), ("rating_count", None)),
    ),
)


# Every guarded field, read in one C call; an update's plan (which guards and fields it carries)
# depends only on which of them are not None, so it is worked out once per shape of update.
_FIELDS = tuple(name for _guard, fields in GUARDS for name, _kind in fields)
_READ_FIELDS = attrgetter(*_FIELDS)
_NONES = (None,) * len(_FIELDS)
# (guard column, ((position in _FIELDS, field, history field name or None, is the status), ...))
Plan = tuple[tuple[str, tuple[tuple[int, str, str | None, bool], ...]], ...]
_PLANS: dict[tuple[bool, ...], Plan] = {}


def _plan(carried: tuple[bool, ...]) -> Plan:
    plan = []
    position = 0
    for guard, fields in GUARDS:
        steps = []
        for name, kind in fields:
            if carried[position]:
                steps.append((position, name, kind.name if kind else None, kind is HistoryField.status))
            position += 1
        if steps:
            plan.append((guard, tuple(steps)))
    _PLANS[carried] = found = tuple(plan)  # at most 2^13 shapes; adapters produce a handful
    return found


STATE_COLUMNS = (
    "id",
    "sku",
    "external_id",
    "title",
    "brand",
    "category",
    "mrp_paise",
    "price_paise",
    "stock",
    "rating",
    "rating_count",
    "status",
    "buybox_price_paise",
    "lowest_competitor_price_paise",
    "sales_rank",
    "price_changed_at",
    "stock_changed_at",
    "status_changed_at",
    "details_changed_at",
    "market_changed_at",
    "last_event_at",
)


TIME_COLUMNS = frozenset(name for name in STATE_COLUMNS if name.endswith("_at"))
HISTORY_INSERT = (
    "INSERT INTO product_history (product_id, field, value_int, value_text, event_time, delivery_id, "
    f"recorded_at) VALUES ({placeholders(7)})"
)


def moment_of(state: dict[str, Any], name: str) -> dt.datetime | None:
    """A time column of a product's state as a timezone-aware datetime, parsed on first use."""
    value = state[name]
    if value is None or isinstance(value, dt.datetime):
        return value
    parsed = dt.datetime.fromisoformat(value)
    moment = parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)
    state[name] = moment
    return moment


def apply_update(
    state: dict[str, Any], update_: ProductUpdate, history: list[tuple[Any, ...]], tags: tuple[Any, Any, Any]
) -> bool:
    """Apply one update to a product's state; True if it changed the state. History rows are
    appended as HISTORY_INSERT's parameters; `tags` = (stored event time, delivery id, stored now)."""
    values = _READ_FIELDS(update_)
    carried = tuple(map(is_not, values, _NONES))
    moment = update_.event_time
    dirty: set[str] = state["_dirty"]
    changed = False
    stamp, delivery_id, recorded = tags
    for guard, steps in _PLANS.get(carried) or _plan(carried):
        newest = moment_of(state, guard)
        fresh = newest is None or moment >= newest
        for position, name, history_name, status in steps:
            value = values[position]
            differs = value != state[name]
            if history_name is not None and (differs or not fresh):
                # A late (older) value is still history; a fresh one only when it changes something.
                history.append(
                    (
                        state["id"],
                        history_name,
                        None if status else value,
                        value.value if status else None,
                        stamp,
                        delivery_id,
                        recorded,
                    )
                )
            if fresh and differs:
                state[name] = value
                dirty.add(name)
                changed = True
        if fresh and newest != moment:
            state[guard] = moment
            dirty.add(guard)
    if update_.external_id is not None and state["external_id"] != update_.external_id:
        newest = moment_of(state, "details_changed_at")
        if state["external_id"] is None or newest is None or moment >= newest:
            state["external_id"] = update_.external_id
            dirty.add("external_id")
            changed = True
    return changed


def stored(bulk: Bulk, name: str, value: Any) -> Any:
    """A product state value as its column stores it."""
    if name in TIME_COLUMNS:
        return bulk.time(value)
    if isinstance(value, ListingStatus):
        return value.name
    return value
