"""How the scoring frame is read (ml/snapshots.py): integers packed into texts by the database and
parsed by numpy must give exactly what reading the rows one by one gives."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from resight.catalog.models import Product
from resight.catalog.names import normalise_category, normalise_key
from resight.events.models import ProductHourlyMetrics
from resight.events.rollups import COUNTERS
from resight.ml.features import WINDOWS, _lookup
from resight.ml.rule_candidates import _factorise_any, factorise
from resight.ml.snapshots import bucket_floor, load_activity, load_catalogue, window_sums
from tests.factories import make_product
from tests.ml.conftest import Trained

HOUR = dt.timedelta(hours=1)


def _index_sums(db: Session, ids: np.ndarray, moment: dt.datetime) -> np.ndarray:
    """The window sums as training computes them: ActivityIndex over every rollup row."""
    index = load_activity(db)
    end = np.full(len(ids), int(moment.timestamp()), dtype=np.int64)
    return np.stack([index.sums(ids, end - seconds, end) for _, seconds in WINDOWS], axis=1)


@pytest.mark.parametrize("hours_back", [0, 5, 30, 72])
def test_window_sums_equal_the_training_index(db: Session, trained: Trained, hours_back: int) -> None:
    moment = bucket_floor(trained.now) - hours_back * HOUR
    ids = np.array(sorted(p.id for p in trained.world.products), dtype=np.int64)
    expected = _index_sums(db, ids, moment)
    assert expected[:, -1].sum() > 0  # the world has activity in the week before each moment
    assert np.array_equal(window_sums(db, ids, moment, restrict=False), expected)
    # Only some products: the others' rows are read (restrict=False) or not (True), never counted.
    some = ids[::3]
    assert np.array_equal(window_sums(db, some, moment, restrict=False), expected[::3])
    assert np.array_equal(window_sums(db, some, moment, restrict=True), expected[::3])
    assert window_sums(db, ids[:0], moment).shape == (0, len(WINDOWS), 6)


def test_packed_integers_are_exact(db: Session, trained: Trained) -> None:
    """Values no float64 holds, and a product without rows, come through exactly."""
    product = trained.world.products[0]
    idle = make_product(db)
    moment = bucket_floor(trained.now)
    big = 2**53 + 1
    row = db.get(ProductHourlyMetrics, (product.id, moment - 2 * HOUR))
    if row is None:
        row = ProductHourlyMetrics(product_id=product.id, hour_start=moment - 2 * HOUR)
        for name in COUNTERS:
            setattr(row, name, 0)
        db.add(row)
    row.gmv_paise, row.views = big, 7
    db.flush()
    ids = np.array(sorted([product.id, idle.id]), dtype=np.int64)
    got = window_sums(db, ids, moment)
    assert np.array_equal(got, _index_sums(db, ids, moment))
    assert got[list(ids).index(product.id), 1, 4] >= big  # the 24h window holds that bucket
    assert not got[list(ids).index(idle.id)].any()


def test_catalogue_columns_match_the_rows(db: Session) -> None:
    full = make_product(db, buybox_price_paise=2**53 + 3, lowest_competitor_price_paise=5, rating=4.123456789)
    bare = make_product(
        db, price_paise=None, mrp_paise=None, stock=None, rating=None, rating_count=None, brand="Biba"
    )
    catalogue = load_catalogue(db, [full.id, bare.id])
    by_id = {p.id: p for p in db.scalars(select(Product).where(Product.id.in_([full.id, bare.id])))}
    assert catalogue.product_id.tolist() == sorted(by_id)
    for i, pid in enumerate(catalogue.product_id.tolist()):
        p = by_id[pid]
        expected = {
            "price": None if p.price_paise is None else p.price_paise / 100.0,
            "mrp": None if p.mrp_paise is None else p.mrp_paise / 100.0,
            "stock": p.stock,
            "rating": p.rating,
            "rating_count": p.rating_count,
            "buybox": None if p.buybox_price_paise is None else p.buybox_price_paise / 100.0,
            "competitor": None if p.lowest_competitor_price_paise is None else 0.05,
            "created": float(int(p.created_at.timestamp())),
        }  # fmt: skip
        for name, value in expected.items():
            got = float(getattr(catalogue, name)[i])
            assert np.isnan(got) if value is None else got == float(value), name
        assert catalogue.brand[i] == p.brand
        assert catalogue.category[i] == p.category
        assert catalogue.marketplace[i] == p.marketplace.value
        assert catalogue.status[i] == p.status.value
    # One object per distinct string, so their hashes are computed once.
    assert catalogue.brand[0] is catalogue.brand[1]
    active = load_catalogue(db, [full.id, bare.id], active_only=True)
    assert active.status.tolist() == ["active", "active"]


def test_factorise_gives_np_unique_codes() -> None:
    rng = np.random.default_rng(3)
    labels = [
        "Biba",
        " biba",
        "BIBA ",
        "W",
        "w\x00",
        "",
        "Ethnic Wear > Kurtas",
        "ethnic wear>kurtas",
        "Zara",
    ]
    values = np.array([labels[i] for i in rng.integers(0, len(labels), 500)], dtype=object)
    for normalise in (normalise_key, normalise_category):
        codes, vocabulary = factorise(values, normalise)
        expected_codes, expected_vocabulary = _factorise_any(values, normalise)
        assert vocabulary == expected_vocabulary
        assert codes.dtype == np.int32
        assert np.array_equal(codes, expected_codes)
    mixed = np.array(["a", 1, "A"], dtype=object)  # not all str: converted with str() as before
    assert np.array_equal(factorise(mixed, normalise_key)[0], _factorise_any(mixed, normalise_key)[0])


def test_lookup_of_values_that_are_not_str() -> None:
    table = {"a": 1.0, "1": 2.0}
    assert _lookup(np.array(["a", "b"], dtype=object), table).tolist()[0] == 1.0
    assert np.isnan(_lookup(np.array(["a", "b"], dtype=object), table)[1])
    assert _lookup(np.array(["a", 1], dtype=object), table).tolist() == [1.0, 2.0]
