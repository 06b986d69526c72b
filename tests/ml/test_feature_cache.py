"""The scorer's incremental feature state (ml/feature_cache.py) must give, after any change, the
frame `current_frame` builds from scratch: bit for bit, in the same order."""

from __future__ import annotations

import datetime as dt
from dataclasses import fields

import numpy as np
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from resight.catalog.models import ListingStatus, Product
from resight.db import utcnow
from resight.events.models import ProductHourlyMetrics
from resight.ml.feature_cache import CacheStats, FeatureCache
from resight.ml.features import FeatureSpec, RawFrame, encode
from resight.ml.present import current_frame
from resight.ml.snapshots import bucket_floor
from tests.factories import make_product
from tests.ml.conftest import Trained

HOUR = dt.timedelta(hours=1)
NEVER = dt.timedelta(days=365)


def assert_same_frame(got: RawFrame, expected: RawFrame) -> None:
    for f in fields(RawFrame):
        a, b = getattr(got, f.name), getattr(expected, f.name)
        assert a.dtype == b.dtype, f.name
        assert a.shape == b.shape, f.name
        if a.dtype == object:
            assert a.tolist() == b.tolist(), f.name
        else:  # bit for bit, NaN included
            assert a.tobytes() == b.tobytes(), f.name


def check(cache: FeatureCache, db: Session, now: dt.datetime, spec: FeatureSpec | None = None) -> CacheStats:
    """The cache's frame (and, given a spec, its matrix) against the ones built from scratch."""
    db.flush()
    if spec is None:
        got = cache.frame(db, now)
        assert_same_frame(got, current_frame(db, now))
    else:
        got, x = cache.encoded(db, now, spec)
        scratch = current_frame(db, now)
        assert_same_frame(got, scratch)
        expected = encode(scratch, spec)
        assert x.shape == expected.shape
        assert x.tobytes() == expected.tobytes()
    return cache.stats


@pytest.fixture
def quiet(db: Session, trained: Trained) -> Trained:
    """The world as a catalogue last written long ago, so only the test's own writes are recent."""
    db.execute(update(Product).values(updated_at=trained.world.start))
    db.expire_all()
    return trained


def _rollup(db: Session, product: Product, hour: dt.datetime, views: int, orders: int) -> None:
    row = db.get(ProductHourlyMetrics, (product.id, hour))
    if row is None:
        row = ProductHourlyMetrics(product_id=product.id, hour_start=hour)
        for name in ("views", "clicks", "add_to_carts", "orders", "units", "gmv_paise"):
            setattr(row, name, 0)
        db.add(row)
        db.flush()
    row.views += views
    row.clicks += views // 8
    row.orders += orders
    row.units += orders
    row.gmv_paise += orders * (product.price_paise or 0)


def test_catalogue_changes_are_read_incrementally(db: Session, quiet: Trained) -> None:
    products = quiet.world.products
    cache = FeatureCache()
    now, spec = quiet.now, quiet.model.spec
    assert check(cache, db, now, spec).reload == "no state"
    stats = check(cache, db, now + dt.timedelta(minutes=1), spec)
    assert (stats.reload, stats.reread, stats.advanced) == (None, 0, False)

    price, stock, leaving, market = products[1], products[2], products[3], products[4]
    assert price.price_paise is not None
    price.price_paise -= 1_000
    stock.stock = 0
    leaving.status = ListingStatus.inactive
    market.buybox_price_paise = 12_345
    stats = check(cache, db, now + dt.timedelta(minutes=2), spec)
    assert stats.reload is None
    assert stats.reread == 4
    assert leaving.id not in cache.frame(db, now + dt.timedelta(minutes=2)).product_id.tolist()

    leaving.status = ListingStatus.active  # back: its windows come from its own rollups
    products[5].category = "Footwear > Boots"
    products[6].brand = "Unseen Brand"
    newcomer = make_product(db, category="Footwear > Sneakers", brand="Puma")
    _rollup(db, newcomer, bucket_floor(now) - 3 * HOUR, views=40, orders=2)
    stats = check(cache, db, now + dt.timedelta(minutes=3), spec)
    assert stats.reload is None
    assert stats.recomputed >= 4  # the one back, the newcomer, the two relabelled
    assert newcomer.id in cache.frame(db, now + dt.timedelta(minutes=3)).product_id.tolist()

    products[7].status = ListingStatus.deleted  # the app never deletes product rows outright
    stats = check(cache, db, now + dt.timedelta(minutes=4), spec)
    assert stats.reload is None
    assert stats.reread == 8  # with the rows written within the lookback, read again
    assert products[7].id not in cache.frame(db, now + dt.timedelta(minutes=4)).product_id.tolist()


