"""The batch path's shortcuts (docs/decisions/0303) give the same results as the general code."""

from __future__ import annotations

import datetime as dt
import gc
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
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
from resight.integrations.receiver import PAUSED_DECODE_BYTES, _decode
from resight.integrations.records import NormalizationError, StoreRef
from resight.integrations.writer import collector_paused
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
        Decimal("999999999999.99"),  # the largest amount of the fast path
        Decimal("1000000000000.00"),  # the first past it
        Decimal("4.9999999999999999999"),
        Decimal("-0.00"),
        "12.34",
        0.1,
    ],
)
def test_amount_fast_paths_agree_with_rupees_to_paise(value: Any) -> None:
    expected = rupees_to_paise(value if not isinstance(value, float) else repr(value))
    assert f.amount_paise(value, "amount") == expected


def test_an_amount_with_a_million_digits_is_rounded_to_paise() -> None:
    # A hostile sender's number: the fast path must not turn it into a million-digit fraction.
    assert f.amount_paise(Decimal("1." + "0" * 1_000_000 + "1"), "amount") == 100


@pytest.mark.parametrize(
    "value",
    [
        -1,
        Decimal("-0.01"),
        Decimal("NaN"),
        Decimal("sNaN"),
        Decimal("Infinity"),
        Decimal("-Infinity"),
        True,
        None,
    ],
)
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


# JSON texts as senders write them: numbers in every notation, any strings, nested containers.
_number_texts = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.builds(
        lambda sign, digits, fraction, exponent: f"{sign}{digits}{fraction}{exponent}",
        st.sampled_from(["", "-"]),
        st.sampled_from(["0", "1", "499", "123456789012345678901"]),
        st.sampled_from(["", ".0", ".50", ".000001"]),
        st.sampled_from(["", "e5", "E-3", "e+400", "E0"]),
    ),
)
_json_texts = st.recursive(
    st.one_of(
        _number_texts,
        st.text().map(lambda text: json.dumps(text, ensure_ascii=False)),
        st.sampled_from(["true", "false", "null"]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=5).map(lambda items: "[" + ", ".join(items) + "]"),
        st.lists(st.tuples(st.text(max_size=8), inner), max_size=5).map(
            lambda pairs: "{" + ",".join(f"{json.dumps(key)}: {value}" for key, value in pairs) + "}"
        ),
    ),
    max_leaves=30,
)


def _typed(value: Any) -> Any:
    """A value with every number's type beside it: Decimal("1.0") == 1, but they decode apart."""
    if isinstance(value, dict):
        return {key: _typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_typed(item) for item in value]
    return (type(value).__name__, str(value))


@settings(max_examples=400, deadline=None)
@given(text=_json_texts)
def test_bodies_decode_as_the_standard_library_decodes_them(text: str) -> None:
    raw = text.encode()
    assert _typed(inbox.decode_body(raw)) == _typed(json.loads(raw, parse_float=Decimal))


@pytest.mark.parametrize(
    "raw",
    [
        '{"a": 1.5}'.encode("utf-16"),
        '{"a": 1.5}'.encode("utf-32"),
        b'\xef\xbb\xbf{"a": 1.5}',  # a UTF-8 BOM
        b'{"price": NaN, "stock": Infinity}',
        b'{"sku": "\\ud800"}',  # a lone surrogate escape
        b'{"a": 1, "a": 2.50}',  # the last of repeated keys
    ],
)
def test_what_the_standard_library_accepts_is_still_accepted(raw: bytes) -> None:
    assert repr(inbox.decode_body(raw)) == repr(json.loads(raw, parse_float=Decimal))


@pytest.mark.parametrize(
    "raw", [b"", b"{", b'{"a": 1} x', b"<xml/>", b'"\xff"', b'{"n": ' + b"9" * 5000 + b"}"]
)
def test_bodies_that_are_not_json_are_refused_as_such(raw: bytes) -> None:
    with pytest.raises(BadRequest, match=r"^body is not JSON: "):
        _decode(raw)
