"""The Amazon adapter reads fields through key shapes (amazon_fields.Keys) and appends a batch's
records without a Normalized per item: compared here with the general path it replaced
(tests/integrations/amazon_general.py, a lower-cased copy of every object) on the official examples
and on many mutations of them: keys in any case, the same key twice in two cases (the last wins),
fields missing, values of the wrong type. Same records, same errors, to the message."""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
from decimal import Decimal
from typing import Any

import pytest

from resight.catalog.models import Platform
from resight.integrations import amazon, pipeline
from resight.integrations import amazon_fields as f
from resight.integrations.records import NormalizationError, StoreRef
from tests.integrations import amazon_general
from tests.integrations.support import AMAZON_SCHEMAS, amazon_example

STORES = [
    StoreRef(id=1, platform=Platform.amazon, name="test", seller_id=seller)
    for seller in (None, "111", "A3TH9S8BH6GOGM")
]
AT = "2026-11-01T05:00:00+00:00"


def _bench_like() -> list[dict[str, Any]]:
    """The three notifications of bench/bench_ingestion.py's mixed batch, as the bench sends them."""
    return [
        {
            "NotificationType": "LISTINGS_ITEM_MFN_QUANTITY_CHANGE",
            "EventTime": AT,
            "Payload": {"SellerId": "A1BENCH", "Sku": "SKU-1", "Quantity": 7},
        },
        {
            "notificationType": "PRICING_HEALTH",
            "eventTime": AT,
            "payload": {
                "offerChangeTrigger": {"asin": "B000000001", "itemCondition": "new", "timeOfOfferChange": AT},
                "merchantOffer": {"listingPrice": {"amount": 499, "currencyCode": "INR"}},
                "summary": {"salesRankings": [{"productCategoryId": "apparel", "rank": 100}]},
            },
        },
        {
            "NotificationType": "ORDER_CHANGE",
            "EventTime": AT,
            "Payload": {
                "OrderChangeNotification": {
                    "AmazonOrderId": "403-0000001",
                    "Summary": {
                        "OrderStatus": "Unshipped",
                        "PurchaseDate": AT,
                        "OrderItems": [{"OrderItemId": "OI1", "SellerSKU": "SKU-1", "Quantity": 2}],
                    },
                }
            },
        },
        # The hourly batch's notifications: several buckets of one hour (its parsed startTime is
        # reused), amounts with and without a fraction.
        {
            "notificationType": "DETAIL_PAGE_TRAFFIC_EVENT",
            "eventTime": AT,
            "payload": {
                "detailPageTrafficEvents": [
                    {"startTime": AT, "endTime": AT, "asin": f"B00000000{i}", "glanceViews": i}
                    for i in range(3)
                ]
            },
        },
        {
            "notificationType": "ITEM_SALES_EVENT_CHANGE",
            "eventTime": AT,
            "payload": {
                "itemSalesEventChanges": [
                    {
                        "startTime": AT,
                        "endTime": AT,
                        "asin": f"B00000000{i}",
                        "orderedUnits": 1 + i,
                        "orderedRevenue": revenue,
                    }
                    for i, revenue in enumerate([Decimal("499.5"), 12, Decimal("0.005")])
                ]
            },
        },
    ]


def _documents() -> list[Any]:
    files = sorted(path.name for path in AMAZON_SCHEMAS.glob("*.json"))
    found = [json.loads(json.dumps(amazon_example(name)), parse_float=Decimal) for name in files]
    found += _bench_like()
    wrapped = [{"version": "0", "id": "eb-1", "detail-type": "x", "source": "s", "detail": d} for d in found]
    return found + wrapped


DOCUMENTS = _documents()

