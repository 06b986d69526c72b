"""The demand model and the ground truth: expected views, funnel rates and orders per product-hour.

Pure numpy: no database, no clock. docs/simulator.md writes the same equations out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from resight.simulator.data import CATEGORIES, MARKETPLACES, MODEL
from resight.simulator.seasons import FESTIVE_CALENDAR, HOURLY_TRAFFIC, WEEKDAY_TRAFFIC
from resight.simulator.world import (
    F64,
    I64,
    PLATFORMS,
    TOP_CATEGORIES,
    ProductState,
    World,
    to_hours,
)

IST_OFFSET_HOURS = 5.5
HOURS_PER_TREND_PERIOD = 30 * 24
_HOURLY = np.array(HOURLY_TRAFFIC) / np.mean(HOURLY_TRAFFIC)
_WEEKDAY = np.array(WEEKDAY_TRAFFIC) / np.mean(WEEKDAY_TRAFFIC)
_CTR = np.array([c["ctr"] for c in CATEGORIES])
_ATC = np.array([c["add_to_cart"] for c in CATEGORIES])
_CONV = np.array([c["conversion"] for c in CATEGORIES])
_ELASTICITY = np.array([c["elasticity"] for c in CATEGORIES])
_MID_DISCOUNT = np.array([sum(c["discount_range"]) / 2 for c in CATEGORIES])
_REFERENCE_RUPEES = np.array([float(np.sqrt(c["price_range"][0] * c["price_range"][1])) for c in CATEGORIES])
_MULTI_UNIT = np.array([c["multi_unit"] for c in CATEGORIES])
_TRAFFIC = np.array([m["traffic"] for m in MARKETPLACES])
_PRICE_LEVEL = np.array([m["price_level"] for m in MARKETPLACES])
_RETURN = np.array([c["return_rate"] for c in CATEGORIES])
_CANCEL = np.array([m["cancel_rate"] for m in MARKETPLACES])
_CANCEL_MULT = np.array([c["cancel_multiplier"] for c in CATEGORIES])
_RETURN_MULT = np.array([m["return_multiplier"] for m in MARKETPLACES])
_RTO = np.array([m["rto_rate"] for m in MARKETPLACES])


@dataclass(frozen=True, slots=True)
class Funnel:
    """Per product, for one hour: expected views and the three funnel probabilities."""

    views: F64
    ctr: F64
    add_to_cart: F64
    conversion: F64

    @property
    def expected_orders(self) -> F64:
        result: F64 = self.views * self.ctr * self.add_to_cart * self.conversion
        return result


@lru_cache(maxsize=1)
def _festive_windows() -> tuple[F64, F64, F64, F64, NDArray[np.bool_], F64]:
    """Window starts/ends in simulator hours, multipliers, platform masks, category multipliers."""
    starts, ends, traffic, conversion, platforms, categories = [], [], [], [], [], []
    for window in FESTIVE_CALENDAR:
        first = dt.date.fromisoformat(window["start"])
        last = dt.date.fromisoformat(window["end"])
        epoch = dt.date(1970, 1, 1)
        starts.append((first - epoch).days * 24 - IST_OFFSET_HOURS)
        ends.append(((last - epoch).days + 1) * 24 - IST_OFFSET_HOURS)
        traffic.append(window["traffic"])
        conversion.append(window["conversion"])
        platforms.append([not window["platforms"] or p in window["platforms"] for p in PLATFORMS])
        categories.append([window["categories"].get(top, 1.0) for top in TOP_CATEGORIES])
    return (
        np.array(starts),
        np.array(ends),
        np.array(traffic),
        np.array(conversion),
        np.array(platforms, dtype=np.bool_),
        np.array(categories),
    )


def festive_multipliers(hours: float) -> tuple[F64, F64]:
    """(traffic, conversion) multipliers at `hours`, as platform x top-category tables.

    Overlapping windows do not stack: each cell takes the largest multiplier in force.
    """
    starts, ends, traffic, conversion, platforms, categories = _festive_windows()
    shape = (len(PLATFORMS), len(TOP_CATEGORIES))
    traffic_table = np.ones(shape)
    conversion_table = np.ones(shape)
    for w in np.flatnonzero((starts <= hours) & (hours < ends)):
        cell_traffic = np.where(platforms[w][:, None], traffic[w] * categories[w][None, :], 1.0)
        cell_conversion = np.where(platforms[w][:, None], conversion[w], 1.0)
        traffic_table = np.maximum(traffic_table, cell_traffic)
        conversion_table = np.maximum(conversion_table, cell_conversion)
    return traffic_table, conversion_table


def ist_hour_and_weekday(hours: float) -> tuple[int, int]:
    local = hours + IST_OFFSET_HOURS
    day = int(np.floor(local / 24.0))
    # 1970-01-01 was a Thursday (weekday 3, Monday = 0).
    return int(np.floor(local - day * 24.0)), (day + 3) % 7


def funnel(world: World, index: I64, state: ProductState, hours: float) -> Funnel:
    """The model for the IST hour starting at `hours` (simulator clock), for products `index`.

    `state` holds price, MRP and stock aligned with `index`.
    """
    category = world.category[index]
    platform = world.platform[index]
    hour, weekday = ist_hour_and_weekday(hours)
    festive_traffic, festive_conversion = festive_multipliers(hours)
    top = world.top_category[index]
    in_stock = state.stock > 0
    rating_lift = np.exp(MODEL["rating_effect"] * (world.rating[index] - MODEL["rating_mean"]))
    elapsed = (hours - to_hours(world.spec.start)) / HOURS_PER_TREND_PERIOD
    views = (
        world.appeal[index]
        / 24.0
        * np.exp(world.trend[index] * elapsed)
        * _TRAFFIC[platform]
        * rating_lift
        * _HOURLY[hour]
        * _WEEKDAY[weekday]
        * festive_traffic[platform, top]
        * np.where(in_stock, 1.0, MODEL["out_of_stock_traffic"])
    )
    price = state.price_paise.astype(np.float64)
    mrp = np.maximum(state.mrp_paise.astype(np.float64), price)
    discount = 1.0 - price / mrp
    reference = _REFERENCE_RUPEES[category] * _PRICE_LEVEL[platform] * 100.0
    price_effect = (price / reference) ** (_ELASTICITY[category] / 2.0)
    cap = MODEL["max_probability"]
    ctr = np.minimum(
        _CTR[category] * np.exp(MODEL["discount_effect"] * (discount - _MID_DISCOUNT[category])), cap
    )
    add_to_cart = np.minimum(_ATC[category] * price_effect, cap)
    conversion = (
        np.minimum(_CONV[category] * price_effect * rating_lift * festive_conversion[platform, top], cap)
        * in_stock
    )
    return Funnel(views=views, ctr=ctr, add_to_cart=add_to_cart, conversion=conversion)


def expected_orders_between(
    world: World, index: I64, state: ProductState, start: dt.datetime, hours: int = 24
) -> F64:
    """Sum of expected orders over `hours` IST hours from `start`, the state held fixed, uncapped."""
    origin = to_hours(start)
    total = np.zeros(index.size)
    for h in range(hours):
        total += funnel(world, index, state, origin + h).expected_orders
    return total


def expected_min_poisson(mean: F64, cap: I64) -> F64:
    """E[min(N, cap)] for N ~ Poisson(mean), elementwise: orders cannot exceed stock."""
    result = mean.astype(np.float64).copy()
    # Only where the cap can bind (more than ~8 standard deviations away it cannot).
    tight = np.flatnonzero(cap < mean + 8.0 * np.sqrt(mean) + 8.0)
    if tight.size == 0:
        return result
    m, c = mean[tight], cap[tight]
    # E[min(N, c)] = sum_{k=0}^{c-1} P(N > k)
    pmf = np.exp(-m)
    cdf = pmf.copy()
    total = np.zeros(tight.size)
    for k in range(int(c.max())):
        total += np.where(k < c, 1.0 - cdf, 0.0)
        pmf = pmf * m / (k + 1)
        cdf = cdf + pmf
    result[tight] = np.maximum(total, 0.0)
    return result


def true_expected_orders(world: World, index: NDArray[np.integer], at: dt.datetime) -> F64:
    """The ground truth: expected orders of products `index` in the 24 hours from `at`.

    The state (price, MRP, stock) is the world's state at `at`, held for the 24 hours (no restock,
    no price change); orders cannot exceed the stock at `at`, and a product with no stock has none.
    """
    rows: I64 = np.asarray(index, dtype=np.int64)
    full = world.state_at(at)
    state = ProductState(full.price_paise[rows], full.mrp_paise[rows], full.stock[rows])
    return expected_min_poisson(expected_orders_between(world, rows, state, at), state.stock)


def true_expected_revenue_paise(world: World, index: NDArray[np.integer], at: dt.datetime) -> I64:
    """Expected gross order value (price x units) of the 24 hours from `at`, in whole paise."""
    rows: I64 = np.asarray(index, dtype=np.int64)
    orders = true_expected_orders(world, rows, at)
    price = world.state_at(at).price_paise[rows]
    units = orders * (1.0 + _MULTI_UNIT[world.category[rows]])
    result: I64 = np.round(units * price).astype(np.int64)
    return result


def multi_unit_rate(world: World, index: I64) -> F64:
    result: F64 = _MULTI_UNIT[world.category[index]]
    return result


def cancel_rate(world: World, index: I64) -> F64:
    """Share of orders cancelled before dispatch: the marketplace's rate x the category's multiplier."""
    result: F64 = _CANCEL[world.platform[index]] * _CANCEL_MULT[world.category[index]]
    return result


def return_rate(world: World, index: I64) -> F64:
    """Share of orders not cancelled that come back: category returns x marketplace, plus RTO."""
    rate = _RETURN[world.category[index]] * _RETURN_MULT[world.platform[index]] + _RTO[world.platform[index]]
    result: F64 = np.minimum(rate, 0.9)
    return result
