"""Webhook bodies in each marketplace's own format, for the live simulator.

Amazon: SP-API notifications (ORDER_CHANGE, LISTINGS_ITEM_MFN_QUANTITY_CHANGE, ANY_OFFER_CHANGED,
DETAIL_PAGE_TRAFFIC_EVENT) as resight.integrations.amazon reads them; Myntra and Meesho: ReSight's
formats (docs/integrations/myntra.md, meesho.md). Each builder returns the body and the events it
should produce, as (event type, external id) pairs, so a test can find them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from resight.india import IST, paise_to_rupees

AMAZON_IN = "A21TJRUUN4KGV"
SUBSCRIPTION_ID = "7d5c3f1e-9b1a-4c3e-8f00-5e510a7e0001"
Expected = list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Item:
    """What a message needs to know about one product."""

    platform: str
    sku: str
    external_id: str
    seller_id: str


def _ist(moment: dt.datetime) -> str:
    return moment.astimezone(IST).isoformat(timespec="seconds")


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _rupees(paise: int) -> str:
    return str(paise_to_rupees(paise))


def _amazon(kind: str, when: dt.datetime, payload: dict[str, Any], notification_id: str) -> dict[str, Any]:
    return {
        "NotificationVersion": "1.0",
        "NotificationType": kind,
        "PayloadVersion": "1.0",
        "EventTime": _utc(when),
        "Payload": payload,
        "NotificationMetadata": {
            "ApplicationId": "amzn1.sellerapps.app.resight-demo",
            "SubscriptionId": SUBSCRIPTION_ID,
            "PublishTime": _utc(when),
            "NotificationId": notification_id,
        },
    }


def traffic(
    item: Item, start: dt.datetime, views: int, clicks: int, carts: int, traffic_id: str, notification_id: str
) -> tuple[dict[str, Any], Expected]:
    """One hour's traffic of one product. Amazon reports glance views only."""
    if item.platform == "amazon":
        end = start + dt.timedelta(hours=1)
        body = _amazon(
            "DETAIL_PAGE_TRAFFIC_EVENT",
            end,
            {
                "detailPageTrafficEvents": [
                    {
                        "asin": item.external_id,
                        "marketplaceId": AMAZON_IN,
                        "startTime": _utc(start),
                        "endTime": _utc(end),
                        "glanceViews": views,
                    }
                ]
            },
            notification_id,
        )
        start_utc = start.astimezone(dt.UTC).isoformat()
        return body, [("view", f"views/{start_utc}/{item.external_id}")] if views else []
    sku_field, id_field = (
        ("seller_sku_code", "style_id") if item.platform == "myntra" else ("sku", "catalog_id")
    )
    body = {
        "event_type": "traffic",
        "event_time": _ist(start),
        "bucket_minutes": 60,
        sku_field: item.sku,
        id_field: item.external_id,
        "views": views,
        "clicks": clicks,
        "add_to_cart": carts,
        "traffic_id": traffic_id,
    }
    counts = (("view", views), ("click", clicks), ("add_to_cart", carts))
    return body, [(kind, traffic_id) for kind, count in counts if count]


def order(
    item: Item,
    order_id: str,
    *,
    quantity: int,
    unit_price_paise: int,
    ordered_at: dt.datetime,
    changed_at: dt.datetime,
    outcome: str,  # "placed", "cancelled" or "returned"
    notification_id: str,
) -> tuple[dict[str, Any], Expected]:
    """An order line as it stands. Amazon's ORDER_CHANGE knows no returns: only cancellations."""
    follow_up = {"cancelled": "cancellation", "returned": "return"}.get(outcome)
    if item.platform == "amazon":
        line = f"{order_id}/{int(order_id.replace('-', '')) % 10**14:014d}"
        status = "Canceled" if outcome == "cancelled" else "Unshipped"
        body = _amazon(
            "ORDER_CHANGE",
            changed_at,
            {
                "OrderChangeNotification": {
                    "NotificationLevel": "OrderLevel",
                    "SellerId": item.seller_id,
                    "AmazonOrderId": order_id,
                    "OrderChangeType": "OrderStatusChange",
                    "OrderChangeTrigger": {
                        "TimeOfOrderChange": _utc(changed_at),
                        "ChangeReason": "BuyerRequested",
                    },
                    "Summary": {
                        "MarketplaceId": AMAZON_IN,
                        "OrderStatus": status,
                        "PurchaseDate": _utc(ordered_at),
                        "FulfillmentType": "MFN",
                        "OrderItems": [
                            {"OrderItemId": line.split("/")[1], "SellerSKU": item.sku, "Quantity": quantity}
                        ],
                    },
                }
            },
            notification_id,
        )
        expected = [("order", line)] + ([("cancellation", line)] if outcome == "cancelled" else [])
        return body, expected
    if item.platform == "myntra":
        line = order_id + "1"
        status = {"placed": "WP", "cancelled": "F", "returned": "RTO"}[outcome]
        body = {
            "event_type": "order",
            "event_time": _ist(changed_at),
            "order_id": order_id,
            "order_line_id": line,
            "seller_sku_code": item.sku,
            "style_id": item.external_id,
            "order_status": status,
            "quantity": quantity,
            "final_amount": _rupees(unit_price_paise * quantity),
            "created_on": _ist(ordered_at),
        }
    else:
        line = order_id
        status = {"placed": "PENDING", "cancelled": "CANCELLED", "returned": "RTO_COMPLETE"}[outcome]
        body = {
            "event_type": "order",
            "event_time": _ist(changed_at),
            "sub_order_no": order_id,
            "sku": item.sku,
            "catalog_id": item.external_id,
            "quantity": quantity,
            "supplier_discounted_price": _rupees(unit_price_paise),
            "order_status": status,
            "order_date": _ist(ordered_at),
        }
    return body, [("order", line)] + ([(follow_up, line)] if follow_up else [])


