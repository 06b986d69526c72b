"""The general path of the Amazon adapter, as it was before the fast reading of amazon.py
(amazon_fields.Keys): every JSON object is read through a lower-cased copy of it. Kept here only as
the oracle that tests/integrations/test_amazon_fast_paths.py compares the adapter with: same
records, same errors, whatever the case, order, duplication or type of the fields sent.

Leaf checks (text, integer, amount_paise, time) are the adapter's own."""

from __future__ import annotations

import datetime as dt
from typing import Any

from resight.catalog.models import ListingStatus
from resight.events.models import EventType
from resight.integrations import amazon_fields as f
from resight.integrations.records import EventRecord, NormalizationError, Normalized, ProductUpdate, StoreRef


def obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise NormalizationError(f"{what} must be a JSON object")
    return {key.lower(): item for key, item in value.items()}


def opt_obj(value: Any, what: str) -> dict[str, Any]:
    return {} if value is None else obj(value, what)


def objects(value: Any, what: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise NormalizationError(f"{what} must be a JSON array")
    for index, entry in enumerate(value):
        if not isinstance(entry, dict):
            raise NormalizationError(f"{what}[{index}] must be a JSON object")
    return [{key.lower(): item for key, item in entry.items()} for entry in value]


def time(value: Any, what: str) -> dt.datetime:
    if not isinstance(value, str):
        raise NormalizationError(f"{what} is missing or not an ISO 8601 date-time")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise NormalizationError(f"{what} is not an ISO 8601 date-time: {value!r}") from exc
    if moment.tzinfo is None:
        raise NormalizationError(f"{what} has no time zone: {value!r}")
    return moment if moment.tzinfo is dt.UTC else moment.astimezone(dt.UTC)


def opt_time(value: Any, what: str) -> dt.datetime | None:
    return None if value is None else time(value, what)


def money_paise(value: Any, what: str) -> int | None:
    if value is None:
        return None
    money = obj(value, what)
    if money.get("amount") is None:
        return None
    return f.amount_paise(money["amount"], f"{what}.Amount")


def _unwrap(body: Any) -> dict[str, Any]:
    envelope = obj(body, "the notification")
    if isinstance(envelope.get("detail"), dict) and ("detail-type" in envelope or "source" in envelope):
        return obj(envelope["detail"], "EventBridge detail")
    return envelope


def _status(values: Any) -> ListingStatus:
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        raise NormalizationError("Payload.Status must be an array of strings")
    states = {value.upper() for value in values}
    if "DELETED" in states:
        return ListingStatus.deleted
    if "BUYABLE" in states:
        return ListingStatus.active
    return ListingStatus.inactive


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
    markets = objects(payload.get("fulfillmentinventorybymarketplace"), "FulfillmentInventoryByMarketplace")
    if not markets:
        raise NormalizationError("FulfillmentInventoryByMarketplace is empty")
    market = next((m for m in markets if m.get("marketplaceid") == f.AMAZON_IN), markets[0])
    inventory = obj(market.get("fulfillmentinventory"), "FulfillmentInventory")
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
    updates = []
    changes = objects(payload.get("iteminventoryeventchanges"), "itemInventoryEventChanges")
    for index, change in enumerate(changes):
        asin = f.text(change.get("asin"), f"itemInventoryEventChanges[{index}].asin", limit=f.MAX_EXTERNAL_ID)
        updates.append(
            ProductUpdate(
                sku=asin,
                external_id=asin,
                by_external_id=True,
                event_time=time(change.get("endtime"), f"itemInventoryEventChanges[{index}].endTime"),
                stock=f.integer(change.get("highlyavailableinventory"), "highlyAvailableInventory"),
            )
        )
    return Normalized(products=updates)


def _hourly(buckets: Any, what: str, event_type: EventType, prefix: str, quantity: str) -> Normalized:
    events = []
    for index, bucket in enumerate(objects(buckets, what)):
        try:
            asin = f.text(bucket.get("asin"), "asin", limit=f.MAX_EXTERNAL_ID)
            start = f.time(bucket.get("starttime"), "startTime")
            units = f.integer(
                bucket.get(quantity), "glanceViews" if quantity == "glanceviews" else "orderedUnits"
            )
            revenue = bucket.get("orderedrevenue") if quantity == "orderedunits" else None
            paise = 0 if revenue is None or not units else f.amount_paise(revenue, "orderedRevenue")
        except NormalizationError as exc:
            raise NormalizationError(f"{what}[{index}].{exc}") from exc
        if units:
            external_id = f"{prefix}/{start.isoformat()}/{asin}"
            events.append(EventRecord(asin, event_type, start, units, paise, external_id, True, False))
    return Normalized(events=events)


def _traffic(payload: dict[str, Any], _when: dt.datetime, _store: StoreRef) -> Normalized:
    buckets = payload.get("detailpagetrafficevents")
    return _hourly(buckets, "detailPageTrafficEvents", EventType.view, "views", "glanceviews")


def _item_sales(payload: dict[str, Any], _when: dt.datetime, _store: StoreRef) -> Normalized:
    buckets = payload.get("itemsaleseventchanges")
    return _hourly(buckets, "itemSalesEventChanges", EventType.order, "sales", "orderedunits")


def _order_change(payload: dict[str, Any], when: dt.datetime, _store: StoreRef) -> Normalized:
    change = obj(payload.get("orderchangenotification"), "Payload.OrderChangeNotification")
    order_id = f.text(change.get("amazonorderid"), "AmazonOrderId", limit=150)
    summary = obj(change.get("summary"), "OrderChangeNotification.Summary")
    trigger = opt_obj(change.get("orderchangetrigger"), "OrderChangeTrigger")
    changed_at = opt_time(trigger.get("timeoforderchange"), "OrderChangeTrigger.TimeOfOrderChange") or when
    purchased_at = opt_time(summary.get("purchasedate"), "Summary.PurchaseDate") or changed_at
    order_cancelled = str(summary.get("orderstatus", "")).lower() in {"canceled", "cancelled"}
    events = []
    for index, item in enumerate(objects(summary.get("orderitems"), "Summary.OrderItems")):
        try:
            sku = f.text(item.get("sellersku"), "SellerSKU")
            line = f"{order_id}/{f.text(item.get('orderitemid'), 'OrderItemId', limit=45)}"
            quantity = max(1, f.integer(item.get("quantity", 1), "Quantity"))
        except NormalizationError as exc:
            raise NormalizationError(f"OrderItems[{index}].{exc}") from exc
        item_status = str(item.get("orderitemstatus", "")).lower()
        cancelled = order_cancelled or item_status in {"canceled", "cancelled"}
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


def _for_condition(entries: list[dict[str, Any]], condition: str) -> list[dict[str, Any]]:
    return [entry for entry in entries if str(entry.get("condition", "")).lower() == condition]


def _first_rank(rankings: list[dict[str, Any]]) -> int | None:
    for ranking in rankings:
        if ranking.get("rank") is not None:
            return f.integer(ranking["rank"], "SalesRankings.Rank", minimum=1)
    return None


def _any_offer_changed(payload: dict[str, Any], event_time: dt.datetime, store: StoreRef) -> Normalized:
    change = obj(payload.get("anyofferchangednotification"), "Payload.AnyOfferChangedNotification")
    ours = f.opt_text(change.get("sellerid"), "SellerId") or store.seller_id
    trigger = obj(change.get("offerchangetrigger"), "OfferChangeTrigger")
    asin = f.text(trigger.get("asin"), "OfferChangeTrigger.ASIN", limit=f.MAX_EXTERNAL_ID)
    condition = str(trigger.get("itemcondition") or "new").lower()
    when = opt_time(trigger.get("timeofofferchange"), "OfferChangeTrigger.TimeOfOfferChange") or event_time
    summary = opt_obj(change.get("summary"), "Summary")
    buybox = None
    for entry in _for_condition(objects(summary.get("buyboxprices"), "Summary.BuyBoxPrices"), condition):
        buybox = money_paise(entry.get("listingprice"), "BuyBoxPrices.ListingPrice")
        break
    our_price = None
    competing: list[int] = []
    offers = objects(change.get("offers"), "Offers")
    for index, offer in enumerate(offers):
        price = money_paise(offer.get("listingprice"), f"Offers[{index}].ListingPrice")
        if price is None:
            continue
        if ours is not None and offer.get("sellerid") == ours:
            our_price = price
        else:
            competing.append(price)
    if not offers:
        for entry in _for_condition(objects(summary.get("lowestprices"), "Summary.LowestPrices"), condition):
            price = money_paise(entry.get("listingprice"), "LowestPrices.ListingPrice")
            if price is not None:
                competing.append(price)
    update = ProductUpdate(
        sku=asin,
        external_id=asin,
        by_external_id=True,
        event_time=when,
        price_paise=our_price,
        buybox_price_paise=buybox,
        lowest_competitor_price_paise=min(competing) if competing else None,
        sales_rank=_first_rank(objects(summary.get("salesrankings"), "Summary.SalesRankings")),
    )
    return Normalized(products=[update])


def _pricing_health(payload: dict[str, Any], event_time: dt.datetime, _store: StoreRef) -> Normalized:
    trigger = obj(payload.get("offerchangetrigger"), "payload.offerChangeTrigger")
    asin = f.text(trigger.get("asin"), "offerChangeTrigger.asin", limit=f.MAX_EXTERNAL_ID)
    condition = str(trigger.get("itemcondition") or "new").lower()
    when = opt_time(trigger.get("timeofofferchange"), "offerChangeTrigger.timeOfOfferChange") or event_time
    offer = opt_obj(payload.get("merchantoffer"), "payload.merchantOffer")
    summary = opt_obj(payload.get("summary"), "payload.summary")
    buybox = None
    for entry in _for_condition(objects(summary.get("buyboxprices"), "summary.buyBoxPrices"), condition):
        buybox = money_paise(entry.get("listingprice"), "buyBoxPrices.listingPrice")
        break
    update = ProductUpdate(
        sku=asin,
        external_id=asin,
        by_external_id=True,
        event_time=when,
        price_paise=money_paise(offer.get("listingprice"), "merchantOffer.listingPrice"),
        buybox_price_paise=buybox,
        sales_rank=_first_rank(objects(summary.get("salesrankings"), "summary.salesRankings")),
    )
    if update.price_paise is None and update.buybox_price_paise is None and update.sales_rank is None:
        raise NormalizationError("PRICING_HEALTH carries neither our price, a buy-box price nor a rank")
    return Normalized(products=[update])


HANDLERS = {
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
    metadata = opt_obj(notification.get("notificationmetadata"), "NotificationMetadata")
    when = opt_time(notification.get("eventtime"), "EventTime") or opt_time(
        metadata.get("publishtime"), "NotificationMetadata.PublishTime"
    )
    if when is None:
        raise NormalizationError("the notification has neither EventTime nor PublishTime")
    payload = obj(notification.get("payload"), "Payload")
    result = handler(payload, when, store)
    result.notification_type = kind
    return result


def batch(items: list[Any], store: StoreRef) -> Normalized:
    """pipeline.normalize's batch form, item by item through parse()."""
    merged = Normalized(notification_type="batch")
    ignored = 0
    for index, item in enumerate(items):
        try:
            part = parse(item, store)
        except NormalizationError as exc:
            raise NormalizationError(f"batch item {index}: {exc}") from exc
        ignored += part.ignored_reason is not None
        merged.products.extend(part.products)
        merged.events.extend(part.events)
    if items and ignored == len(items):
        merged.ignored_reason = "every item of the batch was ignored"
    return merged
