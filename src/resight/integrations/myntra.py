"""Myntra: our webhook format (Myntra publishes none) -> normalised records.

Field names are those of the Myntra seller-panel reports (style_id, seller_sku_code, order_line_id,
final_amount, created_on, ...). A product is one `seller_sku_code`; `style_id` is its external id.
The format, with examples, is documented in docs/integrations/myntra.md and myntra.schema.json.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from resight.events.models import EventType
from resight.integrations.fields import (
    BucketMinutes,
    Identifier,
    Moment,
    Name,
    OrderQuantity,
    Rupees,
    Sku,
    Stock,
    Text,
    TrafficCount,
)
from resight.integrations.messages import (
    ListingState,
    Outcome,
    order_events,
    schema_document,
    status_checker,
    status_schema,
    traffic_events,
    validate,
)
from resight.integrations.records import Normalized, ProductUpdate, StoreRef

# Myntra's release codes (WP, PK, SH, DL, C, F) as they appear in its order reports, and their names.
ORDER_STATUSES: dict[str, Outcome] = {
    "CREATED": Outcome.placed,
    "WP": Outcome.placed,
    "PK": Outcome.placed,
    "PACKED": Outcome.placed,
    "SH": Outcome.placed,
    "SHIPPED": Outcome.placed,
    "OFD": Outcome.placed,
    "OUT_FOR_DELIVERY": Outcome.placed,
    "DL": Outcome.placed,
    "DELIVERED": Outcome.placed,
    "C": Outcome.placed,
    "COMPLETE": Outcome.placed,
    "LOST": Outcome.placed,
    "F": Outcome.cancelled,
    "CANCELLED": Outcome.cancelled,
    "CANCELED": Outcome.cancelled,
    "RTO": Outcome.returned,
    "RTO_CONFIRMED": Outcome.returned,
    "RTO_DISPATCHED": Outcome.returned,
    "RETURN": Outcome.returned,
    "RETURNED": Outcome.returned,
}
OrderStatus = Annotated[
    str,
    status_checker(ORDER_STATUSES),
    status_schema(
        ORDER_STATUSES,
        "Any case. F/CANCELLED/CANCELED add a cancellation; RTO*/RETURN/RETURNED add a return; "
        "the rest are orders in progress or delivered.",
    ),
]
EVENT_TYPES = ("catalog", "price", "inventory", "order", "traffic")


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    event_time: Moment = Field(description="When this change happened (for traffic: the bucket start).")
    seller_sku_code: Sku = Field(description="Your SKU code on Myntra: one ReSight product.")
    style_id: Identifier | None = Field(default=None, description="Myntra style id.")
    sku_id: Identifier | None = Field(default=None, description="Myntra's id of the size variant.")


class _Prices(_Message):
    mrp: Rupees | None = Field(default=None, description="MRP in rupees.")
    selling_price: Rupees | None = Field(default=None, description="Price the customer pays, in rupees.")

    @model_validator(mode="after")
    def _price_within_mrp(self) -> _Prices:
        if self.mrp is not None and self.selling_price is not None and self.selling_price > self.mrp:
            raise ValueError("selling_price must not exceed mrp")
        return self


class CatalogUpdate(_Prices):
    """A listing's details; any field left out keeps its stored value."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_type": "catalog",
                    "event_time": "2026-11-28T10:15:00+05:30",
                    "style_id": 24456781,
                    "seller_sku_code": "RGN-KRT-0042-M",
                    "sku_id": "78812345",
                    "style_name": "Women Floral Printed Cotton Straight Kurta",
                    "brand": "Rangeen",
                    "article_type": "Kurtas",
                    "size": "M",
                    "mrp": "1,999.00",
                    "selling_price": 1299,
                    "inventory_count": 40,
                    "listing_status": "ACTIVE",
                }
            ]
        }
    )

    event_type: Literal["catalog"]
    style_name: Text | None = None
    brand: Name | None = None
    article_type: Name | None = Field(default=None, description="Myntra article type: the category.")
    size: Name | None = None
    inventory_count: Stock | None = None
    listing_status: ListingState | None = None


class PriceUpdate(_Prices):
    """A price change: MRP, selling price or both."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_type": "price",
                    "event_time": "2026-11-28T11:00:00+05:30",
                    "seller_sku_code": "RGN-KRT-0042-M",
                    "style_id": "24456781",
                    "selling_price": "₹1,149.50",
                }
            ]
        }
    )

    event_type: Literal["price"]

    @model_validator(mode="after")
    def _carries_a_price(self) -> PriceUpdate:
        if self.mrp is None and self.selling_price is None:
            raise ValueError("a price message needs mrp, selling_price or both")
        return self


class InventoryUpdate(_Message):
    """Sellable units now."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_type": "inventory",
                    "event_time": "2026-11-28T09:30:00+05:30",
                    "seller_sku_code": "RGN-KRT-0042-M",
                    "inventory_count": 0,
                }
            ]
        }
    )

    event_type: Literal["inventory"]
    inventory_count: Stock


