"""Meesho: our webhook format (Meesho publishes none) -> normalised records.

Field names are those of the Meesho supplier-panel orders file (sub_order_no, sku, catalog_id,
supplier_discounted_price, order_status as in "Reason for Credit Entry", order_date, ...). A
product is one `sku`; `catalog_id` is its external id. Prices are per unit, as in the orders file.
The format, with examples, is documented in docs/integrations/meesho.md and meesho.schema.json.
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

# The values of "Reason for Credit Entry" in the supplier panel's orders file.
ORDER_STATUSES: dict[str, Outcome] = {
    "PENDING": Outcome.placed,
    "READY_TO_SHIP": Outcome.placed,
    "HOLD": Outcome.placed,
    "SHIPPED": Outcome.placed,
    "OUT_FOR_DELIVERY": Outcome.placed,
    "DELIVERED": Outcome.placed,
    "DOOR_STEP_EXCHANGED": Outcome.placed,
    "LOST": Outcome.placed,
    "CANCELLED": Outcome.cancelled,
    "CANCELED": Outcome.cancelled,
    "RTO": Outcome.returned,
    "RTO_INITIATED": Outcome.returned,
    "RTO_LOCKED": Outcome.returned,
    "RTO_OFD": Outcome.returned,
    "RTO_COMPLETE": Outcome.returned,
    "RETURN": Outcome.returned,
    "RETURNED": Outcome.returned,
}
OrderStatus = Annotated[
    str,
    status_checker(ORDER_STATUSES),
    status_schema(
        ORDER_STATUSES,
        "As in the orders file's 'Reason for Credit Entry', any case. CANCELLED adds a cancellation; "
        "RTO* and RETURN/RETURNED add a return; the rest are orders in progress or delivered.",
    ),
]
EVENT_TYPES = ("catalog", "price", "inventory", "order", "traffic")


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    event_time: Moment = Field(description="When this change happened (for traffic: the bucket start).")
    sku: Sku = Field(description="Your SKU on Meesho: one ReSight product.")
    catalog_id: Identifier | None = Field(default=None, description="Meesho catalog id.")


class _Prices(_Message):
    mrp: Rupees | None = Field(default=None, description="MRP in rupees.")
    supplier_listed_price: Rupees | None = Field(default=None, description="Listed price per unit, rupees.")
    supplier_discounted_price: Rupees | None = Field(
        default=None, description="Price per unit after your discount, in rupees: the selling price."
    )

    @model_validator(mode="after")
    def _discount_within_listed(self) -> _Prices:
        listed, discounted = self.supplier_listed_price, self.supplier_discounted_price
        if listed is not None and discounted is not None and discounted > listed:
            raise ValueError("supplier_discounted_price must not exceed supplier_listed_price")
        return self

    @property
    def selling_price(self) -> int | None:
        if self.supplier_discounted_price is not None:
            return self.supplier_discounted_price
        return self.supplier_listed_price


class CatalogUpdate(_Prices):
    """A listing's details; any field left out keeps its stored value."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_type": "catalog",
                    "event_time": "2026-11-28T10:15:00+05:30",
                    "sku": "JVK-SAREE-117-RED",
                    "catalog_id": 98123456,
                    "product_name": "Banarasi Silk Blend Saree with Blouse Piece",
                    "category": "Women Ethnic > Sarees",
                    "size": "Free Size",
                    "mrp": "1,499",
                    "supplier_listed_price": 649,
                    "supplier_discounted_price": "599.00",
                    "inventory": 120,
                    "listing_status": "ACTIVE",
                }
            ]
        }
    )

    event_type: Literal["catalog"]
    product_name: Text | None = None
    brand: Name | None = None
    category: Name | None = Field(default=None, description='Category path, levels joined by " > ".')
    size: Name | None = None
    inventory: Stock | None = None
    listing_status: ListingState | None = None


class PriceUpdate(_Prices):
    """A price change: any of mrp, supplier_listed_price, supplier_discounted_price."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_type": "price",
                    "event_time": "2026-11-28T11:00:00+05:30",
                    "sku": "JVK-SAREE-117-RED",
                    "supplier_listed_price": "649",
                    "supplier_discounted_price": "₹579.50",
                }
            ]
        }
    )

    event_type: Literal["price"]

    @model_validator(mode="after")
    def _carries_a_price(self) -> PriceUpdate:
        if self.mrp is None and self.selling_price is None:
            raise ValueError("a price message needs mrp, supplier_listed_price or supplier_discounted_price")
        return self


class InventoryUpdate(_Message):
    """Units in stock now."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_type": "inventory",
                    "event_time": "2026-11-28T09:30:00+05:30",
                    "sku": "JVK-SAREE-117-RED",
                    "inventory": 0,
                }
            ]
        }
    )

    event_type: Literal["inventory"]
    inventory: Stock


