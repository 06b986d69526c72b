"""The simulated catalogue: N products with their latent demand parameters, built from (seed, N, start).

Everything here is a pure function of the seed: the same (seed, n_products, start) always gives the
same catalogue, so a world can be rebuilt anywhere (see load.py for rebuilding it from a database).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from resight.india import IST
from resight.simulator.data import CATEGORIES, MARKETPLACES, MODEL

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
MICROS_PER_HOUR = 3_600_000_000
# Top-level categories ("Ethnic Wear", ...) in first-seen order; festive windows refer to these.
TOP_CATEGORIES: tuple[str, ...] = tuple(dict.fromkeys(c["path"].split(" > ")[0] for c in CATEGORIES))
PLATFORMS: tuple[str, ...] = tuple(m["platform"] for m in MARKETPLACES)


def to_hours(moment: dt.datetime) -> float:
    """Hours since the Unix epoch (UTC): the simulator's clock."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime given; the simulator needs timezone-aware times")
    return moment.timestamp() / 3600.0


def from_hours(hours: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(hours * 3600.0, dt.UTC)


def ist_hour_floor(moment: dt.datetime) -> dt.datetime:
    """The start of the IST hour containing `moment`, in UTC (IST hours start at hh:30 UTC)."""
    local = moment.astimezone(IST).replace(minute=0, second=0, microsecond=0)
    return local.astimezone(dt.UTC)


def ist_midnight(moment: dt.datetime) -> dt.datetime:
    local = moment.astimezone(IST).replace(hour=0, minute=0, second=0, microsecond=0)
    return local.astimezone(dt.UTC)


@dataclass(frozen=True, slots=True)
class WorldSpec:
    """All that defines a world: rebuild it with build_world(spec)."""

    seed: int
    n_products: int
    # Start of the history (an IST hour); the reference time of each product's appeal trend.
    start: dt.datetime

    def __post_init__(self) -> None:
        if self.n_products < 1:
            raise ValueError("a world needs at least one product")
        if self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware")


@dataclass(frozen=True, slots=True)
class StateLog:
    """Price and stock of every product over time: (product index, hours, value), sorted per field."""

    price_index: I64
    price_hours: F64
    price_paise: I64
    stock_index: I64
    stock_hours: F64
    stock_units: I64

    @staticmethod
    def build(price: tuple[I64, F64, I64], stock: tuple[I64, F64, I64]) -> StateLog:
        p_order = np.lexsort((price[1], price[0]))
        s_order = np.lexsort((stock[1], stock[0]))
        return StateLog(
            price[0][p_order], price[1][p_order], price[2][p_order],
            stock[0][s_order], stock[1][s_order], stock[2][s_order],
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class ProductState:
    """The observable, changing state of products at one moment (arrays aligned with an index)."""

    price_paise: I64
    mrp_paise: I64
    stock: I64


@dataclass(slots=True)
class World:
    spec: WorldSpec
    category: NDArray[np.int16]  # index into data.CATEGORIES
    top_category: NDArray[np.int16]  # index into TOP_CATEGORIES
    platform: NDArray[np.int8]  # index into data.MARKETPLACES / PLATFORMS
    brand: list[str]
    title: list[str]
    sku: list[str]
    external_id: list[str]
    list_price_paise: I64  # the price at listing time; price experiments move around it
    mrp_paise: I64
    rating: F64
    rating_count: I64
    appeal: F64  # latent: expected views per day at the start, all else at its reference
    trend: F64  # latent: log change of appeal per 30 days
    opening_stock: I64
    # Filled by a history run or by load_world: price and stock over time, database ids.
    log: StateLog | None = None
    product_ids: I64 | None = None
    store_ids: dict[str, int] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return self.spec.n_products

    def opening_state(self) -> ProductState:
        return ProductState(self.list_price_paise.copy(), self.mrp_paise.copy(), self.opening_stock.copy())

    def state_at(self, at: dt.datetime) -> ProductState:
        """Price and stock of every product at `at` (the opening state before the first change)."""
        state = self.opening_state()
        if self.log is None:
            return state
        hours = to_hours(at)
        log = self.log
        state.price_paise[:] = _last_value(
            log.price_index, log.price_hours, log.price_paise, self.n, hours, state.price_paise
        )
        state.stock[:] = _last_value(
            log.stock_index, log.stock_hours, log.stock_units, self.n, hours, state.stock
        )
        return state


def _last_value(index: I64, hours: F64, values: I64, n: int, at: float, default: I64) -> I64:
    """Per product, the last value at or before `at` (arrays sorted by index, then time)."""
    if index.size == 0:
        return default
    keep = hours <= at
    index, values = index[keep], values[keep]
    if index.size == 0:
        return default
    result = default.copy()
    # Sorted by (index, time): the last row of each index run is its newest value.
    last = np.flatnonzero(np.append(index[1:] != index[:-1], True))
    result[index[last]] = values[last]
    return result


def _rupees_ending_in_9(rupees: F64) -> I64:
    whole = np.maximum(np.floor(rupees / 10.0) * 10.0 + 9.0, 49.0)
    return whole.astype(np.int64)


def catalogue_rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, 1]))