# Values put in place of a field: wrong types, edge cases, and right values of other fields.
ODD_VALUES: list[Any] = [
    None,
    "",
    " ",
    " padded ",
    "x",
    "x" * 201,
    0,
    -1,
    1,
    3,
    True,
    False,
    Decimal("2.5"),
    Decimal("12.30"),
    Decimal("-0.01"),
    Decimal("1E+3"),
    "12.34",
    [],
    {},
    [{}],
    [1],
    ["BUYABLE"],
    ["DELETED", "BUYABLE"],
    ["DISCOVERABLE"],
    {"Amount": 5},
    {"amount": Decimal("7.25"), "currencyCode": "INR"},
    {"Amount": None},
    [{"condition": "new", "listingPrice": {"Amount": 9}}],
    [{"Condition": "Used", "ListingPrice": {"Amount": 9}}],
    [{"rank": None}, {"Rank": 4}],
    [{"rank": 0}],
    AT,
    "2026-11-01T05:00:00",
    "2026-11-01T05:00:00+05:30",
    "2026-11-01T05:00:00Z",
    "not a time",
    "Canceled",
    "cancelled",
    "new",
    "used",
    f.AMAZON_IN,
    "111",
    "A3TH9S8BH6GOGM",
    "PRICING_HEALTH",
    "ORDER_CHANGE",
    "B2B_ANY_OFFER_CHANGED",
]


def _recased(key: str, rng: random.Random) -> str:
    choice = rng.randrange(5)
    if choice == 0:
        return key.lower()
    if choice == 1:
        return key.upper()
    if choice == 2:
        return key[:1].lower() + key[1:]  # camelCase
    if choice == 3:
        return key[:1].upper() + key[1:]  # PascalCase
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in key)


def _odd(rng: random.Random) -> Any:
    return copy.deepcopy(rng.choice(ODD_VALUES))


def mutated(value: Any, rng: random.Random, rate: float) -> Any:
    """`value` with some of its keys recased, doubled in another case, dropped or reordered, and
    some of its values replaced by odd ones (each with probability about `rate`)."""
    if isinstance(value, dict):
        entries: list[tuple[str, Any]] = []
        for key, item in value.items():
            roll = rng.random()
            if roll < rate / 3:
                continue  # dropped
            new_key = _recased(key, rng) if rng.random() < rate else key
            new_item = _odd(rng) if roll > 1 - rate / 3 else mutated(item, rng, rate)
            entries.append((new_key, new_item))
            if rng.random() < rate / 3:  # the same key again in another case, somewhere in the object
                twin = (_recased(key, rng), _odd(rng) if rng.random() < 0.5 else mutated(item, rng, rate))
                entries.insert(rng.randrange(len(entries) + 1), twin)
        if rng.random() < rate / 3:
            rng.shuffle(entries)
        return dict(entries)  # of two identical keys, the later one stays, as in JSON
    if isinstance(value, list):
        items = [mutated(item, rng, rate) for item in value if rng.random() >= rate / 4]
        if items and rng.random() < rate / 4:
            items.insert(rng.randrange(len(items) + 1), _odd(rng))
        if items and rng.random() < rate / 4:
            items.append(copy.deepcopy(rng.choice(items)))
        return items
    return value


def outcome(parse: Any, body: Any, store: StoreRef) -> tuple[Any, ...]:
    try:
        return ("records", parse(body, store))
    except Exception as exc:  # any exception: compared by type and message
        return ("error", type(exc), str(exc))


def _assert_same(body: Any, store: StoreRef) -> tuple[Any, ...]:
    fast = outcome(amazon.parse, body, store)
    general = outcome(amazon_general.parse, body, store)
    assert fast == general, f"diverged on {body!r}"
    return fast


@pytest.mark.parametrize("store", STORES, ids=lambda s: str(s.seller_id))
def test_official_and_bench_examples_read_as_the_general_path(store: StoreRef) -> None:
    for body in DOCUMENTS:
        assert _assert_same(body, store)[0] == "records"


def test_any_key_case_reads_alike() -> None:
    rng = random.Random(7)
    for body in DOCUMENTS:
        for _ in range(20):
            recased = mutated(body, rng, 0.0)  # nothing changes at rate 0 ...
            assert recased == body
            recased = _every_key_recased(body, rng)
            assert outcome(amazon.parse, recased, STORES[2]) == outcome(amazon.parse, body, STORES[2])


