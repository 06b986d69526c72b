"""Amazon Selling Partner API notifications -> normalised records.

Accepts the bare notification or the EventBridge event that wraps it (`detail` is the
notification), with PascalCase or camelCase keys. Unknown notification types are acknowledged and
ignored. See docs/integrations/amazon.md for the field mapping.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from resight.catalog.models import ListingStatus
from resight.events.models import EventType
from resight.integrations import amazon_fields as f
from resight.integrations.amazon_pricing import any_offer_changed, pricing_health
from resight.integrations.records import EventRecord, NormalizationError, Normalized, ProductUpdate, StoreRef

Handler = Callable[[dict[str, Any], dt.datetime, StoreRef], Normalized]


def _unwrap(body: Any) -> dict[str, Any]:
    """The notification itself, with lower-cased top-level keys."""
    envelope = f.obj(body, "the notification")
    if isinstance(envelope.get("detail"), dict) and ("detail-type" in envelope or "source" in envelope):
        return f.obj(envelope["detail"], "EventBridge detail")
    return envelope


def delivery_id(body: Any) -> str | None:
    """NotificationMetadata.NotificationId, else the EventBridge event id."""
    if not isinstance(body, dict):
        return None
    try:
        notification = _unwrap(body)
        metadata = f.opt_obj(notification.get("notificationmetadata"), "NotificationMetadata")
    except NormalizationError:
        return None
    found = metadata.get("notificationid")
    if isinstance(found, str) and found:
        return "amazon:" + found
    event_id = body.get("id")
    if "detail" in body and isinstance(event_id, str) and event_id:
        return "eventbridge:" + event_id
    return None


def _status(values: Any) -> ListingStatus:
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        raise NormalizationError("Payload.Status must be an array of strings")
    states = {value.upper() for value in values}
    if "DELETED" in states:
        return ListingStatus.deleted
    if "BUYABLE" in states:
        return ListingStatus.active
    return ListingStatus.inactive  # listed, not buyable (perhaps still discoverable)


def _listing_status(payload: dict[str, Any], when: dt.datetime, _store: StoreRef) -> Normalized:
    update = ProductUpdate(
        sku=f.text(payload.get("sku"), "Payload.Sku"),
        external_id=f.opt_text(payload.get("asin"), "Payload.Asin"),
        event_time=when,
        status=_status(payload.get("status")),
    )
    return Normalized(products=[update])


def _mfn_quantity(payload: dict[str, Any], when: dt.datetime, _store: StoreRef) -> Normalized:
    update = ProductUpdate(
        sku=f.text(payload.get("sku"), "Payload.Sku"),
        event_time=when,
        stock=f.integer(payload.get("quantity"), "Payload.Quantity"),
    )
    return Normalized(products=[update])


def _fba_inventory(payload: dict[str, Any], when: dt.datetime, _store: StoreRef) -> Normalized:
    """Fulfillable FBA units in Amazon.in, or in the first marketplace listed when India is absent."""
    markets = f.objects(payload.get("fulfillmentinventorybymarketplace"), "FulfillmentInventoryByMarketplace")
    if not markets:
        raise NormalizationError("FulfillmentInventoryByMarketplace is empty")
    market = next((m for m in markets if m.get("marketplaceid") == f.AMAZON_IN), markets[0])
    inventory = f.obj(market.get("fulfillmentinventory"), "FulfillmentInventory")
    asin = f.opt_text(payload.get("asin"), "Payload.ASIN")
    sku = f.opt_text(payload.get("sku"), "Payload.SKU", limit=f.MAX_SKU)
    if sku is None and asin is None:
        raise NormalizationError("FBA inventory change names neither a SKU nor an ASIN")
    update = ProductUpdate(
        sku=sku or str(asin),
        external_id=asin,
        by_external_id=sku is None,
        event_time=when,
        stock=f.integer(inventory.get("fulfillable"), "FulfillmentInventory.Fulfillable"),
    )
    return Normalized(products=[update])


def _item_inventory(payload: dict[str, Any], _when: dt.datetime, _store: StoreRef) -> Normalized:
    """Hourly highly-available inventory per ASIN (Vendor): taken as stock at the end of the hour."""
    updates = []
    for index, change in enumerate(
        f.objects(payload.get("iteminventoryeventchanges"), "itemInventoryEventChanges")
    ):
        asin = f.text(change.get("asin"), f"itemInventoryEventChanges[{index}].asin", limit=f.MAX_EXTERNAL_ID)
        updates.append(
            ProductUpdate(
                sku=asin,
                external_id=asin,
                by_external_id=True,
                event_time=f.time(change.get("endtime"), f"itemInventoryEventChanges[{index}].endTime"),
                stock=f.integer(change.get("highlyavailableinventory"), "highlyAvailableInventory"),
            )
        )
    return Normalized(products=updates)


def _hour(starts: dict[str, tuple[dt.datetime, str]], value: Any) -> tuple[dt.datetime, str]:
    """A bucket's startTime and its ISO text (for the event's external id). The buckets of one
    notification share a few hours: each distinct text is parsed once."""
    if type(value) is str and value in starts:
        return starts[value]
    start = f.time(value, "startTime")
    parsed = start, start.isoformat()
    if isinstance(value, str):
        starts[value] = parsed
    return parsed


def _hourly_events(
    buckets: Any,
    what: str,
    event_type: EventType,
    id_prefix: str,
    amounts: Callable[[dict[Any, Any], dict[str, str]], tuple[int, int]],
) -> Normalized:
    """One event per hourly bucket (ASIN, startTime and what `amounts` reads: quantity, revenue in
    paise) with a quantity; its external id names the ASIN and hour, so repeats are harmless."""
    events = []
    starts: dict[str, tuple[dt.datetime, str]] = {}
    for index, (bucket, names) in enumerate(f.entries(buckets, what)):
        try:
            asin = f.text(bucket.get(names.get("asin")), "asin", limit=f.MAX_EXTERNAL_ID)
            start, stamp = _hour(starts, bucket.get(names.get("starttime")))
            quantity, revenue_paise = amounts(bucket, names)
        except NormalizationError as exc:  # the bucket's path is written only when needed
            raise NormalizationError(f"{what}[{index}].{exc}") from exc
        if quantity:
            events.append(
                EventRecord(
                    sku=asin,
                    by_external_id=True,
                    event_type=event_type,
                    event_time=start,
                    quantity=quantity,
                    revenue_paise=revenue_paise,
                    external_id=f"{id_prefix}/{asin}/{stamp}",
                )
            )
    return Normalized(events=events)


def _glance_views(bucket: dict[Any, Any], names: dict[str, str]) -> tuple[int, int]:
    return f.integer(bucket.get(names.get("glanceviews")), "glanceViews"), 0


def _ordered(bucket: dict[Any, Any], names: dict[str, str]) -> tuple[int, int]:
    units = f.integer(bucket.get(names.get("orderedunits")), "orderedUnits")
    revenue = bucket.get(names.get("orderedrevenue"))
    return units, 0 if revenue is None or not units else f.amount_paise(revenue, "orderedRevenue")


def _traffic(payload: dict[str, Any], _when: dt.datetime, _store: StoreRef) -> Normalized:
    """Glance views per ASIN and hour: one view event per bucket, repeats of a bucket ignored."""
    buckets = payload.get("detailpagetrafficevents")
    return _hourly_events(buckets, "detailPageTrafficEvents", EventType.view, "views", _glance_views)


def _item_sales(payload: dict[str, Any], _when: dt.datetime, _store: StoreRef) -> Normalized:
    """Ordered units and revenue per ASIN and hour: one order event per bucket."""
    buckets = payload.get("itemsaleseventchanges")
    return _hourly_events(buckets, "itemSalesEventChanges", EventType.order, "sales", _ordered)


def _order_change(payload: dict[str, Any], when: dt.datetime, _store: StoreRef) -> Normalized:
    """Each order line becomes an order event (once, by order and item id); a cancelled order or
    line also becomes a cancellation event. ORDER_CHANGE carries no prices: revenue is the line's
    quantity times the product's current price, filled in when applied."""
    change = f.obj(payload.get("orderchangenotification"), "Payload.OrderChangeNotification")
    order_id = f.text(change.get("amazonorderid"), "AmazonOrderId", limit=150)
    summary = f.obj(change.get("summary"), "OrderChangeNotification.Summary")
    trigger = f.opt_obj(change.get("orderchangetrigger"), "OrderChangeTrigger")
    changed_at = f.opt_time(trigger.get("timeoforderchange"), "OrderChangeTrigger.TimeOfOrderChange") or when
    purchased_at = f.opt_time(summary.get("purchasedate"), "Summary.PurchaseDate") or changed_at
    order_cancelled = str(summary.get("orderstatus", "")).lower() in {"canceled", "cancelled"}
    events = []
    for index, item in enumerate(f.objects(summary.get("orderitems"), "Summary.OrderItems")):
        try:
            sku = f.text(item.get("sellersku"), "SellerSKU")
            line = f"{order_id}/{f.text(item.get('orderitemid'), 'OrderItemId', limit=45)}"
            # A line has at least one unit; Amazon may report 0 on a line it has since cancelled.
            quantity = max(1, f.integer(item.get("quantity", 1), "Quantity"))
        except NormalizationError as exc:  # the item's path is written only when needed
            raise NormalizationError(f"OrderItems[{index}].{exc}") from exc
        cancelled = order_cancelled or str(item.get("orderitemstatus", "")).lower() in {
            "canceled",
            "cancelled",
        }
        for kind, moment in ((EventType.order, purchased_at), (EventType.cancellation, changed_at)):
            if kind is EventType.order or cancelled:
                events.append(
                    EventRecord(
                        sku=sku,
                        event_type=kind,
                        event_time=moment,
                        quantity=quantity,
                        external_id=line,
                        revenue_from_price=True,
                    )
                )
    return Normalized(events=events)


