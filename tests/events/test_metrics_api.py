from __future__ import annotations

import datetime as dt
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from resight.catalog.models import ListingStatus, Platform
from resight.db import utcnow
from resight.events import kpis
from resight.events.metrics_service import product_metrics
from resight.events.models import EventType
from resight.events.rollups import bucket_start
from resight.india import IST
from resight.users.models import Role
from tests.events.helpers import add_event
from tests.factories import headers_for, make_product, make_store

DAY = dt.timedelta(days=1)


def test_today_is_the_ist_day_and_changes_are_real(client: TestClient, db: Session) -> None:
    now = utcnow()
    midnight = kpis.ist_midnight(now)
    product = make_product(db)
    add_event(db, product, EventType.order, midnight, quantity=2, paise=200_000)  # first instant of today
    add_event(db, product, EventType.view, midnight, quantity=10)
    add_event(db, product, EventType.click, midnight, quantity=4)
    add_event(db, product, EventType.add_to_cart, midnight - dt.timedelta(seconds=1), quantity=9)  # yesterday
    add_event(db, product, EventType.order, midnight - DAY, paise=100_000)  # yesterday, first instant
    add_event(db, product, EventType.view, midnight - DAY, quantity=20)
    add_event(db, product, EventType.cancellation, midnight, paise=50_000)

    response = client.get("/metrics", headers=headers_for(db, Role.viewer))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["window"]["name"] == "today"
    assert body["window"]["start"].startswith(midnight.strftime("%Y-%m-%dT18:30:00"))
    assert body["window"]["start_ist"].endswith("T00:00:00+05:30")
    assert body["views"] == {"value": 10, "previous": 20, "change": -10, "change_pct": "-50.00"}
    assert body["gmv"] == {
        "value": "2000.00",
        "previous": "1000.00",
        "change": "1000.00",
        "change_pct": "100.00",
    }
    assert body["net_gmv"]["value"] == "1500.00"
    assert body["orders"]["change"] == 0
    assert body["units"]["change_pct"] == "100.00"
    assert body["ctr"]["value"] == "0.4000"
    assert body["ctr"]["previous"] == "0.0000"
    assert body["ctr"]["change_pct"] is None  # previous is 0
    assert body["conversion"] == {
        "value": "0.1000",
        "previous": "0.0500",
        "change": "0.0500",
        "change_pct": "100.00",
    }
    assert body["aov"]["value"] == "2000.00"
    assert body["cancellations"]["value"] == 1
    assert body["add_to_carts"]["value"] == 0  # one second before IST midnight is yesterday
    assert body["active_products"]["value"] >= 1


def test_filters_marketplace_store_and_category_with_subcategories(client: TestClient, db: Session) -> None:
    now = utcnow()
    at = bucket_start(now)
    amazon, myntra = make_store(db, Platform.amazon), make_store(db, Platform.myntra)
    kurta = make_product(db, amazon, category="Women > Ethnic > Kurtas", stock=0)
    saree = make_product(db, myntra, category="Women > Ethnic", stock=5)
    shoe = make_product(db, myntra, category="Women > Ethnicwear", status=ListingStatus.inactive, stock=0)
    for product, paise in ((kurta, 10_000), (saree, 20_000), (shoe, 40_000)):
        add_event(db, product, EventType.order, at, paise=paise)
    headers = headers_for(db, Role.viewer)

    def gmv(**params: str | int) -> str:
        response = client.get("/metrics", params={"window": "24h", **params}, headers=headers)
        assert response.status_code == 200, response.text
        return str(response.json()["gmv"]["value"])

    assert gmv(category="Women > Ethnic") == "300.00"  # itself and Kurtas, not "Ethnicwear"
    assert gmv(category="Women > Ethnic", marketplace="amazon") == "100.00"
    assert gmv(store=myntra.id) == "600.00"
    assert gmv(store=myntra.id, category="Women > Ethnicwear") == "400.00"
    body = client.get("/metrics", params={"category": "Women", "window": "24h"}, headers=headers).json()
    assert body["active_products"]["value"] == 2
    assert body["out_of_stock_products"]["value"] == 2  # inactive but listed, stock 0, counts
    # The products were created just now: 24 hours ago none of them existed.
    assert body["active_products"]["previous"] == 0
    assert body["out_of_stock_products"]["change"] == 2