def stock(item: Item, units: int, when: dt.datetime, notification_id: str) -> dict[str, Any]:
    if item.platform == "amazon":
        payload = {
            "SellerId": item.seller_id,
            "FulfillmentChannelCode": "DEFAULT",
            "Sku": item.sku,
            "Quantity": units,
        }
        return _amazon("LISTINGS_ITEM_MFN_QUANTITY_CHANGE", when, payload, notification_id)
    if item.platform == "myntra":
        return {
            "event_type": "inventory",
            "event_time": _ist(when),
            "seller_sku_code": item.sku,
            "inventory_count": units,
        }
    return {"event_type": "inventory", "event_time": _ist(when), "sku": item.sku, "inventory": units}


def price(item: Item, price_paise: int, when: dt.datetime, notification_id: str) -> dict[str, Any]:
    if item.platform == "amazon":
        money = {"Amount": float(Decimal(price_paise) / 100), "CurrencyCode": "INR"}
        payload = {
            "AnyOfferChangedNotification": {
                "SellerId": item.seller_id,
                "OfferChangeTrigger": {
                    "MarketplaceId": AMAZON_IN,
                    "ASIN": item.external_id,
                    "ItemCondition": "new",
                    "TimeOfOfferChange": _utc(when),
                },
                "Summary": {"BuyBoxPrices": [{"Condition": "new", "ListingPrice": money}]},
                "Offers": [{"SellerId": item.seller_id, "SubCondition": "new", "ListingPrice": money}],
            }
        }
        return _amazon("ANY_OFFER_CHANGED", when, payload, notification_id)
    if item.platform == "myntra":
        return {
            "event_type": "price",
            "event_time": _ist(when),
            "seller_sku_code": item.sku,
            "selling_price": _rupees(price_paise),
        }
    return {
        "event_type": "price",
        "event_time": _ist(when),
        "sku": item.sku,
        "supplier_discounted_price": _rupees(price_paise),
    }


def malformed(item: Item, variant: int, when: dt.datetime, notification_id: str) -> dict[str, Any]:
    """Authentic (signed) but not normalisable: the receiver must quarantine it."""
    if item.platform == "amazon":
        if variant % 2:
            body = _amazon(
                "ORDER_CHANGE", when, {"OrderChangeNotification": {"Summary": {}}}, notification_id
            )
            return body  # no AmazonOrderId
        return {"Payload": {"Sku": item.sku}, "EventTime": _utc(when)}  # no NotificationType
    sku_field = "seller_sku_code" if item.platform == "myntra" else "sku"
    if variant % 2:
        return {
            "event_type": "inventory",
            "event_time": "yesterday evening",
            sku_field: item.sku,
            "inventory": 3,
        }
    amount = "final_amount" if item.platform == "myntra" else "supplier_discounted_price"
    return {
        "event_type": "order",
        "event_time": _ist(when),
        "order_id": "1",
        "order_line_id": "1",
        "sub_order_no": "1_1",
        sku_field: item.sku,
        "order_status": "PENDING" if item.platform == "meesho" else "WP",
        "quantity": 1,
        amount: "-5",
        "created_on": _ist(when),
        "order_date": _ist(when),
    }
