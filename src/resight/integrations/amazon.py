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

Products = list[ProductUpdate]
Events = list[EventRecord]
# A notification type's reader: (Payload, a dict with its keys as sent; the notification's time; the
# store; products; events) -> None, appending its records to the two lists.
Handler = Callable[[dict[Any, Any], dt.datetime, StoreRef, Products, Events], None]


def _notification(body: dict[Any, Any]) -> tuple[dict[Any, Any], tuple[str | None, ...]]:
    """The notification itself (inside its EventBridge event, if any) and its _NOTIFICATION keys."""
    keys = _NOTIFICATION[tuple(body)]
    detail_key, detail_type_key, source_key = keys[4:]
    if detail_key is not None and (detail_type_key is not None or source_key is not None):
        detail = body[detail_key]
        if isinstance(detail, dict):
            return detail, _NOTIFICATION[tuple(detail)]
    return body, keys


def delivery_id(body: Any) -> str | None:
    """NotificationMetadata.NotificationId, else the EventBridge event id."""
    if not isinstance(body, dict):
        return None
    notification, keys = _notification(body)
    metadata = notification.get(keys[1])
    if isinstance(metadata, dict):
        found = metadata.get(_METADATA[tuple(metadata)][1])
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


# The fields read, whatever the case of their keys (amazon_fields.Keys).
_NOTIFICATION = f.Keys(
    "notificationtype", "notificationmetadata", "eventtime", "payload", "detail", "detail-type", "source"
)
_METADATA = f.Keys("publishtime", "notificationid")
_LISTING = f.Keys("sku", "asin", "status", "quantity")
_FBA = f.Keys("fulfillmentinventorybymarketplace", "asin", "sku")
_MARKET = f.Keys("marketplaceid", "fulfillmentinventory")
_FULFILLABLE = f.Keys("fulfillable")
_ITEM_INVENTORY = f.Keys("iteminventoryeventchanges")
_INVENTORY_CHANGE = f.Keys("asin", "endtime", "highlyavailableinventory")
_HOURLY = f.Keys("detailpagetrafficevents", "itemsaleseventchanges")
_ORDER_PAYLOAD = f.Keys("orderchangenotification")
_ORDER = f.Keys("amazonorderid", "summary", "orderchangetrigger")
_ORDER_TRIGGER = f.Keys("timeoforderchange")
_ORDER_SUMMARY = f.Keys("orderstatus", "purchasedate", "orderitems")
_ORDER_ITEM = f.Keys("sellersku", "orderitemid", "quantity", "orderitemstatus")
_CANCELLED = frozenset({"canceled", "cancelled"})
_ORDER_EVENT = EventType.order
_CANCELLATION_EVENT = EventType.cancellation


def _listing_status(
    payload: dict[Any, Any], when: dt.datetime, _store: StoreRef, products: Products, _events: Events
) -> None:
    sku_key, asin_key, status_key, _ = _LISTING.of(payload, "Payload")
    update = ProductUpdate(
        sku=f.text(payload.get(sku_key), "Payload.Sku"),
        external_id=f.opt_text(payload.get(asin_key), "Payload.Asin"),
        event_time=when,
        status=_status(payload.get(status_key)),
    )
    products.append(update)


def _mfn_quantity(
    payload: dict[Any, Any], when: dt.datetime, _store: StoreRef, products: Products, _events: Events
) -> None:
    sku_key, _, _, quantity_key = _LISTING[tuple(payload)]
    sku = f.text(payload.get(sku_key), "Payload.Sku")
    stock = f.integer(payload.get(quantity_key), "Payload.Quantity")
    # Positional (sku, event_time, external_id, title, brand, category, mrp, price, stock): a fifth
    # cheaper than by keyword, per notification.
    products.append(ProductUpdate(sku, when, None, None, None, None, None, None, stock))


def _fba_inventory(
    payload: dict[Any, Any], when: dt.datetime, _store: StoreRef, products: Products, _events: Events
) -> None:
    """Fulfillable FBA units in Amazon.in, or in the first marketplace listed when India is absent."""
    markets_key, asin_key, sku_key = _FBA.of(payload, "Payload")
    markets = f.array(payload.get(markets_key), "FulfillmentInventoryByMarketplace")
    if not markets:
        raise NormalizationError("FulfillmentInventoryByMarketplace is empty")
    market = markets[0]
    for candidate in markets:
        marketplace_key, _ = _MARKET.of(candidate, "FulfillmentInventoryByMarketplace")
        if candidate.get(marketplace_key) == f.AMAZON_IN:
            market = candidate
            break
    _, inventory_key = _MARKET.of(market, "FulfillmentInventoryByMarketplace")
    inventory: Any = market.get(inventory_key)
    (fulfillable_key,) = _FULFILLABLE.of(inventory, "FulfillmentInventory")
    asin = f.opt_text(payload.get(asin_key), "Payload.ASIN")
    sku = f.opt_text(payload.get(sku_key), "Payload.SKU", limit=f.MAX_SKU)
    if sku is None and asin is None:
        raise NormalizationError("FBA inventory change names neither a SKU nor an ASIN")
    update = ProductUpdate(
        sku=sku or str(asin),
        external_id=asin,
        by_external_id=sku is None,
        event_time=when,
        stock=f.integer(inventory.get(fulfillable_key), "FulfillmentInventory.Fulfillable"),
    )
    products.append(update)