def test_buckets_closing_move_the_windows(db: Session, quiet: Trained) -> None:
    products = quiet.world.products
    cache = FeatureCache(resync_every=NEVER)
    moment = bucket_floor(quiet.now)

    def look(now: dt.datetime) -> CacheStats:
        return check(cache, db, now, quiet.model.spec)

    look(moment + dt.timedelta(minutes=20))
    _rollup(db, products[0], moment, views=70, orders=3)  # the open bucket: not in any window yet
    assert look(moment + dt.timedelta(minutes=30)).reload is None

    # The bucket closes; a cycle within the lookback re-reads the hour that closed, so an event
    # committed after the close read (no updated_at bump: it was written before the close) counts.
    stats = look(moment + HOUR + dt.timedelta(minutes=1))
    assert (stats.reload, stats.advanced) == (None, True)
    _rollup(db, products[1], moment, views=9, orders=1)
    stats = look(moment + HOUR + dt.timedelta(minutes=2))
    assert (stats.reload, stats.rechecked) == (None, 1)
    assert look(moment + HOUR + dt.timedelta(minutes=6)).rechecked == 0  # the last look

    # A late event for an older hour: ingestion bumps the product's updated_at.
    _rollup(db, products[2], moment - 5 * HOUR, views=500, orders=9)
    products[2].updated_at = utcnow()
    stats = look(moment + HOUR + dt.timedelta(minutes=10))
    assert (stats.reload, stats.recomputed) == (None, 1)

    # Several buckets skipped, with activity in the skipped hours and the rows leaving the windows.
    _rollup(db, products[3], moment + 2 * HOUR, views=30, orders=1)
    stats = look(moment + 5 * HOUR + dt.timedelta(minutes=1))
    assert (stats.reload, stats.advanced) == (None, True)
    stats = look(moment + 23 * HOUR)
    assert (stats.reload, stats.advanced) == (None, True)  # rows now leave the 24h window

    assert look(moment + 48 * HOUR).reload == "buckets skipped"
    assert look(moment + 47 * HOUR).reload == "time went backwards"


def test_rolling_resync_catches_writes_that_bypass_updated_at(db: Session, quiet: Trained) -> None:
    """A bulk writer that leaves updated_at alone is caught once the resync's slice reaches its
    ids: half of them after half the period, all of them after the whole period."""
    cache = FeatureCache(resync_every=dt.timedelta(hours=2), resync_step=1.0)
    moment = bucket_floor(quiet.now)
    check(cache, db, moment)
    ids = sorted(p.id for p in quiet.world.products)
    low, high = ids[0], ids[-1]
    bypass = update(Product).where(Product.id.in_([low, high]))
    db.execute(bypass.values(stock=Product.stock + 7, updated_at=quiet.world.start))
    db.flush()
    frame = cache.frame(db, moment + HOUR)
    assert cache.stats.reload is None
    assert 0 < cache.stats.resynced < len(ids)
    scratch = current_frame(db, moment + HOUR)

    def stock_of(f: RawFrame, product_id: int) -> float:
        return float(f.stock[np.searchsorted(f.product_id, product_id)])

    assert stock_of(frame, low) == stock_of(scratch, low)  # in the first half: re-read
    assert stock_of(frame, high) == stock_of(scratch, high) - 7  # not reached yet
    stats = check(cache, db, moment + 2 * HOUR)  # the rest of the ids: equal to scratch again
    assert stats.reload is None
    assert stats.resynced > 0


def test_rolling_resync_takes_a_bounded_step_per_cycle(db: Session, quiet: Trained) -> None:
    """After a pause the resync owes a large share of the ids; it re-reads at most its step per
    cycle and catches up over the next cycles instead of re-reading them all at once."""
    count = len(quiet.world.products)
    cache = FeatureCache(resync_every=dt.timedelta(hours=2), resync_step=0.2)
    moment = bucket_floor(quiet.now)
    check(cache, db, moment)
    later = moment + dt.timedelta(minutes=50)  # owes 5/12 of the ids
    steps = []
    for second in range(4):
        steps.append(check(cache, db, later + dt.timedelta(seconds=second)).resynced)
    assert all(0 < n <= 0.2 * count + 1 for n in steps[:2])
    assert sum(steps) == pytest.approx(5 / 12 * count, abs=2)
    assert steps[-1] == 0  # caught up


def test_many_changes_at_once_reload(db: Session, quiet: Trained) -> None:
    cache = FeatureCache()
    check(cache, db, quiet.now)
    db.execute(update(Product).values(stock=Product.stock + 1, updated_at=utcnow()))
    stats = check(cache, db, quiet.now + dt.timedelta(minutes=1))
    # Only 30 products here: re-read rather than reloaded (reloading needs > 10,000 rows).
    assert stats.reload is None
    assert stats.reread == len(quiet.world.products)


def test_frame_values_are_exact_after_many_incremental_steps(db: Session, quiet: Trained) -> None:
    """Random changes over a day of cycles every 20 minutes: each frame equals from scratch."""
    rng = np.random.default_rng(3)
    products = quiet.world.products
    cache = FeatureCache(resync_every=NEVER)
    start = bucket_floor(quiet.now)
    previous: tuple[np.ndarray, bytes] | None = None  # the last matrix, and its bytes then
    for step in range(75):
        now = start + step * dt.timedelta(minutes=20)
        hour = bucket_floor(now) - int(rng.integers(0, 30)) * HOUR
        product = products[int(rng.integers(len(products)))]
        _rollup(db, product, bucket_floor(now), views=int(rng.integers(1, 50)), orders=1)
        _rollup(db, product, hour, views=int(rng.integers(1, 50)), orders=int(rng.integers(0, 3)))
        product.updated_at = utcnow()
        if step % 5 == 0:
            other = products[int(rng.integers(len(products)))]
            other.price_paise = int(rng.integers(10_000, 300_000))
        stats = check(cache, db, now, quiet.model.spec)
        assert step == 0 or stats.reload is None
        # The scorer compares each matrix with the one before: that one must still be intact.
        if previous is not None:
            assert previous[0].tobytes() == previous[1]
        x = cache.encoded(db, now, quiet.model.spec)[1]
        previous = (x, x.tobytes())
