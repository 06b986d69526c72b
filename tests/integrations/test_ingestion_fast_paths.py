"""The batch path's shortcuts (docs/decisions/0303) give the same results as the general code."""

from __future__ import annotations

import datetime as dt
import gc
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from resight import bulksql
from resight.catalog.models import Platform, Product
from resight.errors import BadRequest
from resight.events.models import Event, EventType
from resight.india import rupees_to_paise
from resight.integrations import amazon, inbox
from resight.integrations import amazon_fields as f
from resight.integrations.models import DeliveryStatus
from resight.integrations.receiver import PAUSED_DECODE_BYTES, _decode, collector_paused
from resight.integrations.records import NormalizationError, StoreRef
from tests.factories import make_store

STORE = StoreRef(id=1, platform=Platform.amazon, name="test", seller_id="A1TEST")


@pytest.mark.parametrize(
    "value",
    [
        0,
        5,
        499,
        10**12 - 1,
        10**12,
        Decimal("0"),
        Decimal("-0"),
        Decimal("499.5"),
        Decimal("12.30"),
        Decimal("0.01"),
        Decimal("0.005"),  # half a paisa: rounded half-up, as rupees_to_paise does
        Decimal("1.239"),
        Decimal("1E+3"),
        Decimal("1E+20"),
        "12.34",
        0.1,
    ],
)
def test_amount_fast_paths_agree_with_rupees_to_paise(value: Any) -> None:
    expected = rupees_to_paise(value if not isinstance(value, float) else repr(value))
    assert f.amount_paise(value, "amount") == expected


@pytest.mark.parametrize("value", [-1, Decimal("-0.01"), Decimal("NaN"), Decimal("Infinity"), True, None])
def test_amount_fast_paths_refuse_what_the_general_path_refuses(value: Any) -> None:
    with pytest.raises(NormalizationError):
        f.amount_paise(value, "amount")


def _traffic(buckets: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "notificationType": "DETAIL_PAGE_TRAFFIC_EVENT",
        "eventTime": "2026-11-01T06:00:00Z",
        "payload": {"detailPageTrafficEvents": buckets},
    }


def test_buckets_of_different_key_shapes_in_one_notification() -> None:
    """Entries read through their own key names, whatever the case and order of their keys."""
    buckets = [
        {"asin": "B01", "startTime": "2026-11-01T05:00:00Z", "glanceViews": 3},
        {"GlanceViews": 4, "StartTime": "2026-11-01T05:00:00+05:30", "ASIN": "B02"},
        {"asin": "B03", "starttime": "2026-11-01T05:00:00Z", "glanceviews": 0},  # no views: no event
        # The same key in two cases: the last one wins, as for every other object.
        {"asin": "B04", "startTime": "2026-11-01T05:00:00Z", "glanceViews": 1, "GLANCEVIEWS": 7},
    ]
    normalized = amazon.parse(_traffic(buckets), STORE)
    got = [(e.sku, e.quantity, e.event_time, e.external_id) for e in normalized.events]
    five = dt.datetime(2026, 11, 1, 5, tzinfo=dt.UTC)
    half_past_eleven_ist = dt.datetime(2026, 10, 31, 23, 30, tzinfo=dt.UTC)
    assert got == [
        ("B01", 3, five, "views/2026-11-01T05:00:00+00:00/B01"),
        ("B02", 4, half_past_eleven_ist, "views/2026-10-31T23:30:00+00:00/B02"),
        ("B04", 7, five, "views/2026-11-01T05:00:00+00:00/B04"),
    ]


def test_a_bad_bucket_is_named_by_its_index() -> None:
    buckets = [
        {"asin": "B01", "startTime": "2026-11-01T05:00:00Z", "glanceViews": 3},
        {"asin": "B02", "startTime": "2026-11-01T05:00:00Z", "glanceViews": -1},
    ]
    with pytest.raises(NormalizationError, match=r"detailPageTrafficEvents\[1\]\.glanceViews"):
        amazon.parse(_traffic(buckets), STORE)
    with pytest.raises(NormalizationError, match=r"detailPageTrafficEvents\[0\] must be a JSON object"):
        amazon.parse(_traffic(["not an object"]), STORE)  # type: ignore[list-item]


def test_sales_revenue_in_rupees_with_paise() -> None:
    payload = {
        "notificationType": "ITEM_SALES_EVENT_CHANGE",
        "eventTime": "2026-11-01T06:00:00Z",
        "payload": {
            "itemSalesEventChanges": [
                {"asin": "B01", "startTime": "2026-11-01T05:00:00Z", "orderedUnits": 2, "orderedRevenue": r}
                for r in (Decimal("499.50"), 1200, Decimal("0.005"))
            ]
        },
    }
    normalized = amazon.parse(payload, STORE)
    assert [e.revenue_paise for e in normalized.events] == [49950, 120000, 1]
    assert {e.event_type for e in normalized.events} == {EventType.order}


