"""The adapter seam: which module turns which platform's payloads into normalised records.

Contract for a marketplace adapter (amazon.py, myntra.py, meesho.py):

- `parse(body, store) -> Normalized`: `body` is ONE event as decoded JSON (numbers with a fraction
  arrive as `Decimal`: the inbox parses with `parse_float=Decimal`, so money never passes through a
  float); `store` is a `records.StoreRef` (id, platform, name, seller_id) of the authenticated store. Pure:
  no database, no clock other than the payload's own times. Return the product updates and events
  the payload carries (fields it does not carry stay None and leave stored values untouched), or a
  `Normalized` with `ignored_reason` set for an authentic payload with nothing for us (an unknown
  notification type). Raise `NormalizationError(reason)` for an authentic payload that cannot be
  normalised: the delivery is then stored as quarantined with that reason and can be replayed.
- Optionally `delivery_id(body) -> str | None`: the sender's own id for one event (Amazon's
  NotificationId), registered in DELIVERY_IDS.

Delivery id (the idempotency key, unique per store): the `webhook-id` header when present, else the
adapter's in-body id for a single event, else `sha256:<hex of the raw body>`. A repeat of a delivery id
is stored as a duplicate and has no effect.

Batch form: one signed delivery whose body is `{"batch": [event, event, ...]}` (a bare JSON array is
accepted as the same). Each item is what the platform's single-event endpoint accepts; items are
parsed one by one with the same adapter and applied in one transaction. A batch is atomic: if any
item cannot be normalised, the whole delivery is quarantined with the item's index in the reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from resight.catalog.models import Platform
from resight.integrations import amazon, meesho, myntra
from resight.integrations.records import EventRecord, NormalizationError, Normalized, ProductUpdate, StoreRef

MAX_BATCH_ITEMS = 100_000


Parse = Callable[[Any, StoreRef], Normalized]
DeliveryIdOf = Callable[[Any], str | None]

ADAPTERS: dict[Platform, Parse] = {
    Platform.amazon: amazon.parse,
    Platform.myntra: myntra.parse,
    Platform.meesho: meesho.parse,
}
DELIVERY_IDS: dict[Platform, DeliveryIdOf] = {
    Platform.amazon: amazon.delivery_id,
}

# An adapter's parse that appends to a batch's lists instead of returning a Normalized per item:
# (item, store, products, events) -> (notification type, used). Keyed by the parse function, so an
# adapter replaced in ADAPTERS (a test's) is called as it is.
ParseInto = Callable[[Any, StoreRef, list[ProductUpdate], list[EventRecord]], tuple[str | None, bool]]
PARSE_INTO: dict[Parse, ParseInto] = {
    amazon.parse: amazon.parse_into,
}


def batch_items(body: Any) -> list[Any] | None:
    """The items of a batch-form body, or None when the body is a single event."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict) and len(body) == 1 and isinstance(body.get("batch"), list):
        items: list[Any] = body["batch"]
        return items
    return None


def content_hash(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def derive_delivery_id(platform: Platform, header_id: str | None, body: Any, raw: bytes) -> str:
    if header_id:
        return header_id
    if batch_items(body) is None:
        of = DELIVERY_IDS.get(platform)
        found = of(body) if of is not None else None
        if found:
            return found
    return content_hash(raw)


def _appending(parse: Parse) -> ParseInto:
    def into(
        item: Any, store: StoreRef, products: list[ProductUpdate], events: list[EventRecord]
    ) -> tuple[str | None, bool]:
        part = parse(item, store)
        products.extend(part.products)
        events.extend(part.events)
        return part.notification_type, part.ignored_reason is None

    return into


def normalize(platform: Platform, body: Any, store: StoreRef) -> Normalized:
    """Normalise one delivery (single event or batch); raises NormalizationError to quarantine it."""
    parse = ADAPTERS.get(platform)
    if parse is None:
        raise NormalizationError(f"no adapter for platform {platform.value}")
    items = batch_items(body)
    if items is None:
        return parse(body, store)
    if len(items) > MAX_BATCH_ITEMS:
        raise NormalizationError(f"a batch holds at most {MAX_BATCH_ITEMS} events, this one {len(items)}")
    merged = Normalized(notification_type="batch")
    products, events = merged.products, merged.events
    into = PARSE_INTO.get(parse) or _appending(parse)
    ignored = 0
    for index, item in enumerate(items):
        try:
            _, used = into(item, store, products, events)
        except NormalizationError as exc:
            raise NormalizationError(f"batch item {index}: {exc}") from exc
        if not used:
            ignored += 1
    if items and ignored == len(items):
        merged.ignored_reason = "every item of the batch was ignored"
    return merged
