"""Amazon's competitive-pricing notifications: ANY_OFFER_CHANGED and PRICING_HEALTH.

Prices are listing prices (item price without shipping), the same basis as the product's own price,
so our price, the buy-box price and the lowest competing price compare like with like.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from resight.integrations import amazon_fields as f
from resight.integrations.records import NormalizationError, ProductUpdate

# The fields read, whatever the case of their keys (amazon_fields.Keys).
_ANY_OFFER_PAYLOAD = f.Keys("anyofferchangednotification")
_ANY_OFFER = f.Keys("sellerid", "offerchangetrigger", "summary", "offers")
_HEALTH = f.Keys("offerchangetrigger", "merchantoffer", "summary")
_TRIGGER = f.Keys("asin", "itemcondition", "timeofofferchange")
_SUMMARY = f.Keys("buyboxprices", "lowestprices", "salesrankings")
_MERCHANT_OFFER = f.Keys("listingprice")
_PRICE = f.Keys("condition", "listingprice")
_OFFER = f.Keys("listingprice", "sellerid")
_RANK = f.Keys("rank")


def _prices(value: Any, what: str, condition: str, price_what: str, *, first: bool) -> list[int | None]:
    """The listing prices of the entries for the item's condition (only the first one's if `first`)."""
    prices = []
    for entry in f.array(value, what):
        condition_key, price_key = _PRICE.of(entry, what)
        if str(entry.get(condition_key, "")).lower() == condition:
            prices.append(f.money_paise(entry.get(price_key), price_what))
            if first:
                break
    return prices


def _first_rank(value: Any, what: str) -> int | None:
    """The first listed sales rank: Amazon lists the item's main display category first."""
    for ranking in f.array(value, what):
        (rank_key,) = _RANK[tuple(ranking)]
        rank = ranking.get(rank_key)
        if rank is not None:
            return f.integer(rank, "SalesRankings.Rank", minimum=1)
    return None


def any_offer_changed(
    payload: dict[Any, Any], event_time: dt.datetime, seller_id: str | None
) -> ProductUpdate:
    """`payload` is the notification's Payload object, keys as sent."""
    (change_key,) = _ANY_OFFER_PAYLOAD.of(payload, "Payload")
    change: Any = payload.get(change_key)
    seller_key, trigger_key, summary_key, offers_key = _ANY_OFFER.of(
        change, "Payload.AnyOfferChangedNotification"
    )
    ours = f.opt_text(change.get(seller_key), "SellerId") or seller_id
    trigger = change.get(trigger_key)
    asin_key, condition_key, time_key = _TRIGGER.of(trigger, "OfferChangeTrigger")
    asin = f.text(trigger.get(asin_key), "OfferChangeTrigger.ASIN", limit=f.MAX_EXTERNAL_ID)
    condition = str(trigger.get(condition_key) or "new").lower()
    when = f.opt_time(trigger.get(time_key), "OfferChangeTrigger.TimeOfOfferChange") or event_time
    summary = change.get(summary_key)
    if summary is None:
        summary = {}
    buybox_key, lowest_key, ranks_key = _SUMMARY.of(summary, "Summary")

    buyboxes = _prices(
        summary.get(buybox_key), "Summary.BuyBoxPrices", condition, "BuyBoxPrices.ListingPrice", first=True
    )
    our_price = None
    competing: list[int] = []
    offers = f.array(change.get(offers_key), "Offers")
    for index, offer in enumerate(offers):
        price_key, offer_seller_key = _OFFER.of(offer, "Offers")
        price = f.money_paise(offer.get(price_key), f"Offers[{index}].ListingPrice")
        if price is None:
            continue
        if ours is not None and offer.get(offer_seller_key) == ours:
            our_price = price
        else:
            competing.append(price)
    if not offers:
        # No offer list: the summary's lowest price for the condition (it may include ours).
        for price in _prices(
            summary.get(lowest_key),
            "Summary.LowestPrices",
            condition,
            "LowestPrices.ListingPrice",
            first=False,
        ):
            if price is not None:
                competing.append(price)

    return ProductUpdate(
        sku=asin,
        external_id=asin,
        by_external_id=True,
        event_time=when,
        price_paise=our_price,
        buybox_price_paise=buyboxes[0] if buyboxes else None,
        lowest_competitor_price_paise=min(competing) if competing else None,
        sales_rank=_first_rank(summary.get(ranks_key), "Summary.SalesRankings"),
    )


def pricing_health(payload: dict[Any, Any], event_time: dt.datetime) -> ProductUpdate:
    """`payload` is the notification's Payload object, keys as sent."""
    trigger_key, offer_key, summary_key = _HEALTH[tuple(payload)]
    trigger: Any = payload.get(trigger_key)
    if type(trigger) is not dict:
        f.require_object(trigger, "payload.offerChangeTrigger")
    asin_key, condition_key, time_key = _TRIGGER[tuple(trigger)]
    asin = f.text(trigger.get(asin_key), "offerChangeTrigger.asin", limit=f.MAX_EXTERNAL_ID)
    when = f.opt_time(trigger.get(time_key), "offerChangeTrigger.timeOfOfferChange") or event_time
    offer = payload.get(offer_key)
    listing = None
    if offer is not None:
        if type(offer) is not dict:
            f.require_object(offer, "payload.merchantOffer")
        (listing_key,) = _MERCHANT_OFFER[tuple(offer)]
        listing = offer.get(listing_key)
    summary = payload.get(summary_key)
    if summary is None:
        summary = {}
    elif type(summary) is not dict:
        f.require_object(summary, "payload.summary")
    buybox_key, _, ranks_key = _SUMMARY[tuple(summary)]
    buybox = None
    buybox_prices = summary.get(buybox_key)
    if buybox_prices is not None:
        condition = str(trigger.get(condition_key) or "new").lower()
        found = _prices(
            buybox_prices, "summary.buyBoxPrices", condition, "buyBoxPrices.listingPrice", first=True
        )
        buybox = found[0] if found else None
    price = f.money_paise(listing, "merchantOffer.listingPrice")
    rank = _first_rank(summary.get(ranks_key), "summary.salesRankings")
    if price is None and buybox is None and rank is None:
        raise NormalizationError("PRICING_HEALTH carries neither our price, a buy-box price nor a rank")
    return ProductUpdate(
        asin, when, asin, price_paise=price, buybox_price_paise=buybox, sales_rank=rank, by_external_id=True
    )
