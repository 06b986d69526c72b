"""Our Myntra format: normalised values, refusals, the committed schema and documented examples."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest

from resight.catalog.models import ListingStatus, Platform
from resight.events.models import EventType
from resight.integrations import myntra, pipeline, schemas
from resight.integrations.records import NormalizationError, StoreRef
from tests.integrations.own_formats import (
    ABSURD_RUPEES,
    DOCS,
    HOSTILE_VALUES,
    as_delivered,
    markdown_examples,
    schema_examples,
)

STORE = StoreRef(id=1, platform=Platform.myntra, name="myntra test", seller_id=None)
UTC = dt.UTC


def order(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_type": "order",
        "event_time": "2026-11-28T14:02:11+05:30",
        "order_id": "1203345566778",
        "order_line_id": "5012345678",
        "seller_sku_code": "RGN-KRT-0042-M",
        "order_status": "WP",
        "quantity": 2,
        "total_mrp": "3,998.00",
        "discount": "1400",
        "final_amount": "2598.50",
        "created_on": "2026-11-28T14:02:11+05:30",
    }
    body.update(overrides)
    delivered: dict[str, Any] = as_delivered(body)
    return delivered


def test_catalog_message_becomes_one_product_update() -> None:
    body = as_delivered(
        {
            "event_type": "catalog",
            "event_time": "2026-11-28T10:15:00+05:30",
            "style_id": 24456781,
            "seller_sku_code": " RGN-KRT-0042-M ",
            "style_name": "Women Floral Kurta",
            "brand": "Rangeen",
            "article_type": "Kurtas",
            "mrp": "₹1,999.00",
            "selling_price": 1299.5,
            "inventory_count": "40",
            "listing_status": "inactive",
            "some_future_field": "ignored",
        }
    )
    result = myntra.parse(body, STORE)
    assert result.notification_type == "catalog"
    assert result.events == []
    [update] = result.products
    assert update.sku == "RGN-KRT-0042-M"
    assert update.external_id == "24456781"
    assert update.event_time == dt.datetime(2026, 11, 28, 4, 45, tzinfo=UTC)
    assert (update.title, update.brand, update.category) == ("Women Floral Kurta", "Rangeen", "Kurtas")
    assert (update.mrp_paise, update.price_paise, update.stock) == (199_900, 129_950, 40)
    assert update.status is ListingStatus.inactive


def test_price_message_carries_only_prices() -> None:
    body = {
        "event_type": "price",
        "event_time": "2026-11-28T11:00:00Z",
        "seller_sku_code": "A",
        "selling_price": "Rs. 1,23,456.05",
    }
    [update] = myntra.parse(as_delivered(body), STORE).products
    assert update.price_paise == 12_345_605
    assert (update.mrp_paise, update.stock, update.title, update.status) == (None, None, None, None)
    assert update.event_time == dt.datetime(2026, 11, 28, 11, 0, tzinfo=UTC)


def test_inventory_message_naive_time_is_ist() -> None:
    body = {"event_type": "inventory", "event_time": "2026-11-28 09:30:00", "seller_sku_code": "A"}
    [update] = myntra.parse({**body, "inventory_count": 0}, STORE).products
    assert update.stock == 0
    assert update.price_paise is None
    assert update.event_time == dt.datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


def test_new_order_is_one_order_event_at_created_on() -> None:
    result = myntra.parse(order(), STORE)
    assert result.products == []  # no product details in this message
    [event] = result.events
    assert event.event_type is EventType.order
    assert (event.sku, event.external_id, event.quantity, event.revenue_paise) == (
        "RGN-KRT-0042-M",
        "5012345678",
        2,
        259_850,
    )
    assert event.event_time == dt.datetime(2026, 11, 28, 8, 32, 11, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "follow_up"),
    [
        ("F", EventType.cancellation),
        ("cancelled", EventType.cancellation),
        ("RTO", EventType.return_),
        ("rto-confirmed", EventType.return_),
        ("Returned", EventType.return_),
        ("DL", None),
        ("shipped", None),
    ],
)
def test_order_status_decides_the_follow_up_event(status: str, follow_up: EventType | None) -> None:
    result = myntra.parse(order(order_status=status, event_time="2026-11-30T18:45:00+05:30"), STORE)
    kinds = [event.event_type for event in result.events]
    assert kinds == [EventType.order] + ([follow_up] if follow_up else [])
    if follow_up is not None:
        later = result.events[1]
        assert later.external_id == "5012345678"  # same line id: re-sent statuses count once
        assert (later.quantity, later.revenue_paise) == (2, 259_850)
        assert later.event_time == dt.datetime(2026, 11, 30, 13, 15, tzinfo=UTC)


def test_order_with_product_details_updates_the_product() -> None:
    body = order(style_id=24456781, style_name="Kurta", brand="Rangeen", article_type="Kurtas")
    [update] = myntra.parse(body, STORE).products
    assert (update.external_id, update.title, update.brand, update.category) == (
        "24456781",
        "Kurta",
        "Rangeen",
        "Kurtas",
    )
    assert (update.price_paise, update.stock) == (None, None)


def test_traffic_counts_become_events_with_a_bucket_id() -> None:
    body = {
        "event_type": "traffic",
        "event_time": "2026-11-28T10:00:00+05:30",
        "seller_sku_code": "A",
        "views": 1840,
        "clicks": "212",
        "add_to_cart": 0,
    }
    events = myntra.parse(body, STORE).events
    assert [(e.event_type, e.quantity) for e in events] == [(EventType.view, 1840), (EventType.click, 212)]
    assert {e.external_id for e in events} == {"A@2026-11-28T04:30:00Z/60m"}
    assert all(e.event_time == dt.datetime(2026, 11, 28, 4, 30, tzinfo=UTC) for e in events)
    with_id = myntra.parse({**body, "traffic_id": 99, "bucket_minutes": 15}, STORE).events
    assert {e.external_id for e in with_id} == {"99"}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"final_amount": "NaN"}, "final_amount: not an amount in rupees: 'NaN'"),
        ({"final_amount": Decimal("Infinity")}, "final_amount: not a finite amount"),
        ({"final_amount": Decimal("NaN")}, "final_amount: not a finite amount"),
        ({"final_amount": "-1"}, "final_amount: amount must not be negative"),
        ({"final_amount": -1}, "final_amount: amount must not be negative"),
        ({"final_amount": ABSURD_RUPEES}, "final_amount: amount '10000001' is over ₹1,00,00,000"),
        (
            {"final_amount": Decimal("12.345")},
            "final_amount: amount Decimal('12.345') has fractions of a paisa",
        ),
        ({"final_amount": True}, "final_amount: not an amount in rupees: True"),
        ({"final_amount": "12,34,5"}, "final_amount: misplaced thousands separator"),
        ({"total_mrp": "abc"}, "total_mrp: not an amount in rupees: 'abc'"),
        ({"quantity": 0}, "quantity: must be at least 1, got 0"),
        ({"quantity": Decimal("1.5")}, "quantity: not a whole number"),
        ({"order_status": "SOMETHING"}, "order_status: unknown order status 'SOMETHING'"),
        ({"created_on": "2026-11-28"}, "created_on: needs a date and a time"),
        ({"created_on": "yesterday 5pm"}, "created_on: not an ISO 8601 date-time"),
        ({"created_on": "1970-01-01T00:00:00Z"}, "created_on: date-time out of range"),
        ({"event_type": "refund"}, "event_type: Input tag 'refund'"),
        ({"order_line_id": None}, "order_line_id: Input should be a valid string"),
        ({"seller_sku_code": ""}, "seller_sku_code: String should have at least 1 character"),
    ],
)
def test_unusable_messages_are_refused_naming_the_field(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(NormalizationError) as caught:
        myntra.parse({**order(), **change}, STORE)
    assert reason in str(caught.value)


def test_missing_fields_are_all_named() -> None:
    with pytest.raises(NormalizationError) as caught:
        myntra.parse({"event_type": "order", "event_time": "2026-11-28T10:00:00+05:30"}, STORE)
    for name in (
        "seller_sku_code",
        "order_line_id",
        "order_status",
        "quantity",
        "final_amount",
        "created_on",
    ):
        assert f"{name}: Field required" in str(caught.value)


def test_selling_price_above_mrp_is_refused() -> None:
    body = {"event_type": "price", "event_time": "2026-11-28T11:00:00Z", "seller_sku_code": "A"}
    with pytest.raises(NormalizationError, match="selling_price must not exceed mrp"):
        myntra.parse({**body, "mrp": 100, "selling_price": 101}, STORE)
    with pytest.raises(NormalizationError, match="needs mrp, selling_price or both"):
        myntra.parse(body, STORE)


def test_not_an_object_is_refused() -> None:
    with pytest.raises(NormalizationError, match="JSON object"):
        myntra.parse("order", STORE)


def test_committed_schema_is_the_generated_one() -> None:
    committed = (DOCS / "myntra.schema.json").read_text(encoding="utf-8")
    assert committed == schemas.render("myntra.schema.json"), "run: python -m resight.integrations.schemas"


def test_every_schema_example_is_accepted() -> None:
    examples = schema_examples(json.loads((DOCS / "myntra.schema.json").read_text(encoding="utf-8")))
    assert len(examples) >= 7  # one per message type, two orders, and the batch
    for example in examples:
        result = pipeline.normalize(Platform.myntra, example, STORE)
        assert result.products or result.events


def test_every_documented_example_is_accepted() -> None:
    examples = markdown_examples("myntra.md")
    assert len(examples) >= 7
    for example in examples:
        result = pipeline.normalize(Platform.myntra, example, STORE)
        assert result.products or result.events


def test_any_value_in_any_field_is_accepted_or_refused_never_a_crash() -> None:
    examples = schema_examples(json.loads((DOCS / "myntra.schema.json").read_text(encoding="utf-8")))
    messages = [example for example in examples if "event_type" in example]
    reasons: list[str] = []
    for message in messages:
        for field in message:
            for value in HOSTILE_VALUES:
                try:
                    myntra.parse({**message, field: value}, STORE)
                except NormalizationError as exc:
                    reasons.append(str(exc))
    assert len(reasons) > len(messages) * 5
    assert all(reasons)