def _any_offer_changed(payload: dict[str, Any], when: dt.datetime, store: StoreRef) -> Normalized:
    return Normalized(products=[any_offer_changed(payload, when, store.seller_id)])


def _pricing_health(payload: dict[str, Any], when: dt.datetime, _store: StoreRef) -> Normalized:
    return Normalized(products=[pricing_health(payload, when)])


HANDLERS: dict[str, Handler] = {
    "ANY_OFFER_CHANGED": _any_offer_changed,
    "PRICING_HEALTH": _pricing_health,
    "LISTINGS_ITEM_STATUS_CHANGE": _listing_status,
    "LISTINGS_ITEM_STATUS_CHANGED": _listing_status,
    "LISTINGS_ITEM_MFN_QUANTITY_CHANGE": _mfn_quantity,
    "FBA_INVENTORY_AVAILABILITY_CHANGES": _fba_inventory,
    "ITEM_INVENTORY_EVENT_CHANGE": _item_inventory,
    "ORDER_CHANGE": _order_change,
    "DETAIL_PAGE_TRAFFIC_EVENT": _traffic,
    "ITEM_SALES_EVENT_CHANGE": _item_sales,
}


def parse(body: Any, store: StoreRef) -> Normalized:
    notification = _unwrap(body)
    kind = notification.get("notificationtype")
    if not isinstance(kind, str) or not kind:
        raise NormalizationError("not an SP-API notification: NotificationType is missing")
    handler = HANDLERS.get(kind)
    if handler is None:
        return Normalized(notification_type=kind, ignored_reason=f"notification type {kind} is not used")
    metadata = f.opt_obj(notification.get("notificationmetadata"), "NotificationMetadata")
    when = f.opt_time(notification.get("eventtime"), "EventTime") or f.opt_time(
        metadata.get("publishtime"), "NotificationMetadata.PublishTime"
    )
    if when is None:
        raise NormalizationError("the notification has neither EventTime nor PublishTime")
    payload = f.obj(notification.get("payload"), "Payload")
    result = handler(payload, when, store)
    result.notification_type = kind
    return result