def history_rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, 2]))


def build_world(spec: WorldSpec) -> World:
    """Generate the catalogue, vectorised: about a second per million products."""
    rng = catalogue_rng(spec.seed)
    n = spec.n_products
    shares = np.array([c["share"] for c in CATEGORIES], dtype=np.float64)  # categories x platforms
    joint = (shares / shares.sum()).ravel()
    cell = rng.choice(joint.size, size=n, p=joint)
    category = (cell // len(PLATFORMS)).astype(np.int16)
    platform = (cell % len(PLATFORMS)).astype(np.int8)
    top_index = {name: i for i, name in enumerate(TOP_CATEGORIES)}
    top_of = np.array([top_index[c["path"].split(" > ")[0]] for c in CATEGORIES], dtype=np.int16)

    lo = np.array([c["price_range"][0] for c in CATEGORIES], dtype=np.float64)[category]
    hi = np.array([c["price_range"][1] for c in CATEGORIES], dtype=np.float64)[category]
    level = np.array([m["price_level"] for m in MARKETPLACES])[platform]
    rupees = np.exp(rng.uniform(np.log(lo), np.log(hi))) * level
    price_rupees = _rupees_ending_in_9(rupees)
    d_lo = np.array([c["discount_range"][0] for c in CATEGORIES])[category]
    d_hi = np.array([c["discount_range"][1] for c in CATEGORIES])[category]
    discount = rng.uniform(d_lo, d_hi)
    mrp_rupees = np.maximum(np.round(price_rupees / (1.0 - discount) / 10.0) * 10.0 - 1.0, price_rupees)

    rating = np.clip(rng.normal(MODEL["rating_mean"], MODEL["rating_sd"], n), 2.5, 4.9).round(1)
    median_appeal = np.array([c["appeal"] for c in CATEGORIES])[category]
    appeal = median_appeal * np.exp(rng.normal(0.0, MODEL["appeal_sigma"], n))
    trend = rng.normal(0.0, MODEL["trend_sigma"], n)
    # Older, more popular listings have more ratings.
    rating_count = np.floor(appeal * rng.lognormal(1.5, 0.8, n)).astype(np.int64)

    median_stock = np.array([c["stock"] for c in CATEGORIES], dtype=np.float64)[category]
    stock = np.round(median_stock * rng.lognormal(0.0, 0.6, n)).astype(np.int64)
    stock[rng.random(n) < MODEL["opening_out_of_stock"]] = 0

    brand_pick = rng.random(n)
    adjective_pick = rng.random(n)
    noun_pick = rng.random(n)
    colour_pick = rng.integers(0, len(_COLOURS), n)
    brands: list[str] = []
    titles: list[str] = []
    for c, b, a, w, colour in zip(
        category.tolist(),
        brand_pick.tolist(),
        adjective_pick.tolist(),
        noun_pick.tolist(),
        colour_pick.tolist(),
        strict=True,
    ):
        data = CATEGORIES[c]
        brand = data["brands"][int(b * len(data["brands"]))]
        adjective = data["adjectives"][int(a * len(data["adjectives"]))]
        noun = data["nouns"][int(w * len(data["nouns"]))]
        brands.append(brand)
        titles.append(f"{brand} {_COLOURS[colour]} {adjective} {noun}")
    codes = [c["code"] for c in CATEGORIES]
    sku = [f"{codes[c]}-{i:07d}" for i, c in enumerate(category.tolist())]
    external_id = [_external_id(PLATFORMS[p], spec.seed, i) for i, p in enumerate(platform.tolist())]
    return World(
        spec=spec,
        category=category,
        top_category=top_of[category],
        platform=platform,
        brand=brands,
        title=titles,
        sku=sku,
        external_id=external_id,
        list_price_paise=price_rupees * 100,
        mrp_paise=mrp_rupees.astype(np.int64) * 100,
        rating=rating,
        rating_count=rating_count,
        appeal=appeal,
        trend=trend,
        opening_stock=stock,
    )


_COLOURS = ("Navy", "Maroon", "Black", "White", "Mustard", "Teal", "Pink", "Olive", "Grey", "Beige")
_ALPHANUM = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def _external_id(platform: str, seed: int, index: int) -> str:
    if platform == "amazon":  # ASIN-like: B0 + 8 characters
        value = (seed * 1_000_003 + index) % (34**8)
        chars = []
        for _ in range(8):
            value, digit = divmod(value, 34)
            chars.append(_ALPHANUM[digit])
        return "B0" + "".join(reversed(chars))
    if platform == "myntra":  # numeric style id
        return str(10_000_000 + index)
    return str(300_000_000 + index)  # Meesho catalogue id


def sku_index(sku: str) -> int:
    """The world index encoded in a simulated SKU ("KUR-0000123" -> 123)."""
    return int(sku.rsplit("-", 1)[1])