def _item_inventory(
    payload: dict[Any, Any], _when: dt.datetime, _store: StoreRef, products: Products, _events: Events
) -> None:
    """Hourly highly-available inventory per ASIN (Vendor): taken as stock at the end of the hour."""
    (changes_key,) = _ITEM_INVENTORY.of(payload, "Payload")
    changes = f.array(payload.get(changes_key), "itemInventoryEventChanges")
    for index, change in enumerate(changes):
        asin_key, end_key, available_key = _INVENTORY_CHANGE.of(change, "itemInventoryEventChanges")
        asin = f.text(
            change.get(asin_key), f"itemInventoryEventChanges[{index}].asin", limit=f.MAX_EXTERNAL_ID
        )
        products.append(
            ProductUpdate(
                sku=asin,
                external_id=asin,
                by_external_id=True,
                event_time=f.time(change.get(end_key), f"itemInventoryEventChanges[{index}].endTime"),
                stock=f.integer(change.get(available_key), "highlyAvailableInventory"),
            )
        )


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


# The buckets of an hourly notification: ASIN and startTime, then what `amounts` reads.
_VIEW_BUCKET = f.Keys("asin", "starttime", "glanceviews")
_SALES_BUCKET = f.Keys("asin", "starttime", "orderedunits", "orderedrevenue")
Amounts = Callable[[dict[Any, Any], tuple[str | None, ...]], tuple[int, int]]


def _hourly_events(
    buckets: Any,
    what: str,
    event_type: EventType,
    id_prefix: str,
    keys: f.Keys,
    amounts: Amounts,
    events: Events,
) -> None:
    """One event per hourly bucket (ASIN, startTime and what `amounts` reads: quantity, revenue in
    paise) with a quantity; its external id names the hour and ASIN, so repeats are harmless.

    A notification carries hundreds of buckets: a well-formed ASIN and an hour already parsed are
    taken as they are, and the field readers (which also write the errors) see only the rest."""
    starts: dict[str, tuple[dt.datetime, str]] = {}
    limit = f.MAX_EXTERNAL_ID
    append = events.append
    for index, bucket in enumerate(f.array(buckets, what)):
        names = keys[tuple(bucket)]
        asin = bucket.get(names[0])
        start = bucket.get(names[1])
        try:
            if type(asin) is not str or not 0 < len(asin) <= limit or asin.strip() is not asin:
                asin = f.text(asin, "asin", limit=limit)
            hour = starts.get(start) if type(start) is str else None
            if hour is None:
                hour = _hour(starts, start)
            quantity, revenue_paise = amounts(bucket, names)
        except NormalizationError as exc:  # the bucket's path is written only when needed
            raise NormalizationError(f"{what}[{index}].{exc}") from exc
        if quantity:
            # sku, event_type, event_time, quantity, revenue_paise, external_id, by_external_id
            # (positional: cheaper than keywords, once per bucket)
            external_id = f"{id_prefix}/{hour[1]}/{asin}"  # hour first: docs/decisions/0305
            append(EventRecord(asin, event_type, hour[0], quantity, revenue_paise, external_id, True))


def _glance_views(bucket: dict[Any, Any], names: tuple[str | None, ...]) -> tuple[int, int]:
    views = bucket.get(names[2])
    if type(views) is int and views >= 0:
        return views, 0  # the usual case (f.integer's, without the call)
    return f.integer(views, "glanceViews"), 0


def _ordered(bucket: dict[Any, Any], names: tuple[str | None, ...]) -> tuple[int, int]:
    units = bucket.get(names[2])
    if type(units) is not int or units < 0:
        units = f.integer(units, "orderedUnits")
    revenue = bucket.get(names[3])
    return units, 0 if revenue is None or not units else f.amount_paise(revenue, "orderedRevenue")


def _traffic(
    payload: dict[Any, Any], _when: dt.datetime, _store: StoreRef, _products: Products, events: Events
) -> None:
    """Glance views per ASIN and hour: one view event per bucket, repeats of a bucket ignored."""
    buckets_key, _ = _HOURLY.of(payload, "Payload")
    buckets = payload.get(buckets_key)
    _hourly_events(
        buckets, "detailPageTrafficEvents", EventType.view, "views", _VIEW_BUCKET, _glance_views, events
    )


def _item_sales(
    payload: dict[Any, Any], _when: dt.datetime, _store: StoreRef, _products: Products, events: Events
) -> None:
    """Ordered units and revenue per ASIN and hour: one order event per bucket."""
    _, buckets_key = _HOURLY.of(payload, "Payload")
    buckets = payload.get(buckets_key)
    _hourly_events(
        buckets, "itemSalesEventChanges", EventType.order, "sales", _SALES_BUCKET, _ordered, events
    )


