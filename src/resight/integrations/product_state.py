"""A product's state as the applier holds it, and the event-time guards that update it.

State is guarded per kind of field by event time: an update older than the stored state of its kind
is written to history but does not overwrite newer state, and an update changes only the fields it
carries. States are dicts of STATE_COLUMNS (or the subset a delivery needs, `columns_for`) as read
by plain SQL (integrations/apply.py).

Time columns stay in their stored form (SQLite: naive UTC text, PostgreSQL: aware datetimes) and
new times are put there in that form (`Bulk.time`): the guards compare stored forms directly, and
the UPDATE writes them back without conversion. On SQLite, Bulk.time's text is fixed-width
(`YYYY-MM-DD HH:MM:SS.ffffff`, what SQLAlchemy writes too), so comparing two such texts is comparing
the instants; a stored text of any other shape is parsed and rewritten in that form before it is
compared (`comparable`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from operator import attrgetter, is_not
from typing import Any

from resight.bulksql import sqlite_text
from resight.catalog.models import HistoryField
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
Steps = tuple[tuple[str, tuple[tuple[int, str, str | None, bool], ...]], ...]


@dataclass(frozen=True, slots=True, eq=False)  # hashed by identity: one instance per shape
class Plan:
    steps: Steps
    columns: frozenset[str]  # the state columns the plan reads or writes


_PLANS: dict[tuple[bool, ...], Plan] = {}
Shape = tuple[tuple[Any, ...], Plan]  # an update's guarded field values and its plan


def _plan(carried: tuple[bool, ...]) -> Plan:
    steps = []
    columns = set()
    position = 0
    for guard, fields in GUARDS:
        guarded = []
        for name, kind in fields:
            if carried[position]:
                guarded.append((position, name, kind.name if kind else None, kind is HistoryField.status))
                columns.add(name)
            position += 1
        if guarded:
            steps.append((guard, tuple(guarded)))
            columns.add(guard)
    _PLANS[carried] = found = Plan(tuple(steps), frozenset(columns))  # adapters make a handful
    return found


def shape_of(update_: ProductUpdate) -> Shape:
    """The guarded field values an update carries, and its plan (worked out once per shape)."""
    values = _READ_FIELDS(update_)
    carried = tuple(map(is_not, values, _NONES))
    return values, _PLANS.get(carried) or _plan(carried)


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
# What every delivery reads of a product (finding it, its events' revenue and rollup segment, its
# last event); product updates add the columns of their plans.
BASE_COLUMNS = ("id", "sku", "external_id", "category", "price_paise", "last_event_at")


def columns_for(plans: set[Plan], names_external_ids: bool) -> tuple[str, ...]:
    """The state columns a delivery needs (fetching a column costs per product): BASE_COLUMNS,
    those its updates' plans touch, and details_changed_at if an update names an external id
    (it guards learning one). In STATE_COLUMNS order."""
    needed = set(BASE_COLUMNS)
    for plan in plans:
        needed |= plan.columns
    if names_external_ids:
        needed.add("details_changed_at")
    return tuple(name for name in STATE_COLUMNS if name in needed)


# Bulk.insert_many's head and row width for product_history rows.
HISTORY_INSERT = (
    "INSERT INTO product_history (product_id, field, value_int, value_text, event_time, delivery_id, "
    "recorded_at)"
)
HISTORY_WIDTH = 7


def comparable(value: Any) -> Any:
    """A stored time column's value in the form Bulk.time gives (see the module's docstring)."""
    if value.__class__ is not str or (len(value) == 26 and value[10] == " " and value[19] == "."):
        return value
    parsed = dt.datetime.fromisoformat(value)
    return sqlite_text(parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC))


def apply_update(
    state: dict[str, Any],
    update_: ProductUpdate,
    shape: Shape,
    history: list[tuple[Any, ...]],
    stamp: Any,
    delivery_id: int | None,
    recorded: Any,
) -> bool:
    """Apply one update (`shape` = shape_of(update_)) to a product's state; True if it changed the
    state. History rows are appended as HISTORY_INSERT's parameters; `stamp` is the update's event
    time and `recorded` now, both as Bulk.time stores them."""
    values, plan = shape
    dirty: set[str] = state["_dirty"]
    changed = False
    for guard, steps in plan.steps:
        newest = state[guard]
        if newest is not None:
            newest = comparable(newest)
        fresh = newest is None or stamp >= newest
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
        if fresh and newest != stamp:
            state[guard] = stamp
            dirty.add(guard)
    external_id = update_.external_id
    if external_id is not None and state["external_id"] != external_id:
        newest = state["details_changed_at"]
        if state["external_id"] is None or newest is None or stamp >= comparable(newest):
            state["external_id"] = external_id
            dirty.add("external_id")
            changed = True
    return changed