class SubOrder(_Message):
    """A sub order as it stands now; send it again whenever its status changes."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_type": "order",
                    "event_time": "2026-11-28T19:20:00+05:30",
                    "sub_order_no": "170345678901234_1",
                    "sku": "JVK-SAREE-117-RED",
                    "catalog_id": "98123456",
                    "product_name": "Banarasi Silk Blend Saree with Blouse Piece",
                    "size": "Free Size",
                    "quantity": 2,
                    "supplier_listed_price": "649.00",
                    "supplier_discounted_price": "599.00",
                    "order_status": "PENDING",
                    "order_date": "2026-11-28T19:20:00+05:30",
                    "customer_state": "Uttar Pradesh",
                },
                {
                    "event_type": "order",
                    "event_time": "2026-11-29T08:05:00+05:30",
                    "sub_order_no": "170345678901234_1",
                    "sku": "JVK-SAREE-117-RED",
                    "quantity": 2,
                    "supplier_discounted_price": 599,
                    "order_status": "CANCELLED",
                    "order_date": "2026-11-28 19:20:00",
                },
            ]
        }
    )

    event_type: Literal["order"]
    sub_order_no: Identifier = Field(description="Unique per sub order: makes re-sent statuses harmless.")
    order_status: OrderStatus
    quantity: OrderQuantity
    supplier_discounted_price: Rupees = Field(
        description="Price per unit after your discount, in rupees; revenue = this x quantity."
    )
    supplier_listed_price: Rupees | None = Field(default=None, description="Listed price per unit, rupees.")
    order_date: Moment = Field(description="When the order was placed.")
    product_name: Text | None = None
    size: Name | None = None
    customer_state: Name | None = Field(default=None, description="Kept in the raw delivery.")


class TrafficCounts(_Message):
    """Views, clicks and add-to-carts of one SKU over a bucket starting at event_time."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_type": "traffic",
                    "event_time": "2026-11-28T10:00:00+05:30",
                    "bucket_minutes": 60,
                    "sku": "JVK-SAREE-117-RED",
                    "catalog_id": 98123456,
                    "views": 5230,
                    "clicks": 410,
                    "add_to_cart": 58,
                    "traffic_id": "JVK-SAREE-117-RED:2026112810",
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
    CatalogUpdate | PriceUpdate | InventoryUpdate | SubOrder | TrafficCounts,
    Field(discriminator="event_type"),
]
MESSAGE = TypeAdapter[Message](Message)


def parse(body: Any, store: StoreRef) -> Normalized:
    """One decoded message -> records; raises NormalizationError (quarantine) if it is unusable."""
    return normalize(validate(MESSAGE, body, tags=EVENT_TYPES))


def normalize(message: Message) -> Normalized:
    """A validated message -> product updates and events."""
    result = Normalized(notification_type=message.event_type)
    sku, at = message.sku, message.event_time
    if isinstance(message, CatalogUpdate):
        result.products.append(
            ProductUpdate(
                sku=sku,
                event_time=at,
                external_id=message.catalog_id,
                title=message.product_name,
                brand=message.brand,
                category=message.category,
                mrp_paise=message.mrp,
                price_paise=message.selling_price,
                stock=message.inventory,
                status=message.listing_status,
            )
        )
    elif isinstance(message, PriceUpdate):
        result.products.append(
            ProductUpdate(
                sku=sku,
                event_time=at,
                external_id=message.catalog_id,
                mrp_paise=message.mrp,
                price_paise=message.selling_price,
            )
        )
    elif isinstance(message, InventoryUpdate):
        result.products.append(
            ProductUpdate(sku=sku, event_time=at, external_id=message.catalog_id, stock=message.inventory)
        )
    elif isinstance(message, SubOrder):
        if message.catalog_id or message.product_name:
            result.products.append(
                ProductUpdate(
                    sku=sku, event_time=at, external_id=message.catalog_id, title=message.product_name
                )
            )
        result.events.extend(
            order_events(
                sku=sku,
                line_id=message.sub_order_no,
                outcome=ORDER_STATUSES[message.order_status],
                ordered_at=message.order_date,
                changed_at=at,
                quantity=message.quantity,
                revenue_paise=message.supplier_discounted_price * message.quantity,
            )
        )
    else:
        if message.catalog_id:
            result.products.append(ProductUpdate(sku=sku, event_time=at, external_id=message.catalog_id))
        result.events.extend(
            traffic_events(
                sku=sku,
                start=at,
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
    """The committed docs/integrations/meesho.schema.json: one message, or a batch of them."""
    return schema_document(MESSAGE, platform="Meesho", slug="meesho")