def test_category_filter_ignores_case_and_spacing_and_keeps_history(client: TestClient, db: Session) -> None:
    """As the ranking's filters and rules compare categories; a category no product has any more
    still counts its past events (the rollups keep the category of the time)."""
    at = bucket_start(utcnow())
    store = make_store(db, Platform.amazon)
    odd = make_product(db, store, category="ethnic wear>Kurtas ")
    plain = make_product(db, store, category="Ethnic Wear > Sarees")
    moved = make_product(db, store, category="Ethnic Wear > Lehengas")
    other = make_product(db, store, category="Footwear")
    for product, paise in ((odd, 10_000), (plain, 20_000), (moved, 40_000), (other, 80_000)):
        add_event(db, product, EventType.order, at, paise=paise)
    moved.category = "Festive > Lehengas"  # recategorised after its order: no product is in Lehengas now
    db.flush()
    headers = headers_for(db, Role.viewer)

    def gmv(category: str, path: str = "/metrics") -> str:
        response = client.get(path, params={"window": "24h", "category": category}, headers=headers)
        assert response.status_code == 200, response.text
        return str(response.json()["gmv"]["value"])

    assert gmv("Ethnic Wear") == gmv("  ETHNIC WEAR ") == "700.00"
    assert gmv("ethnic wear > kurtas") == gmv("Ethnic Wear>Kurtas") == "100.00"
    assert gmv("ethnic wear > lehengas") == "400.00"
    assert gmv("Ethnic") == "0.00"  # a prefix of a name is not a parent category
    assert gmv(" > ") == gmv("") == "1500.00"  # names no category: no filter
    series = client.get(
        "/metrics/timeseries", params={"window": "24h", "category": "ETHNIC wear"}, headers=headers
    ).json()
    assert sum(Decimal(point["gmv"]) for point in series["points"]) == Decimal("700.00")


def test_custom_window_and_bad_windows(client: TestClient, db: Session) -> None:
    product = make_product(db)
    start = dt.datetime(2026, 3, 1, tzinfo=IST)
    add_event(db, product, EventType.order, start + dt.timedelta(hours=1), paise=30_000)
    add_event(db, product, EventType.order, start - dt.timedelta(hours=1), paise=10_000)
    headers = headers_for(db, Role.viewer)
    params = {"from": start.isoformat(), "to": (start + dt.timedelta(hours=2)).isoformat()}
    body = client.get("/metrics", params=params, headers=headers).json()
    assert body["window"]["name"] == "custom"
    assert body["window"]["previous_end"] == "2026-02-28T18:30:00Z"
    assert body["gmv"]["value"] == "300.00"
    assert body["gmv"]["previous"] == "100.00"
    bad = [
        {"from": "2026-03-01T00:00:00"},  # no to
        {"from": "2026-03-01T00:00:00", "to": "2026-03-01T02:00:00"},  # naive
        {"from": "2026-03-01T00:15:00+05:30", "to": "2026-03-01T02:00:00+05:30"},  # not an IST hour
        {"from": "2026-03-01T00:00:00Z", "to": "2026-03-01T02:00:00Z"},  # 05:30 IST: not an IST hour
        {"from": "2026-03-01T02:00:00+05:30", "to": "2026-03-01T00:00:00+05:30"},  # reversed
    ]
    for query in bad:
        response = client.get("/metrics", params=query, headers=headers)
        assert response.status_code == 400, (query, response.text)
        assert response.json()["detail"]


def test_timeseries_is_labelled_in_ist(client: TestClient, db: Session) -> None:
    product = make_product(db)
    start = dt.datetime(2026, 3, 1, tzinfo=IST)
    add_event(db, product, EventType.view, start - dt.timedelta(seconds=1), quantity=3)
    add_event(db, product, EventType.view, start, quantity=5)
    add_event(db, product, EventType.view, start + dt.timedelta(minutes=59), quantity=7)
    headers = headers_for(db, Role.viewer)
    params = {"from": (start - DAY).isoformat(), "to": (start + DAY).isoformat()}
    hourly = client.get("/metrics/timeseries", params=params, headers=headers).json()
    assert len(hourly["points"]) == 48
    by_label = {point["label"]: point["views"] for point in hourly["points"]}
    assert by_label["2026-02-28 23:00 IST"] == 3
    assert by_label["2026-03-01 00:00 IST"] == 12
    daily = client.get("/metrics/timeseries", params={**params, "granularity": "day"}, headers=headers).json()
    assert [(p["label"], p["views"]) for p in daily["points"]] == [("2026-02-28", 3), ("2026-03-01", 12)]
    today = client.get("/metrics/timeseries", headers=headers).json()
    assert today["points"][0]["label"].endswith("00:00 IST")
    assert len(today["points"]) == utcnow().astimezone(IST).hour + 1


