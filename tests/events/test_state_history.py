"""Active and out-of-stock products in a previous window: the counts as they stood when it ended."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from resight.catalog.models import ListingStatus, Platform
from resight.db import utcnow
from resight.events import kpis
from resight.events.models import ProductStateChanges, ProductStateDailyChanges
from resight.events.segment_reads import Filters, fold_state_counts, product_counts, product_counts_at
from resight.users.models import Role
from tests.factories import headers_for, make_product, make_store

DAYS_AGO = dt.timedelta(days=3)


def _move_history_back(session: Session, store_id: int) -> None:
    """As if every state change recorded so far for the store had happened three days earlier."""
    session.flush()
    fold_state_counts(session)  # PostgreSQL folds this transaction's product writes at commit
    for row in session.scalars(select(ProductStateChanges).where(ProductStateChanges.store_id == store_id)):
        row.hour_start -= DAYS_AGO
    daily = ProductStateDailyChanges
    for day in session.scalars(select(daily).where(daily.store_id == store_id)):
        day.day_start -= DAYS_AGO
    session.flush()


def test_previous_counts_come_from_the_state_history(client: TestClient, db: Session) -> None:
    store = make_store(db, Platform.myntra)
    products = [make_product(db, store, category="Women > Kurtas", stock=5) for _ in range(3)]
    _move_history_back(db, store.id)
    products[0].stock = 0  # out of stock now
    products[1].status = ListingStatus.inactive  # no longer active now
    products[2].title = "Renamed"  # not a state change
    db.flush()
    headers = headers_for(db, Role.viewer)

    def counts(**params: str | int) -> tuple[dict[str, object], dict[str, object]]:
        response = client.get("/metrics", params={"store": store.id, **params}, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        return body["active_products"], body["out_of_stock_products"]

    active, out_of_stock = counts(window="24h")
    assert active == {"value": 2, "previous": 3, "change": -1, "change_pct": "-33.33"}
    assert out_of_stock == {"value": 1, "previous": 0, "change": 1, "change_pct": None}
    # 7 days ago the products did not exist yet.
    active, out_of_stock = counts(window="7d")
    assert (active["value"], active["previous"]) == (2, 0)
    # A past window's value is the count when it ended; its previous one is from before the products.
    end = kpis.ist_midnight(utcnow()) - dt.timedelta(days=1)
    start = end - dt.timedelta(days=2)
    active, out_of_stock = counts(**{"from": start.isoformat(), "to": end.isoformat()})
    assert (active["value"], active["previous"]) == (3, 0)
    assert (out_of_stock["value"], out_of_stock["previous"]) == (0, 0)
    # Other stores' products never count, then or now.
    other = make_store(db, Platform.amazon)
    make_product(db, other, stock=0)
    db.flush()
    assert product_counts_at(db, Filters(store_id=store.id), end) == (3, 0)
    assert product_counts_at(
        db, Filters(store_id=store.id), kpis.named_window(kpis.WindowName.today, utcnow()).end
    ) == product_counts(db, Filters(store_id=store.id))