def test_events_only_batch_reads_prices_and_creates_products(db: Session) -> None:
    """A delivery of events alone loads fewer product columns: revenue from the product's price,
    products created for unknown items, and last_event_at still come out right."""
    store = make_store(db, Platform.amazon, seller_id="A1TEST")
    ref = StoreRef(id=store.id, platform=Platform.amazon, name=store.name, seller_id="A1TEST")
    price = {
        "notificationType": "PRICING_HEALTH",
        "eventTime": "2026-11-01T04:00:00Z",
        "payload": {
            "offerChangeTrigger": {"asin": "B0PRICED", "itemCondition": "new"},
            "merchantOffer": {"listingPrice": {"amount": Decimal("250.25"), "currencyCode": "INR"}},
        },
    }
    inbox.receive(db, ref, delivery_id="price", raw=b"{}", body=price, headers={})
    order = {
        "NotificationType": "ORDER_CHANGE",
        "EventTime": "2026-11-01T05:10:00Z",
        "Payload": {
            "OrderChangeNotification": {
                "AmazonOrderId": "403-1",
                "Summary": {
                    "OrderStatus": "Unshipped",
                    "PurchaseDate": "2026-11-01T05:00:00Z",
                    "OrderItems": [
                        {"OrderItemId": "1", "SellerSKU": "B0PRICED", "Quantity": 2},
                        {"OrderItemId": "2", "SellerSKU": "NEW-SKU", "Quantity": 1},
                    ],
                },
            }
        },
    }
    views = _traffic([{"asin": "B0PRICED", "startTime": "2026-11-01T05:00:00Z", "glanceViews": 9}])
    receipt = inbox.receive(
        db, ref, delivery_id="events", raw=b"{}", body={"batch": [order, views]}, headers={}, kind="batch"
    )
    assert receipt.status is DeliveryStatus.processed
    assert receipt.counts["events_stored"] == 3
    assert receipt.counts["products_created"] == 1
    stored = {
        (e.event_type, e.external_id): (e.quantity, e.revenue_paise)
        for e in db.scalars(select(Event).where(Event.store_id == store.id))
    }
    assert stored == {
        (EventType.order, "403-1/1"): (2, 50050),  # 2 x ₹250.25
        (EventType.order, "403-1/2"): (1, 0),  # a new product has no price yet
        (EventType.view, "views/2026-11-01T05:00:00+00:00/B0PRICED"): (9, 0),
    }
    products = {p.sku: p for p in db.scalars(select(Product).where(Product.store_id == store.id))}
    assert products["B0PRICED"].price_paise == 25025
    assert products["B0PRICED"].last_event_at == dt.datetime(2026, 11, 1, 5, tzinfo=dt.UTC)
    assert products["NEW-SKU"].last_event_at == dt.datetime(2026, 11, 1, 5, tzinfo=dt.UTC)


def test_collector_paused_for_a_group_only() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("a failed group")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # it was off before: left off
    finally:
        gc.enable()


def test_collector_pauses_overlapping_come_back_with_the_last() -> None:
    """The event loop's decode and the writer's group pause the collector together: it comes back
    only when both are done, whichever ends first."""
    assert gc.isenabled()
    first, second = collector_paused(), collector_paused()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()


@pytest.mark.parametrize(
    "moment",
    [
        dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 1, 23, 59, 59, 999_999, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 31, 9, 5, 7, 42, tzinfo=dt.UTC),
        dt.datetime(999, 1, 2, 3, 4, 5, tzinfo=dt.UTC),  # a year of three digits is zero-padded
        dt.datetime(1, 1, 1, tzinfo=dt.UTC),
        dt.datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=dt.UTC),
    ],
)
def test_sqlite_text_is_isoformat_without_the_offset(moment: dt.datetime) -> None:
    expected = moment.replace(tzinfo=None).isoformat(" ", "microseconds")
    assert bulksql.sqlite_text(moment) == expected
    assert bulksql.sqlite_text(moment) == expected  # from the remembered hour too


def test_sqlite_text_after_the_hour_cache_is_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulksql, "_HOUR_TEXTS", {})
    monkeypatch.setattr(bulksql, "_HOUR_TEXTS_MAX", 3)
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    moments = [start + dt.timedelta(minutes=37 * k, microseconds=k) for k in range(40)]
    texts = [bulksql.sqlite_text(moment) for moment in moments]
    assert texts == [m.replace(tzinfo=None).isoformat(" ", "microseconds") for m in moments]
    assert len(bulksql._HOUR_TEXTS) <= 3


def test_large_bodies_decode_with_the_collector_back_on_after() -> None:
    items = [{"NotificationType": "X", "Payload": {"Amount": Decimal("1.5"), "k": k}} for k in range(3000)]
    raw = inbox.json.dumps({"batch": items}, default=str).encode()
    assert len(raw) >= PAUSED_DECODE_BYTES
    assert _decode(raw) == inbox.decode_body(raw)
    assert gc.isenabled()
    with pytest.raises(BadRequest, match="not JSON"):
        _decode(raw[:-1])
    assert gc.isenabled()