def _every_key_recased(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        return {_recased(key, rng): _every_key_recased(item, rng) for key, item in value.items()}
    if isinstance(value, list):
        return [_every_key_recased(item, rng) for item in value]
    return value


@pytest.mark.parametrize("rate", [0.05, 0.15, 0.4])
def test_mutated_examples_read_as_the_general_path(rate: float) -> None:
    errors = records = 0
    for seed in range(1500):
        rng = random.Random(seed)
        body = mutated(rng.choice(DOCUMENTS), rng, rate)
        result = _assert_same(body, rng.choice(STORES))
        errors += result[0] == "error"
        records += result[0] == "records"
    assert errors  # both outcomes are exercised
    assert records


def test_mutated_batches_read_as_the_general_path() -> None:
    for seed in range(600):
        rng = random.Random(seed)
        items = [mutated(rng.choice(DOCUMENTS), rng, 0.05) for _ in range(rng.randrange(1, 6))]
        if rng.random() < 0.2:
            items.append({"NotificationType": "B2B_ANY_OFFER_CHANGED", "Payload": {}})
        store = rng.choice(STORES)
        fast = outcome(lambda body, s: pipeline.normalize(Platform.amazon, body, s), {"batch": items}, store)
        assert fast == outcome(amazon_general.batch, items, store), f"diverged on {items!r}"


def test_a_batch_of_ignored_types_is_ignored_as_before() -> None:
    items = [{"NotificationType": "B2B_ANY_OFFER_CHANGED", "Payload": {}}] * 2
    normalized = pipeline.normalize(Platform.amazon, {"batch": items}, STORES[0])
    assert normalized == amazon_general.batch(items, STORES[0])
    assert normalized.ignored_reason == "every item of the batch was ignored"


def test_the_same_key_in_two_cases_the_last_wins() -> None:
    body = {
        "NotificationType": "LISTINGS_ITEM_MFN_QUANTITY_CHANGE",
        "EventTime": AT,
        "Payload": {"Sku": "FIRST", "Quantity": 1, "SKU": "LAST", "quantity": 2},
    }
    [update] = amazon.parse(body, STORES[0]).products
    assert (update.sku, update.stock) == ("LAST", 2)
    body["Payload"] = {"SKU": "FIRST", "quantity": 2, "Sku": "LAST", "Quantity": None}
    with pytest.raises(NormalizationError, match=r"^Payload\.Quantity is missing or not a whole number$"):
        amazon.parse(body, STORES[0])
    body["eventTime"] = "2026-11-01T05:00:00"  # a later EventTime, without a zone: it is the one read
    with pytest.raises(NormalizationError, match="EventTime has no time zone"):
        amazon.parse(body, STORES[0])


def test_keys_learns_each_shape_and_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    keys = f.Keys("sku", "quantity")
    assert keys.of({"Sku": "a", "Quantity": 1}, "Payload") == ("Sku", "Quantity")
    assert keys.of({"quantity": 1}, "Payload") == (None, "quantity")
    assert keys.of({"SKU": "a", "sku": "b"}, "Payload") == ("sku", None)
    assert keys.of({"sku": "b", "SKU": "a"}, "Payload") == ("SKU", None)
    assert len(keys) == 4
    monkeypatch.setattr(f, "_SHAPES_MAX", 4)
    assert keys.of({"Quantity": 1, "Sku": "a"}, "Payload") == ("Sku", "Quantity")  # answered, not kept
    assert len(keys) == 4


@pytest.mark.parametrize("value", [None, [], "x", 1, Decimal("1"), True, [{"Sku": "a"}]])
def test_keys_refuses_what_obj_refuses(value: Any) -> None:
    with pytest.raises(NormalizationError) as general:
        amazon_general.obj(value, "Payload.Thing")
    with pytest.raises(NormalizationError) as fast:
        f.Keys("sku").of(value, "Payload.Thing")
    assert str(fast.value) == str(general.value) == "Payload.Thing must be a JSON object"


def test_a_dict_subclass_reads_as_a_dict() -> None:
    class Ordered(dict[str, Any]):
        pass

    body = Ordered(_bench_like()[0])
    body["Payload"] = Ordered(body["Payload"])
    assert _assert_same(body, STORES[0])[0] == "records"


def test_time_reads_as_the_general_path() -> None:
    values: list[Any] = [AT, "2026-11-01T05:00:00Z", "2026-11-01T05:00:00+05:30", "2026-11-01", "x", None, 5]
    for value in values:
        fast = outcome(lambda v, _s: f.time(v, "EventTime"), value, STORES[0])
        assert fast == outcome(lambda v, _s: amazon_general.time(v, "EventTime"), value, STORES[0])
    assert f.time("2026-11-01T10:30:00+05:30", "x") == dt.datetime(2026, 11, 1, 5, tzinfo=dt.UTC)
