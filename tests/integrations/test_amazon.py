"""Every official SP-API example notification is accepted and normalised, through the real endpoint."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from resight.catalog.models import HistoryField, ListingStatus, Platform, Product, ProductHistory
from resight.events.models import Event, EventType
from resight.integrations import amazon
from resight.integrations.records import NormalizationError, StoreRef
from tests.integrations.support import AMAZON_SCHEMAS, amazon_example, create_store, deliver

STORE = StoreRef(id=1, platform=Platform.amazon, name="test", seller_id="A3TH9S8BH6GOGM")
UTC = dt.UTC


def parsed(file_name: str) -> Any:
    return json.loads(json.dumps(amazon_example(file_name)), parse_float=Decimal)


def test_every_schema_file_is_covered() -> None:
    files = {path.name for path in AMAZON_SCHEMAS.glob("*.json")}
    assert files == set(EXAMPLES)


def _any_offer(normalized: Any) -> None:
    [update] = normalized.products
    assert (update.sku, update.external_id, update.by_external_id) == ("123", "123", True)
    assert update.event_time == dt.datetime(2020, 7, 13, 19, 42, 4, 284000, tzinfo=UTC)
    assert update.buybox_price_paise == 1000  # BuyBoxPrices[new].ListingPrice 10.0
    assert update.lowest_competitor_price_paise == 2300  # the one other seller's offer, 23.0
    assert update.price_paise is None  # our seller id has no offer in the example
    assert update.sales_rank == 1


def _pricing_health(normalized: Any) -> None:
    [update] = normalized.products
    assert update.sku == "B007IBIWZY"
    assert update.price_paise == 818423
    assert update.buybox_price_paise == 818423
    assert update.sales_rank == 4013
    assert update.event_time == dt.datetime(2020, 9, 23, 21, 30, 13, 409000, tzinfo=UTC)


def _traffic(normalized: Any) -> None:
    assert [(e.sku, e.event_type, e.quantity) for e in normalized.events] == [
        ("B00032HE0O", EventType.view, 42),
        ("B00094A20U", EventType.view, 69),
    ]
    assert normalized.events[0].event_time == dt.datetime(2023, 2, 7, 15, tzinfo=UTC)


def _item_sales(normalized: Any) -> None:
    assert [(e.sku, e.event_type, e.quantity, e.revenue_paise) for e in normalized.events] == [
        ("B00032HE0O", EventType.order, 9, 8091),
        ("B00094A20U", EventType.order, 5, 52760),
    ]


def _item_inventory(normalized: Any) -> None:
    assert [(u.sku, u.stock) for u in normalized.products] == [("B00032HE0O", 650), ("B00094A20U", 519)]


def _fba(normalized: Any) -> None:
    [update] = normalized.products
    assert (update.sku, update.external_id, update.stock) == ("SELLERSKU-1", "B00001ABCD", 50)


def _mfn(normalized: Any) -> None:
    [update] = normalized.products
    assert (update.sku, update.stock, update.price_paise) == ("NLS-SHOES-03", 99, None)


def _listing_status(normalized: Any) -> None:
    [update] = normalized.products
    assert (update.sku, update.external_id, update.status) == (
        "NLS-SHOES-03",
        "BT6RZ7JM4H",
        ListingStatus.active,
    )


def _order(normalized: Any) -> None:
    [event] = normalized.events  # Unshipped with a buyer cancel request: an order, not yet a cancellation
    assert (event.sku, event.event_type, event.quantity) == ("SellerSKUID1", EventType.order, 10)
    assert event.external_id == "903-8868176-2219830/OIID34853450"
    assert event.revenue_from_price
    assert event.event_time == dt.datetime(2022, 7, 13, 19, 42, 4, 284000, tzinfo=UTC)


EXAMPLES = {
    "AnyOfferChangedNotification.json": _any_offer,
    "PricingHealthNotification.json": _pricing_health,
    "DetailPageTrafficEventNotification.json": _traffic,
    "ItemSalesEventChangeNotification.json": _item_sales,
    "ItemInventoryEventChangeNotification.json": _item_inventory,
    "FBAInventoryAvailabilityChangeNotification.json": _fba,
    "ListingsItemMfnQuantityChange.json": _mfn,
    "ListingsItemStatusChangeNotification.json": _listing_status,
    "OrderChangeNotification.json": _order,
}


@pytest.mark.parametrize("file_name", sorted(EXAMPLES))
def test_official_example_normalises(file_name: str) -> None:
    body = parsed(file_name)
    normalized = amazon.parse(body, STORE)
    assert normalized.ignored_reason is None
    EXAMPLES[file_name](normalized)
    wrapped = {"version": "0", "id": "eb-1", "detail-type": "x", "source": "aws.partner/x", "detail": body}
    assert amazon.parse(wrapped, STORE) == normalized  # the EventBridge form reads the same


def test_every_official_example_through_the_endpoint(client: TestClient, db: Session) -> None:
    store = create_store(client, db)
    for file_name in sorted(EXAMPLES):
        response = deliver(client, store, amazon_example(file_name))
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "processed", (file_name, response.json())

    products = {p.sku: p for p in db.scalars(select(Product).where(Product.store_id == store.id))}
    assert products["123"].buybox_price_paise == 1000
    assert products["123"].lowest_competitor_price_paise == 2300
    assert products["B007IBIWZY"].price_paise == 818423
    assert products["B007IBIWZY"].sales_rank == 4013
    assert products["B00032HE0O"].stock == 650
    assert products["SELLERSKU-1"].stock == 50
    assert products["SELLERSKU-1"].external_id == "B00001ABCD"
    shoes = products["NLS-SHOES-03"]
    assert (shoes.stock, shoes.status, shoes.external_id) == (99, ListingStatus.active, "BT6RZ7JM4H")
    events = db.execute(
        select(Event.event_type, Event.quantity, Event.revenue_paise, Product.sku)
        .join(Product, Product.id == Event.product_id)
        .where(Event.store_id == store.id)
        .order_by(Event.id)
    ).all()
    assert [tuple(e) for e in events] == [
        (EventType.view, 42, 0, "B00032HE0O"),
        (EventType.view, 69, 0, "B00094A20U"),
        (EventType.order, 9, 8091, "B00032HE0O"),
        (EventType.order, 5, 52760, "B00094A20U"),
        (EventType.order, 10, 0, "SellerSKUID1"),  # no price known for this SKU yet
    ]
    history = db.scalars(
        select(ProductHistory.field).where(ProductHistory.product_id == products["B007IBIWZY"].id)
    ).all()
    assert set(history) == {HistoryField.price, HistoryField.buybox_price, HistoryField.sales_rank}


def test_camel_and_pascal_case_and_status_variants() -> None:
    body = parsed("ListingsItemStatusChangeNotification.json")
    body["NotificationType"] = "LISTINGS_ITEM_STATUS_CHANGED"
    body["Payload"]["Status"] = ["DISCOVERABLE"]
    assert amazon.parse(body, STORE).products[0].status is ListingStatus.inactive
    body["Payload"]["Status"] = ["DELETED"]
    assert amazon.parse(body, STORE).products[0].status is ListingStatus.deleted
    camel = {
        "notificationType": "LISTINGS_ITEM_MFN_QUANTITY_CHANGE",
        "eventTime": "2024-01-01T10:00:00+05:30",
        "payload": {"sku": "K-1", "quantity": 3},
    }
    [update] = amazon.parse(camel, STORE).products
    assert (update.sku, update.stock, update.event_time) == (
        "K-1",
        3,
        dt.datetime(2024, 1, 1, 4, 30, tzinfo=UTC),
    )


def test_order_cancellation_produces_order_and_cancellation_events() -> None:
    body = parsed("OrderChangeNotification.json")
    summary = body["Payload"]["OrderChangeNotification"]["Summary"]
    summary["OrderStatus"] = "Canceled"
    events = amazon.parse(body, STORE).events
    assert [(e.event_type, e.external_id, e.quantity) for e in events] == [
        (EventType.order, "903-8868176-2219830/OIID34853450", 10),
        (EventType.cancellation, "903-8868176-2219830/OIID34853450", 10),
    ]
    assert events[1].event_time == dt.datetime(2022, 11, 29, 19, 42, 4, 284000, tzinfo=UTC)


def test_unknown_type_is_ignored_and_malformed_is_refused() -> None:
    ignored = amazon.parse({"NotificationType": "B2B_ANY_OFFER_CHANGED", "Payload": {}}, STORE)
    assert ignored.ignored_reason is not None
    assert not ignored.products
    with pytest.raises(NormalizationError, match="NotificationType"):
        amazon.parse({"Payload": {}}, STORE)
    body = parsed("ListingsItemMfnQuantityChange.json")
    body["Payload"]["Quantity"] = Decimal("2.5")
    with pytest.raises(NormalizationError, match="whole number"):
        amazon.parse(body, STORE)
    body["Payload"]["Quantity"] = 2
    body["EventTime"] = "2021-02-03T18:59:30"
    with pytest.raises(NormalizationError, match="time zone"):
        amazon.parse(body, STORE)


def test_delivery_id_prefers_notification_id() -> None:
    body = parsed("PricingHealthNotification.json")
    assert amazon.delivery_id(body) == "amazon:23ae41cd-3537-4676-af46-6ee9abf8802e"
    wrapped = {"id": "eb-7", "detail-type": "x", "source": "s", "detail": {"NotificationType": "X"}}
    assert amazon.delivery_id(wrapped) == "eventbridge:eb-7"
    assert amazon.delivery_id([1]) is None
