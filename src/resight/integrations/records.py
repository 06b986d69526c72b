"""What a marketplace adapter produces from one delivery: normalised, marketplace-neutral records.

Adapters (amazon.py, myntra.py, meesho.py, imports.py) turn raw payloads into these; one applier
turns them into product upserts, product-history rows and events in one transaction.
Every field that a payload does not carry stays None and leaves the stored value untouched.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from resight.catalog.models import ListingStatus, Platform
from resight.events.models import EventType


@dataclass(frozen=True, slots=True)
class StoreRef:
    """The authenticated store as adapters see it (not an ORM object: it is cached across sessions)."""

    id: int
    platform: Platform
    name: str
    seller_id: str | None


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs ~3x, per record
class ProductUpdate:
    sku: str
    event_time: dt.datetime  # timezone-aware; when the marketplace says the change happened
    external_id: str | None = None  # ASIN / style id / catalog id
    title: str | None = None
    brand: str | None = None
    category: str | None = None  # levels joined by " > "
    mrp_paise: int | None = None
    price_paise: int | None = None
    stock: int | None = None
    status: ListingStatus | None = None
    rating: float | None = None
    rating_count: int | None = None
    buybox_price_paise: int | None = None
    lowest_competitor_price_paise: int | None = None
    sales_rank: int | None = None
    # The payload names the item only by its marketplace id (ASIN): `sku` holds that id and the
    # product is found by external_id (or created with sku = external_id until a payload names its SKU).
    by_external_id: bool = False


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs ~3x, per record
class EventRecord:
    sku: str
    event_type: EventType
    event_time: dt.datetime
    quantity: int = 1
    revenue_paise: int = 0
    external_id: str | None = None  # order line id, return id, traffic bucket id: makes repeats harmless
    by_external_id: bool = False  # `sku` holds the marketplace item id (ASIN), as in ProductUpdate
    # The payload carries no price (Amazon ORDER_CHANGE): revenue = quantity x the product's price.
    revenue_from_price: bool = False


@dataclass(slots=True)
class Normalized:
    notification_type: str | None = None
    products: list[ProductUpdate] = field(default_factory=list)
    events: list[EventRecord] = field(default_factory=list)
    # Authentic and understood, but nothing for us in it (e.g. an unknown notification type).
    ignored_reason: str | None = None


class NormalizationError(ValueError):
    """An authentic delivery we cannot turn into records: it is quarantined with this reason."""
