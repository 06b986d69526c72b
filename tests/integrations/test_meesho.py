"""Our Meesho format: normalised values, refusals, the committed schema and documented examples."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from resight.catalog.models import ListingStatus, Platform
from resight.events.models import EventType
from resight.integrations import meesho, pipeline, schemas
from resight.integrations.records import NormalizationError, StoreRef
from tests.integrations.own_formats import (
    DOCS,
    HOSTILE_VALUES,
    as_delivered,
    markdown_examples,
    schema_examples,
)

STORE = StoreRef(id=1, platform=Platform.meesho, name="meesho test", seller_id=None)
UTC = dt.UTC


def sub_order(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_type": "order",
        "event_time": "2026-11-28T19:20:00+05:30",
        "sub_order_no": "170345678901234_1",
        "sku": "JVK-SAREE-117-RED",
        "quantity": 3,
        "supplier_listed_price": "649.00",
        "supplier_discounted_price": "599.50",
        "order_status": "PENDING",
        "order_date": "2026-11-28T19:20:00+05:30",
        "customer_state": "Uttar Pradesh",
    }
    body.update(overrides)
    delivered: dict[str, Any] = as_delivered(body)
    return delivered


def test_catalog_price_is_the_discounted_price() -> None:
    body = {
        "event_type": "catalog",
        "event_time": "2026-11-28T10:15:00+05:30",
        "sku": "S1",
        "catalog_id": 98123456,
        "product_name": "Banarasi Saree",
        "category": "Women Ethnic > Sarees",
        "mrp": "1,499",
        "supplier_listed_price": 649,
        "supplier_discounted_price": "599.00",
        "inventory": 120,
        "listing_status": "Paused",
    }
    [update] = meesho.parse(as_delivered(body), STORE).products
    assert (update.sku, update.external_id, update.title, update.category) == (
        "S1",
        "98123456",
        "Banarasi Saree",
        "Women Ethnic > Sarees",
    )
    assert (update.mrp_paise, update.price_paise, update.stock) == (149_900, 59_900, 120)
    assert update.status is ListingStatus.inactive
    assert update.event_time == dt.datetime(2026, 11, 28, 4, 45, tzinfo=UTC)


def test_price_falls_back_to_the_listed_price() -> None:
    body = {"event_type": "price", "event_time": "2026-11-28T11:00:00+05:30", "sku": "S1"}
    [update] = meesho.parse({**body, "supplier_listed_price": "₹649"}, STORE).products
    assert (update.price_paise, update.mrp_paise) == (64_900, None)
    with pytest.raises(NormalizationError, match="must not exceed supplier_listed_price"):
        meesho.parse({**body, "supplier_listed_price": 500, "supplier_discounted_price": 501}, STORE)


def test_sub_order_revenue_is_unit_price_times_quantity() -> None:
    [event] = meesho.parse(sub_order(), STORE).events
    assert event.event_type is EventType.order
    assert (event.external_id, event.quantity, event.revenue_paise) == ("170345678901234_1", 3, 179_850)
    assert event.event_time == dt.datetime(2026, 11, 28, 13, 50, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "follow_up"),
    [
        ("CANCELLED", EventType.cancellation),
        ("RTO", EventType.return_),
        ("RTO_COMPLETE", EventType.return_),
        ("rto locked", EventType.return_),
        ("RETURN", EventType.return_),
        ("DELIVERED", None),
        ("Ready to ship", None),
        ("DOOR_STEP_EXCHANGED", None),
    ],
)
def test_status_decides_the_follow_up_event(status: str, follow_up: EventType | None) -> None:
    events = meesho.parse(
        sub_order(order_status=status, event_time="2026-11-29T08:05:00+05:30"), STORE
    ).events
    assert [e.event_type for e in events] == [EventType.order] + ([follow_up] if follow_up else [])
    if follow_up is not None:
        assert events[1].external_id == "170345678901234_1"
        assert events[1].revenue_paise == 179_850
        assert events[1].event_time == dt.datetime(2026, 11, 29, 2, 35, tzinfo=UTC)


def test_a_status_change_dated_before_the_order_is_dated_at_the_order() -> None:
    body = sub_order(order_status="CANCELLED", event_time="2026-11-28T10:00:00+05:30")
    order_event, cancellation = meesho.parse(body, STORE).events
    assert cancellation.event_time == order_event.event_time


def test_traffic_with_sender_id() -> None:
    body = {
        "event_type": "traffic",
        "event_time": "2026-11-28T10:00:00+05:30",
        "sku": "S1",
        "views": 5230,
        "clicks": 410,
        "add_to_cart": 58,
        "traffic_id": "S1:2026112810",
    }
    events = meesho.parse(body, STORE).events
    assert [(e.event_type, e.quantity) for e in events] == [
        (EventType.view, 5230),
        (EventType.click, 410),
        (EventType.add_to_cart, 58),
    ]
    assert {e.external_id for e in events} == {"S1:2026112810"}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"supplier_discounted_price": "abc"}, "supplier_discounted_price: not an amount in rupees: 'abc'"),
        ({"supplier_discounted_price": "-599"}, "supplier_discounted_price: amount must not be negative"),
        ({"quantity": "two"}, "quantity: not a whole number"),
        ({"order_status": "ON_THE_MOON"}, "order_status: unknown order status 'ON_THE_MOON'"),
        ({"order_date": 1732800000}, "order_date: not an ISO 8601 date-time"),
        ({"sub_order_no": ""}, "sub_order_no: String should have at least 1 character"),
    ],
)
def test_unusable_messages_are_refused_naming_the_field(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(NormalizationError) as caught:
        meesho.parse({**sub_order(), **change}, STORE)
    assert reason in str(caught.value)


def test_batch_with_one_bad_item_names_its_index() -> None:
    good = sub_order()
    bad = sub_order(sub_order_no="2_1", quantity=0)
    with pytest.raises(NormalizationError, match=r"batch item 1: quantity: must be at least 1"):
        pipeline.normalize(Platform.meesho, {"batch": [good, bad]}, STORE)


def test_committed_schema_is_the_generated_one() -> None:
    committed = (DOCS / "meesho.schema.json").read_text(encoding="utf-8")
    assert committed == schemas.render("meesho.schema.json"), "run: python -m resight.integrations.schemas"


def test_every_schema_example_is_accepted() -> None:
    examples = schema_examples(json.loads((DOCS / "meesho.schema.json").read_text(encoding="utf-8")))
    assert len(examples) >= 7
    for example in examples:
        result = pipeline.normalize(Platform.meesho, example, STORE)
        assert result.products or result.events


def test_every_documented_example_is_accepted() -> None:
    examples = markdown_examples("meesho.md")
    assert len(examples) >= 7
    for example in examples:
        result = pipeline.normalize(Platform.meesho, example, STORE)
        assert result.products or result.events


def test_any_value_in_any_field_is_accepted_or_refused_never_a_crash() -> None:
    examples = schema_examples(json.loads((DOCS / "meesho.schema.json").read_text(encoding="utf-8")))
    messages = [example for example in examples if "event_type" in example]
    reasons: list[str] = []
    for message in messages:
        for field in message:
            for value in HOSTILE_VALUES:
                try:
                    meesho.parse({**message, field: value}, STORE)
                except NormalizationError as exc:
                    reasons.append(str(exc))
    assert len(reasons) > len(messages) * 5
    assert all(reasons)