class OrderLine(_Message):
    """An order line as it stands now; send it again whenever its status changes."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_type": "order",
                    "event_time": "2026-11-28T14:02:11+05:30",
                    "order_id": "1203345566778",
                    "order_line_id": "5012345678",
                    "seller_sku_code": "RGN-KRT-0042-M",
                    "style_id": 24456781,
                    "sku_id": 78812345,
                    "style_name": "Women Floral Printed Cotton Straight Kurta",
                    "brand": "Rangeen",
                    "article_type": "Kurtas",
                    "size": "M",
                    "order_status": "WP",
                    "quantity": 1,
                    "total_mrp": "1999.00",
                    "discount": "700.00",
                    "final_amount": "1299.00",
                    "created_on": "2026-11-28T14:02:11+05:30",
                    "state": "Karnataka",
                },
                {
                    "event_type": "order",
                    "event_time": "2026-11-30T18:45:00+05:30",
                    "order_id": "1203345566778",
                    "order_line_id": "5012345678",
                    "seller_sku_code": "RGN-KRT-0042-M",
                    "order_status": "RTO",
                    "quantity": 1,
                    "final_amount": 1299,
                    "created_on": "2026-11-28 14:02:11",
                },
            ]
        }
    )

    event_type: Literal["order"]
    order_id: Identifier
    order_line_id: Identifier = Field(description="Unique per line: makes re-sent statuses harmless.")
    order_status: OrderStatus
    quantity: OrderQuantity
    total_mrp: Rupees | None = Field(default=None, description="MRP x quantity, in rupees.")
    discount: Rupees | None = Field(default=None, description="Discount on the line, in rupees.")
    final_amount: Rupees = Field(description="What the customer pays for the line, in rupees: revenue.")
    created_on: Moment = Field(description="When the order was placed.")
    style_name: Text | None = None
    brand: Name | None = None
    article_type: Name | None = None
    size: Name | None = None
    state: Name | None = Field(default=None, description="Customer's state (kept in the raw delivery).")


class TrafficCounts(_Message):
    """Views, clicks and add-to-carts of one SKU over a bucket starting at event_time."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_type": "traffic",
                    "event_time": "2026-11-28T10:00:00+05:30",
                    "bucket_minutes": 60,
                    "seller_sku_code": "RGN-KRT-0042-M",
                    "style_id": 24456781,
                    "views": 1840,
                    "clicks": 212,
                    "add_to_cart": 37,
                }
            ]
        }
    )

    event_type: Literal["traffic"]
    bucket_minutes: BucketMinutes = Field(default=60, description="Bucket length; hourly is best.")
    views: TrafficCount = 0
    clicks: TrafficCount = 0
    add_to_cart: TrafficCount = 0
    traffic_id: Identifier | None = Field(
        default=None,
        description="Your id for this bucket, unique per store; default: SKU + bucket start + length.",
    )


Message = Annotated[
    CatalogUpdate | PriceUpdate | InventoryUpdate | OrderLine | TrafficCounts,
    Field(discriminator="event_type"),
]
MESSAGE = TypeAdapter[Message](Message)


def parse(body: Any, store: StoreRef) -> Normalized:
    """One decoded message -> records; raises NormalizationError (quarantine) if it is unusable."""
    return normalize(validate(MESSAGE, body, tags=EVENT_TYPES))


def normalize(message: Message) -> Normalized:
    """A validated message -> product updates and events."""
    result = Normalized(notification_type=message.event_type)
    sku = message.seller_sku_code
    if isinstance(message, CatalogUpdate):
        result.products.append(
            ProductUpdate(
                sku=sku,
                event_time=message.event_time,
                external_id=message.style_id,
                title=message.style_name,
                brand=message.brand,
                category=message.article_type,
                mrp_paise=message.mrp,
                price_paise=message.selling_price,
                stock=message.inventory_count,
                status=message.listing_status,
            )
        )
    elif isinstance(message, PriceUpdate):
        result.products.append(
            ProductUpdate(
                sku=sku,
                event_time=message.event_time,
                external_id=message.style_id,
                mrp_paise=message.mrp,
                price_paise=message.selling_price,
            )
        )
    elif isinstance(message, InventoryUpdate):
        result.products.append(
            ProductUpdate(
                sku=sku,
                event_time=message.event_time,
                external_id=message.style_id,
                stock=message.inventory_count,
            )
        )
    elif isinstance(message, OrderLine):
        if message.style_id or message.style_name or message.brand or message.article_type:
            result.products.append(
                ProductUpdate(
                    sku=sku,
                    event_time=message.event_time,
                    external_id=message.style_id,
                    title=message.style_name,
                    brand=message.brand,
                    category=message.article_type,
                )
            )
        result.events.extend(
            order_events(
                sku=sku,
                line_id=message.order_line_id,
                outcome=ORDER_STATUSES[message.order_status],
                ordered_at=message.created_on,
                changed_at=message.event_time,
                quantity=message.quantity,
                revenue_paise=message.final_amount,
            )
        )
    else:
        if message.style_id:
            result.products.append(
                ProductUpdate(sku=sku, event_time=message.event_time, external_id=message.style_id)
            )
        result.events.extend(
            traffic_events(
                sku=sku,
                start=message.event_time,
                minutes=message.bucket_minutes,
                counts={
                    EventType.view: message.views,
                    EventType.click: message.clicks,
                    EventType.add_to_cart: message.add_to_cart,
                },
                traffic_id=message.traffic_id,
            )
        )
    return result


def json_schema() -> dict[str, Any]:
    """The committed docs/integrations/myntra.schema.json: one message (a batch wraps many)."""
    return schema_document(MESSAGE, platform="Myntra", slug="myntra")
