"""The simulated world's statistics: the demand model behaves as docs/simulator.md says."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from resight.simulator.data import CATEGORIES
from resight.simulator.demand import (
    cancel_rate,
    expected_min_poisson,
    expected_orders_between,
    funnel,
    return_rate,
    true_expected_orders,
    true_expected_revenue_paise,
)
from resight.simulator.history import CANCELLATION, ORDER, RETURN, VIEW, History
from resight.simulator.seasons import HOURLY_TRAFFIC
from resight.simulator.world import (
    MICROS_PER_HOUR,
    PLATFORMS,
    ProductState,
    World,
    WorldSpec,
    build_world,
    ist_hour_floor,
    sku_index,
    to_hours,
)

START = ist_hour_floor(dt.datetime(2026, 10, 1, tzinfo=dt.UTC))


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(WorldSpec(seed=11, n_products=3_000, start=START))


def _stocked(world: World, index: np.ndarray, price_factor: float = 1.0) -> ProductState:
    price = np.round(world.list_price_paise[index] * price_factor).astype(np.int64)
    return ProductState(price, world.mrp_paise[index].copy(), np.full(index.size, 1_000, np.int64))


def test_catalogue_is_plausible(world: World) -> None:
    assert world.n == 3_000
    assert len(set(world.sku)) == world.n
    assert all(sku_index(sku) == i for i, sku in enumerate(world.sku))
    assert (world.mrp_paise >= world.list_price_paise).all()
    assert set(np.unique(world.platform).tolist()) == set(range(len(PLATFORMS)))
    assert len(np.unique(world.category)) == len(CATEGORIES)
    for c, data in enumerate(CATEGORIES):
        rupees = world.list_price_paise[world.category == c] / 100
        low, high = data["price_range"]
        # Meesho prices sit 25 % under the range; others up to 5 % over it.
        assert rupees.min() >= low * 0.75 - 10
        assert rupees.max() <= high * 1.05 + 10
    amazon = world.platform == PLATFORMS.index("amazon")
    assert all(world.external_id[i].startswith("B0") for i in np.flatnonzero(amazon)[:50])
    assert 3.5 < world.rating.mean() < 4.5


@pytest.mark.parametrize("category", range(len(CATEGORIES)), ids=[c["path"] for c in CATEGORIES])
def test_higher_price_means_fewer_orders_in_every_category(world: World, category: int) -> None:
    index = np.flatnonzero(world.category == category)
    assert index.size > 20
    at = START + dt.timedelta(days=40)
    base = expected_orders_between(world, index, _stocked(world, index), at)
    dearer = expected_orders_between(world, index, _stocked(world, index, 1.10), at)
    cheaper = expected_orders_between(world, index, _stocked(world, index, 0.90), at)
    assert (dearer < base).all()
    assert (cheaper > base).all()
    # Roughly the category's elasticity (plus the discount's effect on clicks): a 10 % rise costs
    # at least |elasticity| x 10 % of orders, give or take.
    elasticity = CATEGORIES[category]["elasticity"]
    drop = 1 - np.median(dearer / base)
    assert drop > abs(elasticity) * 0.1 * 0.7


def test_festive_windows_lift_demand_where_they_apply(world: World) -> None:
    world = build_world(world.spec)
    world.trend[:] = 0.0  # compare two dates without each product's trend in between
    index = np.arange(world.n)
    state = _stocked(world, index)
    # Thursday 15 October 2026: Amazon's Great Indian Festival-style sale; Thursday 29 October: none.
    sale = dt.datetime(2026, 10, 15, 12, 30, tzinfo=dt.UTC)
    plain = dt.datetime(2026, 10, 29, 12, 30, tzinfo=dt.UTC)
    ratio = expected_orders_between(world, index, state, sale) / expected_orders_between(
        world, index, state, plain
    )
    amazon = world.platform == PLATFORMS.index("amazon")
    assert (ratio[amazon] > 1.5).all()
    np.testing.assert_allclose(ratio[~amazon], 1.0, rtol=1e-9)
    # Diwali week (every marketplace), Ethnic Wear lifted more than the rest.
    diwali = dt.datetime(2026, 11, 5, 12, 30, tzinfo=dt.UTC)  # a Thursday
    lift = expected_orders_between(world, index, state, diwali) / expected_orders_between(
        world, index, state, plain
    )
    assert (lift > 1.3).all()
    ethnic = np.array([CATEGORIES[c]["path"].startswith("Ethnic Wear") for c in world.category.tolist()])
    assert np.median(lift[ethnic]) > np.median(lift[~ethnic]) * 1.2


def test_no_stock_no_orders(world: World) -> None:
    index = np.arange(world.n)
    state = _stocked(world, index)
    state.stock[::2] = 0
    at = to_hours(START + dt.timedelta(days=3))
    rates = funnel(world, index, state, at)
    assert (rates.expected_orders[::2] == 0).all()
    assert (rates.expected_orders[1::2] > 0).all()
    # Out-of-stock listings still get (fewer) views.
    assert (rates.views[::2] > 0).all()
    # The truth caps orders by stock: E[min(N, s)].
    mean = np.array([0.5, 3.0, 3.0, 40.0])
    capped = expected_min_poisson(mean, np.array([0, 1, 1_000, 10]))
    assert capped[0] == 0
    assert capped[1] == pytest.approx(1 - np.exp(-3.0))
    assert capped[2] == pytest.approx(3.0)
    assert 9.9 < capped[3] <= 10


def test_ist_daily_cycle_peaks_in_the_evening(world: World) -> None:
    index = np.arange(world.n)
    state = _stocked(world, index)
    day = ist_hour_floor(dt.datetime(2026, 10, 28, 18, 30, tzinfo=dt.UTC))  # IST midnight
    hourly = [funnel(world, index, state, to_hours(day) + h).views.sum() for h in range(24)]
    assert int(np.argmax(hourly)) in (20, 21, 22)
    assert int(np.argmin(hourly)) in (3, 4, 5)
    assert int(np.argmax(HOURLY_TRAFFIC)) == int(np.argmax(hourly))


def test_simulated_traffic_follows_the_ist_cycle_and_stock() -> None:
    world = build_world(WorldSpec(seed=5, n_products=400, start=START))
    history = History(world, 14 * 24)
    views_by_ist_hour = np.zeros(24)
    orders: list[tuple[np.ndarray, np.ndarray]] = []
    for chunk in history:
        views = chunk.kind == VIEW
        ist_hour = (chunk.micros[views] + 19_800_000_000) // 3_600_000_000 % 24  # UTC+05:30
        np.add.at(views_by_ist_hour, ist_hour, chunk.quantity[views])
        is_order = chunk.kind == ORDER
        orders.append((chunk.index[is_order], chunk.micros[is_order]))
    assert int(np.argmax(views_by_ist_hour)) in (19, 20, 21, 22)
    assert views_by_ist_hour[3] < views_by_ist_hour[21] / 5
    # Every order found stock: the last recorded stock before it was positive.
    assert world.log is not None
    log = world.log
    order_index = np.concatenate([o[0] for o in orders])
    order_hours = np.concatenate([o[1] for o in orders]) / 3_600_000_000
    assert order_index.size > 100
    key = log.stock_index * 1e6 + (log.stock_hours - to_hours(START))
    position = np.searchsorted(key, order_index * 1e6 + (order_hours - to_hours(START)), side="left") - 1
    assert (log.stock_index[position] == order_index).all()
    assert (log.stock_units[position] > 0).all()
    assert (history.final_state().stock >= 0).all()


def test_same_seed_same_world_and_history() -> None:
    spec = WorldSpec(seed=99, n_products=300, start=START)
    first, second = build_world(spec), build_world(spec)
    assert first.title == second.title
    np.testing.assert_array_equal(first.appeal, second.appeal)
    chunks_a = list(History(first, 72))
    chunks_b = list(History(second, 72))
    assert len(chunks_a) == len(chunks_b)
    for a, b in zip(chunks_a, chunks_b, strict=True):
        for name in ("index", "kind", "quantity", "revenue_paise", "micros", "order_number"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    other = build_world(WorldSpec(seed=100, n_products=300, start=START))
    assert other.title != first.title
    other_events = np.concatenate([c.micros for c in History(other, 72)])
    assert not np.array_equal(other_events, np.concatenate([c.micros for c in chunks_a]))


def test_truth_follows_the_state_log() -> None:
    world = build_world(WorldSpec(seed=3, n_products=200, start=START))
    for _chunk in History(world, 5 * 24):
        pass
    end = START + dt.timedelta(days=5)
    index = np.arange(world.n)
    truth = true_expected_orders(world, index, end)
    state = world.state_at(end)
    assert (truth[state.stock == 0] == 0).all()
    assert (truth[state.stock > 5] > 0).all()
    revenue = true_expected_revenue_paise(world, index, end)
    assert revenue.dtype == np.int64
    assert (revenue >= np.floor(truth * state.price_paise)).all()
    # Prices really moved during the history (the price experiments).
    assert (world.state_at(end).price_paise != world.list_price_paise).mean() > 0.15


def test_cancellations_and_returns_follow_category_and_marketplace() -> None:
    """Realised cancellation and return shares match each marketplace's and category's rates;
    Meesho, with its high return-to-origin rate, gets the most parcels back."""
    world = build_world(WorldSpec(seed=17, n_products=3_000, start=START))
    history = History(world, 40 * 24)
    index, micros, number, cancelled, returned = [], [], [], [], []
    for chunk in history:
        is_order = chunk.kind == ORDER
        index.append(chunk.index[is_order])
        micros.append(chunk.micros[is_order])
        number.append(chunk.order_number[is_order])
        cancelled.append(chunk.order_number[chunk.kind == CANCELLATION])
        returned.append(chunk.order_number[chunk.kind == RETURN])
    order_index, order_micros, order_number = (np.concatenate(a) for a in (index, micros, number))
    # Only orders whose cancellation (<= 24 h) or return (<= 12 days) would fall inside the history.
    settled = order_micros < history.end_micros - 13 * 24 * MICROS_PER_HOUR
    was_cancelled = np.isin(order_number, np.concatenate(cancelled))
    was_returned = np.isin(order_number, np.concatenate(returned))
    assert not (was_cancelled & was_returned).any()
    expected_cancel = cancel_rate(world, order_index)
    expected_return = (1 - expected_cancel) * return_rate(world, order_index)

    def share(flags: np.ndarray, expected: np.ndarray, group: np.ndarray) -> float:
        mask = settled & group
        assert mask.sum() > 500
        realised, rate = float(flags[mask].mean()), float(expected[mask].mean())
        assert abs(realised - rate) < 4.5 * np.sqrt(rate * (1 - rate) / mask.sum()) + 1e-3
        return realised

    by_platform = {
        name: (
            share(was_cancelled, expected_cancel, world.platform[order_index] == p),
            share(was_returned, expected_return, world.platform[order_index] == p),
        )
        for p, name in enumerate(PLATFORMS)
    }
    by_category = {
        data["code"]: (
            share(was_cancelled, expected_cancel, world.category[order_index] == c),
            share(was_returned, expected_return, world.category[order_index] == c),
        )
        for c, data in enumerate(CATEGORIES)
    }
    assert by_platform["meesho"][0] > by_platform["myntra"][0] > by_platform["amazon"][0]
    assert by_platform["meesho"][1] > by_platform["myntra"][1] > by_platform["amazon"][1]
    assert by_platform["meesho"][1] > 0.2
    assert by_category["DRS"][1] > 2 * by_category["SKN"][1]  # dresses come back, serums do not
    assert by_category["SWT"][0] > 1.5 * by_category["SKN"][0]  # gadgets are cancelled more
