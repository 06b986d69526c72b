"""What our Myntra and Meesho webhook formats share.

Neither marketplace publishes a webhook format, so ReSight defines one per marketplace
(docs/integrations/myntra.md, meesho.md). Both have the same shape: every message has an
`event_type` and an `event_time`; a batch delivery is the pipeline's `{"batch": [...]}` envelope.
This module validates a message and turns order lines and traffic counts into events; the
marketplace modules only know their own field names.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Collection, Mapping
from typing import Annotated, Any, TypeVar

from pydantic import BeforeValidator, TypeAdapter, ValidationError, WithJsonSchema

from resight.catalog.models import ListingStatus
from resight.events.models import EventType
from resight.integrations.fields import describe
from resight.integrations.records import EventRecord, NormalizationError

M = TypeVar("M")


class Outcome(enum.Enum):
    """What an order status means for the events we keep."""

    placed = "placed"  # an order, nothing more (pending, shipped, delivered, ...)
    cancelled = "cancelled"  # an order and its cancellation
    returned = "returned"  # an order and its return (customer return or RTO)


def status_key(text: str) -> str:
    """'Ready to ship', 'ready-to-ship' and 'READY_TO_SHIP' are the same status."""
    return "_".join(text.strip().upper().replace("-", " ").replace("_", " ").split())


def status_checker(table: Mapping[str, Outcome]) -> BeforeValidator:
    """Accepts the statuses in `table` in any case or spelling of separators; yields the key."""

    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"not a status: {value!r}")
        if value in table:  # already canonical: the common case
            return value
        key = status_key(value)
        if key not in table:
            raise ValueError(f"unknown order status {value!r}; expected one of {', '.join(table)}")
        return key

    return BeforeValidator(check)


def status_schema(table: Mapping[str, Outcome], description: str) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "enum": list(table), "description": description})


LISTING_STATUSES: dict[str, ListingStatus] = {
    "ACTIVE": ListingStatus.active,
    "INACTIVE": ListingStatus.inactive,
    "PAUSED": ListingStatus.inactive,
    "DELETED": ListingStatus.deleted,
}


def _listing_status(value: Any) -> ListingStatus:
    if isinstance(value, str) and status_key(value) in LISTING_STATUSES:
        return LISTING_STATUSES[status_key(value)]
    raise ValueError(f"unknown listing status {value!r}; expected one of {', '.join(LISTING_STATUSES)}")


ListingState = Annotated[
    ListingStatus,
    BeforeValidator(_listing_status),
    WithJsonSchema(
        {
            "type": "string",
            "enum": list(LISTING_STATUSES),
            "description": "ACTIVE: buyable; INACTIVE or PAUSED: listed, not buyable; DELETED: delisted.",
        }
    ),
]


def validate(adapter: TypeAdapter[M], body: Any, *, tags: Collection[str]) -> M:
    """One message (decoded JSON) -> its model, or NormalizationError naming every bad field."""
    if not isinstance(body, dict):
        raise NormalizationError("a message must be a JSON object with an event_type")
    try:
        return adapter.validate_python(body)
    except ValidationError as exc:
        raise NormalizationError(describe(exc, tags=tags)) from exc


_FOLLOW_UP = {Outcome.cancelled: EventType.cancellation, Outcome.returned: EventType.return_}


def order_events(
    *,
    sku: str,
    line_id: str,
    outcome: Outcome,
    ordered_at: dt.datetime,
    changed_at: dt.datetime,
    quantity: int,
    revenue_paise: int,
) -> list[EventRecord]:
    """An order line as it stands: its order event, plus a cancellation or return if it has one.

    Every event carries the line id, so each status message may repeat the whole line: the order
    is counted once, and a cancellation or return once, however often the status is re-sent.
    """
    events = [
        EventRecord(
            sku=sku,
            event_type=EventType.order,
            event_time=ordered_at,
            quantity=quantity,
            revenue_paise=revenue_paise,
            external_id=line_id,
        )
    ]
    follow_up = _FOLLOW_UP.get(outcome)
    if follow_up is not None:
        events.append(
            EventRecord(
                sku=sku,
                event_type=follow_up,
                event_time=max(changed_at, ordered_at),
                quantity=quantity,
                revenue_paise=revenue_paise,
                external_id=line_id,
            )
        )
    return events


def traffic_events(
    *,
    sku: str,
    start: dt.datetime,
    minutes: int,
    counts: Mapping[EventType, int],
    traffic_id: str | None,
) -> list[EventRecord]:
    """Counts over a time bucket -> one event per non-zero count, dated at the bucket start.

    The bucket's id (the sender's `traffic_id`, or sku + start + length) is each event's
    external id, so re-sending a bucket has no second effect.
    """
    external_id = traffic_id or f"{sku}@{start.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}/{minutes}m"
    return [
        EventRecord(sku=sku, event_type=kind, event_time=start, quantity=count, external_id=external_id)
        for kind, count in counts.items()
        if count > 0
    ]


def schema_document(adapter: TypeAdapter[Any], *, platform: str, slug: str) -> dict[str, Any]:
    """The JSON Schema of a delivery body: one message, or a batch of them, with examples."""
    message = adapter.json_schema(ref_template="#/$defs/{model}")
    defs: dict[str, Any] = message.pop("$defs")
    examples = [example for schema in defs.values() for example in schema.get("examples", [])]
    message["description"] = "One message; `event_type` says which kind."
    defs["Message"] = message
    defs["Batch"] = {
        "type": "object",
        "description": "Many messages in one signed delivery; applied all or nothing.",
        "properties": {"batch": {"type": "array", "items": {"$ref": "#/$defs/Message"}, "minItems": 1}},
        "required": ["batch"],
        "additionalProperties": False,
        "examples": [{"batch": examples}],
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://resight.dev/schemas/integrations/{slug}.schema.json",
        "title": f"ReSight {platform} webhook delivery",
        "description": (
            f'Body of POST /integrations/{slug}/webhook: one message, or {{"batch": [message, ...]}}. '
            "Amounts are rupees (number or string) and become integer paise; times are ISO 8601, "
            "IST when no offset is given. Unknown fields are ignored."
        ),
        "anyOf": [{"$ref": "#/$defs/Message"}, {"$ref": "#/$defs/Batch"}],
        "$defs": defs,
    }