def test_breakdown_pages_by_gmv(client: TestClient, db: Session) -> None:
    at = bucket_start(utcnow())
    store = make_store(db)
    for brand, paise in (("Biba", 30_000), ("Libas", 20_000), ("W", 10_000)):
        add_event(db, make_product(db, store, brand=brand), EventType.order, at, paise=paise)
    headers = headers_for(db, Role.viewer)
    params: dict[str, str | int] = {"by": "brand", "store": store.id, "limit": 2}
    first = client.get("/metrics/breakdown", params=params, headers=headers).json()
    assert [(row["key"], row["gmv"]["value"]) for row in first["items"]] == [
        ("Biba", "300.00"),
        ("Libas", "200.00"),
    ]
    assert first["next_cursor"]
    second = client.get(
        "/metrics/breakdown", params={**params, "cursor": first["next_cursor"]}, headers=headers
    ).json()
    assert [row["key"] for row in second["items"]] == ["W"]
    assert second["next_cursor"] is None
    assert (
        client.get("/metrics/breakdown", params={**params, "cursor": "x"}, headers=headers).status_code == 400
    )
    marketplaces = client.get(
        "/metrics/breakdown", params={"by": "marketplace", "store": store.id}, headers=headers
    )
    assert [row["key"] for row in marketplaces.json()["items"]] == ["amazon"]


def test_movers_rise_and_fall_against_the_previous_window(client: TestClient, db: Session) -> None:
    now = utcnow()
    window = kpis.named_window(kpis.WindowName.d7, now)
    store = make_store(db)
    riser, faller, steady = (make_product(db, store) for _ in range(3))
    add_event(db, riser, EventType.order, window.start, paise=90_000)
    add_event(db, riser, EventType.order, window.previous_start, paise=10_000)
    add_event(db, faller, EventType.order, window.start - dt.timedelta(seconds=1), paise=50_000)
    add_event(db, steady, EventType.order, window.start, paise=5_000)
    add_event(db, steady, EventType.order, window.previous_start, paise=5_000)
    headers = headers_for(db, Role.viewer)
    up = client.get("/metrics/movers", params={"store": store.id}, headers=headers).json()["items"]
    assert [(m["product_id"], m["change"], m["change_pct"]) for m in up] == [(riser.id, "800.00", "800.00")]
    down = client.get(
        "/metrics/movers", params={"store": store.id, "direction": "down"}, headers=headers
    ).json()
    assert [(m["product_id"], m["value"], m["previous"]) for m in down["items"]] == [
        (faller.id, "0.00", "500.00")
    ]
    views = client.get(
        "/metrics/movers", params={"store": store.id, "metric": "views"}, headers=headers
    ).json()
    assert views["items"] == []


def test_product_metrics_for_the_item_page(db: Session) -> None:
    now = utcnow()
    product = make_product(db, stock=6)
    add_event(db, product, EventType.order, bucket_start(now), quantity=3, paise=30_000)
    add_event(
        db, product, EventType.order, bucket_start(now) - dt.timedelta(days=8), quantity=9, paise=90_000
    )
    other = make_product(db)
    add_event(db, other, EventType.order, bucket_start(now), quantity=50, paise=1_000_000)
    result = product_metrics(db, product.id, now)
    assert result.units_last_7d == 3
    assert result.days_of_cover == Decimal("14.0")
    week = result.windows["7d"]
    assert week.gmv.value == Decimal("300.00")
    assert week.gmv.previous == Decimal("900.00")
    assert week.units.change == -6
    assert result.windows["24h"].orders.value == 1
    assert set(result.windows) == {"today", "24h", "7d", "30d"}
