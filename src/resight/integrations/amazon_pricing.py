"""Amazon's competitive-pricing notifications: ANY_OFFER_CHANGED and PRICING_HEALTH.

Prices are listing prices (item price without shipping), the same basis as the product's own price,
so our price, the buy-box price and the lowest competing price compare like with like.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from resight.integrations import amazon_fields as f
from resight.integrations.records import NormalizationError, ProductUpdate


def _for_condition(entries: list[dict[str, Any]], condition: str) -> list[dict[str, Any]]:
    return [entry for entry in entries if str(entry.get("condition", "")).lower() == condition]


def _first_rank(rankings: list[dict[str, Any]]) -> int | None:
    """The first listed sales rank: Amazon lists the item's main display category first."""
    for ranking in rankings:
        if ranking.get("rank") is not None:
            return f.integer(ranking["rank"], "SalesRankings.Rank", minimum=1)
    return None


def any_offer_changed(
    payload: dict[str, Any], event_time: dt.datetime, seller_id: str | None
) -> ProductUpdate:
    change = f.obj(payload.get("anyofferchangednotification"), "Payload.AnyOfferChangedNotification")
    ours = f.opt_text(change.get("sellerid"), "SellerId") or seller_id
    trigger = f.obj(change.get("offerchangetrigger"), "OfferChangeTrigger")
    asin = f.text(trigger.get("asin"), "OfferChangeTrigger.ASIN", limit=f.MAX_EXTERNAL_ID)
    condition = str(trigger.get("itemcondition") or "new").lower()
    when = f.opt_time(trigger.get("timeofofferchange"), "OfferChangeTrigger.TimeOfOfferChange") or event_time
    summary = f.opt_obj(change.get("summary"), "Summary")

    buybox = None
    for entry in _for_condition(f.objects(summary.get("buyboxprices"), "Summary.BuyBoxPrices"), condition):
        buybox = f.money_paise(entry.get("listingprice"), "BuyBoxPrices.ListingPrice")
        break

    our_price = None
    competing: list[int] = []
    offers = f.objects(change.get("offers"), "Offers")
    for index, offer in enumerate(offers):
        price = f.money_paise(offer.get("listingprice"), f"Offers[{index}].ListingPrice")
        if price is None:
            continue
        if ours is not None and offer.get("sellerid") == ours:
            our_price = price
        else:
            competing.append(price)
    if not offers:
        # No offer list: the summary's lowest price for the condition (it may include ours).
        for entry in _for_condition(
            f.objects(summary.get("lowestprices"), "Summary.LowestPrices"), condition
        ):
            price = f.money_paise(entry.get("listingprice"), "LowestPrices.ListingPrice")
            if price is not None:
                competing.append(price)

    return ProductUpdate(
        sku=asin,
        external_id=asin,
        by_external_id=True,
        event_time=when,
        price_paise=our_price,
        buybox_price_paise=buybox,
        lowest_competitor_price_paise=min(competing) if competing else None,
        sales_rank=_first_rank(f.objects(summary.get("salesrankings"), "Summary.SalesRankings")),
    )


def pricing_health(payload: dict[str, Any], event_time: dt.datetime) -> ProductUpdate:
    trigger = f.obj(payload.get("offerchangetrigger"), "payload.offerChangeTrigger")
    asin = f.text(trigger.get("asin"), "offerChangeTrigger.asin", limit=f.MAX_EXTERNAL_ID)
    condition = str(trigger.get("itemcondition") or "new").lower()
    when = f.opt_time(trigger.get("timeofofferchange"), "offerChangeTrigger.timeOfOfferChange") or event_time
    offer = f.opt_obj(payload.get("merchantoffer"), "payload.merchantOffer")
    summary = f.opt_obj(payload.get("summary"), "payload.summary")
    buybox = None
    for entry in _for_condition(f.objects(summary.get("buyboxprices"), "summary.buyBoxPrices"), condition):
        buybox = f.money_paise(entry.get("listingprice"), "buyBoxPrices.listingPrice")
        break
    update = ProductUpdate(
        sku=asin,
        external_id=asin,
        by_external_id=True,
        event_time=when,
        price_paise=f.money_paise(offer.get("listingprice"), "merchantOffer.listingPrice"),
        buybox_price_paise=buybox,
        sales_rank=_first_rank(f.objects(summary.get("salesrankings"), "summary.salesRankings")),
    )
    if update.price_paise is None and update.buybox_price_paise is None and update.sales_rank is None:
        raise NormalizationError("PRICING_HEALTH carries neither our price, a buy-box price nor a rank")
    return update