def _order_change(
    payload: dict[Any, Any], when: dt.datetime, _store: StoreRef, _products: Products, events: Events
) -> None:
    """Each order line becomes an order event (once, by order and item id); a cancelled order or
    line also becomes a cancellation event. ORDER_CHANGE carries no prices: revenue is the line's
    quantity times the product's current price, filled in when applied."""
    (change_key,) = _ORDER_PAYLOAD[tuple(payload)]
    change: Any = payload.get(change_key)
    if type(change) is not dict:
        f.require_object(change, "Payload.OrderChangeNotification")
    order_key, summary_key, trigger_key = _ORDER[tuple(change)]
    order_id = f.text(change.get(order_key), "AmazonOrderId", limit=150)
    summary = change.get(summary_key)
    if type(summary) is not dict:
        f.require_object(summary, "OrderChangeNotification.Summary")
    status_key, purchased_key, items_key = _ORDER_SUMMARY[tuple(summary)]
    trigger = change.get(trigger_key)
    changed_at = when
    if trigger is not None:
        (changed_key,) = _ORDER_TRIGGER.of(trigger, "OrderChangeTrigger")
        changed_at = f.opt_time(trigger.get(changed_key), "OrderChangeTrigger.TimeOfOrderChange") or when
    purchased_at = f.opt_time(summary.get(purchased_key), "Summary.PurchaseDate") or changed_at
    order_cancelled = str(summary.get(status_key, "")).lower() in _CANCELLED
    for index, item in enumerate(f.array(summary.get(items_key), "Summary.OrderItems")):
        sku_key, line_key, quantity_key, item_status_key = _ORDER_ITEM[tuple(item)]
        try:
            sku = f.text(item.get(sku_key), "SellerSKU")
            line = f"{order_id}/{f.text(item.get(line_key), 'OrderItemId', limit=45)}"
            # A line has at least one unit; Amazon may report 0 on a line it has since cancelled.
            quantity = max(1, f.integer(item.get(quantity_key, 1), "Quantity"))
        except NormalizationError as exc:  # the item's path is written only when needed
            raise NormalizationError(f"OrderItems[{index}].{exc}") from exc
        # Positional (sku, type, time, quantity, revenue, external id, by external id, revenue from
        # price): a fifth cheaper than by keyword, per order line.
        events.append(EventRecord(sku, _ORDER_EVENT, purchased_at, quantity, 0, line, False, True))
        if order_cancelled or str(item.get(item_status_key, "")).lower() in _CANCELLED:
            events.append(EventRecord(sku, _CANCELLATION_EVENT, changed_at, quantity, 0, line, False, True))


def _any_offer_changed(
    payload: dict[Any, Any], when: dt.datetime, store: StoreRef, products: Products, _events: Events
) -> None:
    products.append(any_offer_changed(payload, when, store.seller_id))


def _pricing_health(
    payload: dict[Any, Any], when: dt.datetime, _store: StoreRef, products: Products, _events: Events
) -> None:
    products.append(pricing_health(payload, when))


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


def parse_into(body: Any, store: StoreRef, products: Products, events: Events) -> tuple[str, bool]:
    """parse(), appending the records to `products` and `events` (a batch's, without a Normalized
    per item): the notification type, and whether it was used (False: an unknown type, ignored).
    Raises NormalizationError as parse() does; the lists are then left part-filled."""
    if type(body) is not dict:
        f.require_object(body, "the notification")
    body, keys = _notification(body)
    kind_key, metadata_key, time_key, payload_key = keys[:4]
    kind = body.get(kind_key)
    if not isinstance(kind, str) or not kind:
        raise NormalizationError("not an SP-API notification: NotificationType is missing")
    handler = HANDLERS.get(kind)
    if handler is None:
        return kind, False
    metadata = body.get(metadata_key)
    if metadata is not None and not isinstance(metadata, dict):
        raise NormalizationError("NotificationMetadata must be a JSON object")
    stamp = body.get(time_key)
    when = None if stamp is None else f.time(stamp, "EventTime")
    if when is None and metadata is not None:
        published_key = _METADATA.of(metadata, "NotificationMetadata")[0]
        when = f.opt_time(metadata.get(published_key), "NotificationMetadata.PublishTime")
    if when is None:
        raise NormalizationError("the notification has neither EventTime nor PublishTime")
    payload = body.get(payload_key)
    if not isinstance(payload, dict):
        raise NormalizationError("Payload must be a JSON object")
    handler(payload, when, store, products, events)
    return kind, True


def parse(body: Any, store: StoreRef) -> Normalized:
    result = Normalized()
    kind, used = parse_into(body, store, result.products, result.events)
    result.notification_type = kind
    if not used:
        result.ignored_reason = f"notification type {kind} is not used"
    return result
