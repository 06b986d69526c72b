from __future__ import annotations

import datetime as dt

import numpy as np
from sqlalchemy import insert
from sqlalchemy.orm import Session

from resight.catalog.models import HistoryField, ProductHistory
from resight.events.models import ProductHourlyMetrics
from resight.ml.features import FEATURE_INDEX, FEATURE_NAMES, encode
from resight.ml.past import load_history
from resight.ml.present import current_frame
from tests.ml.conftest import Trained


def _matrix_at(db: Session, at: dt.datetime, trained: Trained) -> tuple[np.ndarray, np.ndarray]:
    frame = load_history(db).frame_at(int(at.timestamp()))
    return frame.product_id, encode(frame, trained.model.spec)


def test_no_value_from_after_t_leaks_in(db: Session, trained: Trained) -> None:
    world = trained.world
    t = world.start + dt.timedelta(days=3)
    ids_before, before = _matrix_at(db, t, trained)
    victim = world.products[0]
    # Everything below happens at or after t: price, stock, status, competition, and activity.
    late = [
        (HistoryField.price, 1, None),
        (HistoryField.stock, 0, None),
        (HistoryField.buybox_price, 5000, None),
        (HistoryField.status, None, "inactive"),
    ]
    db.execute(
        insert(ProductHistory),
        [
            {"product_id": victim.id, "field": f, "value_int": v, "value_text": txt, "event_time": t}
            for f, v, txt in late
        ],
    )
    db.execute(
        insert(ProductHourlyMetrics),
        [
            {
                "product_id": victim.id,
                "hour_start": world.end + dt.timedelta(days=1),
                "views": 10**6,
                "orders": 10**4,
                "gmv_paise": 10**9,
            }
        ],
    )
    db.execute(
        ProductHourlyMetrics.__table__.update()
        .where(ProductHourlyMetrics.product_id == victim.id, ProductHourlyMetrics.hour_start == t)
        .values(views=ProductHourlyMetrics.views + 10**6, orders=ProductHourlyMetrics.orders + 10**4)
    )
    db.flush()
    ids_after, after = _matrix_at(db, t, trained)
    assert np.array_equal(ids_before, ids_after)
    np.testing.assert_array_equal(before, after)

    # The same kind of change just before t does show up (so the test above can fail).
    db.execute(
        insert(ProductHistory),
        [
            {
                "product_id": victim.id,
                "field": HistoryField.price,
                "value_int": 77_700,
                "event_time": t - dt.timedelta(seconds=1),
            }
        ],
    )
    db.execute(
        ProductHourlyMetrics.__table__.update()
        .where(
            ProductHourlyMetrics.product_id == victim.id,
            ProductHourlyMetrics.hour_start == t - dt.timedelta(hours=1),
        )
        .values(views=ProductHourlyMetrics.views + 1000)
    )
    db.flush()
    ids_changed, changed = _matrix_at(db, t, trained)
    row = int(np.flatnonzero(ids_changed == victim.id)[0])
    assert changed[row, FEATURE_INDEX["price"]] == 777.0
    assert changed[row, FEATURE_INDEX["views_1h"]] == before[row, FEATURE_INDEX["views_1h"]] + 1000
    others = ids_changed != victim.id
    np.testing.assert_array_equal(changed[others], before[others])


def test_serving_frame_equals_history_frame_now(db: Session, trained: Trained) -> None:
    now = trained.now
    live = encode(current_frame(db, now), trained.model.spec)
    past = encode(load_history(db).frame_at(int(now.timestamp()) + 1), trained.model.spec)
    age = FEATURE_INDEX["age_days"]
    keep = [i for i in range(len(FEATURE_NAMES)) if i != age]  # one second older
    np.testing.assert_array_equal(live[:, keep], past[:, keep])


def test_unseen_category_or_brand_affects_only_that_product(db: Session, trained: Trained) -> None:
    frame = current_frame(db, trained.now)
    x = encode(frame, trained.model.spec)
    strange = frame.category.copy()
    strange[0] = "Brand New > Category"
    brands = frame.brand.copy()
    brands[1] = "Never Seen Brand"
    from dataclasses import replace

    y = encode(replace(frame, category=strange, brand=brands), trained.model.spec)
    changed = np.argwhere(~((x == y) | (np.isnan(x) & np.isnan(y))))
    assert {(int(r), FEATURE_NAMES[int(c)]) for r, c in changed} == {
        (0, "category"),
        (0, "price_vs_category"),
        (1, "brand"),
    }
    assert np.isnan(y[0, FEATURE_INDEX["category"]])
    assert np.isnan(y[1, FEATURE_INDEX["brand"]])
    px, py = trained.model.predict(x), trained.model.predict(y)
    np.testing.assert_array_equal(px[2:], py[2:])
    assert np.all(np.isfinite(py))


def test_demand_never_rises_with_price(db: Session, trained: Trained) -> None:
    frame = current_frame(db, trained.now)
    prices = np.linspace(50.0, 10_000.0, 60)
    rows = np.repeat(np.arange(len(frame)), len(prices))
    grid = frame.take(rows).with_price(np.tile(prices, len(frame)))
    demand = trained.model.predict(encode(grid, trained.model.spec)).reshape(len(frame), len(prices))
    assert np.all(np.diff(demand, axis=1) <= 1e-12)
    assert np.any(np.diff(demand, axis=1) < 0)  # and price does matter
