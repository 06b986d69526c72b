"""The one feature pipeline: training, scoring, explanation and what-if all call `encode`.

Pure and vectorised: arrays in, arrays out, no database and no clock. `RawFrame` is the state of
some products as of some moments (built by ml/snapshots.py from the database, strictly before each
moment); `encode` turns it into the model's matrix using the `FeatureSpec` fitted with the model
(category vocabularies and reference prices), so a category or brand the model never saw becomes
"missing" for that product alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from itertools import repeat
from typing import Any

import numpy as np
import numpy.typing as npt

from resight.ml.calendar import festive_flag

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Strings = npt.NDArray[np.object_]

IST_OFFSET_SECONDS = 5 * 3600 + 30 * 60
ACTIVITY = ("views", "clicks", "add_to_carts", "orders", "revenue")
ACTIVITY_LABELS = {
    "views": "Views",
    "clicks": "Clicks",
    "add_to_carts": "Add-to-carts",
    "orders": "Orders",
    "revenue": "Revenue (₹)",
}
WINDOWS = (("1h", 3600), ("24h", 86_400), ("7d", 7 * 86_400))
CATEGORICAL = ("marketplace", "category", "brand")
# Beta-prior smoothing: a product with few views is pulled towards a typical rate.
CTR_PRIOR, CONVERSION_PRIOR, PRIOR_WEIGHT = 0.05, 0.05, 50.0
MAX_DAYS_OF_COVER = 365.0


@dataclass(frozen=True)
class Feature:
    name: str
    label: str
    monotone: int = 0  # -1: the prediction may not rise with this feature; +1: may not fall


def _activity_features() -> list[Feature]:
    return [
        Feature(f"{kind}_{window}", f"{ACTIVITY_LABELS[kind]}, last {window}")
        for window, _ in WINDOWS
        for kind in ACTIVITY
    ]


# Every feature that moves with the selling price is constrained so that demand never rises with
# price: price, price vs category and the gaps rise with it (-1), the discount falls with it (+1).
FEATURES: tuple[Feature, ...] = (
    Feature("price", "Selling price (₹)", -1),
    Feature("mrp", "MRP (₹)"),
    Feature("discount_pct", "Discount off MRP (%)", +1),
    Feature("price_vs_category", "Price ÷ category median price", -1),
    Feature("stock", "Stock (units)"),
    Feature("days_of_cover", "Days of stock cover at the 7-day sales rate"),
    Feature("rating", "Rating"),
    Feature("rating_count", "Number of ratings"),
    Feature("marketplace", "Marketplace"),
    Feature("category", "Category"),
    Feature("brand", "Brand"),
    Feature("age_days", "Days since listed"),
    *_activity_features(),
    Feature("ctr_7d", "Click-through rate, last 7d (smoothed)"),
    Feature("conversion_7d", "Orders per click, last 7d (smoothed)"),
    Feature("hour_ist", "Hour of day (IST)"),
    Feature("weekday_ist", "Day of week (IST, Monday = 0)"),
    Feature("festive", "Festive sale window"),
    Feature("buybox_gap_pct", "Price above the buy box (%)", -1),
    Feature("competitor_gap_pct", "Price above the lowest competitor (%)", -1),
)
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
FEATURE_INDEX = {name: i for i, name in enumerate(FEATURE_NAMES)}
CATEGORICAL_INDICES: tuple[int, ...] = tuple(FEATURE_INDEX[name] for name in CATEGORICAL)
MONOTONE: tuple[int, ...] = tuple(f.monotone for f in FEATURES)
ACTIVITY_COLUMNS: tuple[str, ...] = tuple(f"{k}_{w}" for w, _ in WINDOWS for k in ACTIVITY)


@dataclass(frozen=True)
class RawFrame:
    """Products as of moments: one row per (product, moment). Prices in ₹, NaN when unknown."""

    product_id: Ints
    at: Floats  # the moment, epoch seconds
    price: Floats
    mrp: Floats
    stock: Floats
    rating: Floats
    rating_count: Floats
    buybox: Floats
    competitor: Floats
    created: Floats  # listing time, epoch seconds
    marketplace: Strings
    category: Strings
    brand: Strings
    activity: Floats  # (rows, len(ACTIVITY_COLUMNS)), complete rollup buckets before `at`
    units_7d: Floats

    def __len__(self) -> int:
        return int(self.product_id.shape[0])

    def take(self, index: npt.NDArray[Any]) -> RawFrame:
        return RawFrame(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def with_price(self, price_rupees: Floats) -> RawFrame:
        return replace(self, price=np.asarray(price_rupees, dtype=np.float64))

    @staticmethod
    def concat(frames: Sequence[RawFrame]) -> RawFrame:
        return RawFrame(
            **{f.name: np.concatenate([getattr(fr, f.name) for fr in frames]) for f in fields(RawFrame)}
        )


@dataclass(frozen=True)
class FeatureSpec:
    """What the model learned about the data besides its trees; stored inside the model artifact."""

    vocabularies: dict[str, list[str]]
    category_median_price: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        return {"vocabularies": self.vocabularies, "category_median_price": self.category_median_price}

    @staticmethod
    def from_json(data: dict[str, Any]) -> FeatureSpec:
        return FeatureSpec(
            vocabularies={k: list(v) for k, v in data["vocabularies"].items()},
            category_median_price={k: float(v) for k, v in data["category_median_price"].items()},
        )


def fit_spec(training: RawFrame, reference: RawFrame) -> FeatureSpec:
    """Vocabularies from the training rows; category median prices from `reference`, the state at
    the start of the training window, so no training row sees a price from its own future."""
    vocabularies = {name: sorted({str(v) for v in getattr(training, name)}) for name in CATEGORICAL}
    medians: dict[str, float] = {}
    known = ~np.isnan(reference.price)
    categories, inverse = np.unique(reference.category[known].astype(str), return_inverse=True)
    prices = reference.price[known]
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(categories) + 1))
    for i, category in enumerate(categories):
        medians[str(category)] = float(np.median(prices[order[bounds[i] : bounds[i + 1]]]))
    return FeatureSpec(vocabularies=vocabularies, category_median_price=medians)


def _lookup(values: Strings, table: dict[str, float]) -> Floats:
    """Map strings through a table, NaN where absent. One dict lookup per value: sorting the
    values to find the distinct ones (np.unique on strings) cost 7× more."""
    items = values.tolist()
    if set(map(type, items)) <= {str}:  # the usual case: the lookups run in C
        return np.fromiter(map(table.get, items, repeat(math.nan)), dtype=np.float64, count=len(items))
    get = table.get
    mapped = (get(v, math.nan) if type(v) is str else get(str(v), math.nan) for v in items)
    return np.fromiter(mapped, dtype=np.float64, count=len(values))


def _ratio(numerator: Floats, denominator: Floats) -> Floats:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = numerator / denominator
    out[~np.isfinite(out)] = np.nan
    return out


def encode(frame: RawFrame, spec: FeatureSpec) -> Floats:
    """The model matrix (rows × FEATURES), C-contiguous float64; NaN means missing."""
    n = len(frame)
    x = np.empty((n, len(FEATURES)), dtype=np.float64)
    col = FEATURE_INDEX
    x[:, col["price"]] = frame.price
    x[:, col["mrp"]] = frame.mrp
    x[:, col["discount_pct"]] = 100.0 * _ratio(frame.mrp - frame.price, frame.mrp)
    median = _lookup(frame.category, spec.category_median_price)
    x[:, col["price_vs_category"]] = _ratio(frame.price, median)
    x[:, col["stock"]] = frame.stock
    daily_units = frame.units_7d / 7.0
    with np.errstate(divide="ignore", invalid="ignore"):
        cover = np.where(daily_units > 0, frame.stock / daily_units, MAX_DAYS_OF_COVER)
    x[:, col["days_of_cover"]] = np.minimum(cover, MAX_DAYS_OF_COVER)
    x[:, col["rating"]] = frame.rating
    x[:, col["rating_count"]] = frame.rating_count
    for name in CATEGORICAL:
        codes = {value: float(i) for i, value in enumerate(spec.vocabularies.get(name, []))}
        x[:, col[name]] = _lookup(getattr(frame, name), codes)
    x[:, col["age_days"]] = np.maximum(frame.at - frame.created, 0.0) / 86_400.0
    start = col[ACTIVITY_COLUMNS[0]]
    x[:, start : start + len(ACTIVITY_COLUMNS)] = frame.activity
    activity = {name: frame.activity[:, i] for i, name in enumerate(ACTIVITY_COLUMNS)}
    x[:, col["ctr_7d"]] = (activity["clicks_7d"] + PRIOR_WEIGHT * CTR_PRIOR) / (
        activity["views_7d"] + PRIOR_WEIGHT
    )
    x[:, col["conversion_7d"]] = (activity["orders_7d"] + PRIOR_WEIGHT * CONVERSION_PRIOR) / (
        activity["clicks_7d"] + PRIOR_WEIGHT
    )
    local = np.floor(frame.at) + IST_OFFSET_SECONDS
    x[:, col["hour_ist"]] = np.floor(local / 3600.0) % 24
    # 1 January 1970 was a Thursday (3 with Monday = 0).
    x[:, col["weekday_ist"]] = (np.floor(local / 86_400.0) + 3) % 7
    x[:, col["festive"]] = festive_flag(frame.at)
    x[:, col["buybox_gap_pct"]] = 100.0 * _ratio(frame.price - frame.buybox, frame.buybox)
    x[:, col["competitor_gap_pct"]] = 100.0 * _ratio(frame.price - frame.competitor, frame.competitor)
    return x


def window_activity(windows: Ints) -> tuple[Floats, Floats]:
    """(activity matrix in ACTIVITY_COLUMNS order, units over 7 days) from integer sums over each
    window, shape (rows, len(WINDOWS), len(ACTIVITY) + 1): ACTIVITY's counters (revenue in paise),
    then units. Every way of building a frame converts its sums here, so frames agree bit for bit."""
    rows, kinds = len(windows), len(ACTIVITY)
    activity = np.empty((rows, len(ACTIVITY_COLUMNS)), dtype=np.float64)
    activity.reshape(rows, len(WINDOWS), kinds)[...] = windows[:, :, :kinds]  # one converting pass
    activity[:, ACTIVITY.index("revenue") :: kinds] /= 100.0  # paise -> ₹, in every window
    units_7d: Floats = windows[:, [window for window, _ in WINDOWS].index("7d"), kinds].astype(np.float64)
    return activity, units_7d


@dataclass(frozen=True)
class ActivityIndex:
    """Rollup buckets sorted by (product, bucket start) with running totals, so the sum over any
    product's buckets in [a, b) is two binary searches and a subtraction, for all products at once.
    Totals are integers (revenue in paise), so a sum does not depend on which rows were loaded."""

    keys: Ints  # product_id << 32 | bucket start (epoch seconds)
    totals: Ints  # (buckets + 1, len(ACTIVITY) + 1): running sums of ACTIVITY then units; row 0 zeros
    bucket_seconds: int
    bucket_offset: int  # bucket starts are bucket_offset modulo bucket_seconds (IST hours: 1800)

    @staticmethod
    def build(
        product_id: Ints, start: Ints, counts: Ints, bucket_seconds: int, bucket_offset: int
    ) -> ActivityIndex:
        """`counts` columns: views, clicks, add_to_carts, orders, revenue_paise, units."""
        keys = (product_id.astype(np.int64) << 32) | start.astype(np.int64)
        order = np.argsort(keys, kind="stable")
        totals = np.zeros((len(keys) + 1, counts.shape[1] if counts.ndim == 2 else 6), dtype=np.int64)
        if len(keys):
            np.cumsum(counts[order].astype(np.int64), axis=0, out=totals[1:])
        return ActivityIndex(
            keys=keys[order], totals=totals, bucket_seconds=bucket_seconds, bucket_offset=bucket_offset
        )

    def sums(self, product_id: Ints, begin: Ints, end: Ints) -> Ints:
        """Per row: totals over that product's buckets starting in [begin, end)."""
        pid = product_id.astype(np.int64) << 32
        lo = np.searchsorted(self.keys, pid | begin.astype(np.int64), side="left")
        hi = np.searchsorted(self.keys, pid | end.astype(np.int64), side="left")
        result: Ints = self.totals[hi] - self.totals[lo]
        return result

    def complete_before(self, at: Floats) -> Ints:
        """The start of the bucket containing each moment: every bucket before it is complete."""
        seconds = np.floor(at).astype(np.int64)
        result: Ints = seconds - (seconds - self.bucket_offset) % self.bucket_seconds
        return result

    def trailing(self, product_id: Ints, at: Floats) -> tuple[Floats, Floats]:
        """(activity matrix in ACTIVITY_COLUMNS order, units over 7 days) from complete buckets."""
        end = self.complete_before(at)
        windows = np.stack([self.sums(product_id, end - seconds, end) for _, seconds in WINDOWS], axis=1)
        return window_activity(windows)

    def orders_between(self, product_id: Ints, begin: Ints, end: Ints) -> Floats:
        return self.sums(product_id, begin, end)[:, ACTIVITY.index("orders")].astype(np.float64)


@dataclass(frozen=True)
class FieldHistory:
    """One historised field: changes sorted by (product, time), for "the value just before t"."""

    keys: Ints  # product_id << 32 | event time (whole epoch seconds)
    values: npt.NDArray[Any]
    products: Ints  # products with any change recorded

    @staticmethod
    def build(product_id: Ints, seconds: Ints, values: npt.NDArray[Any]) -> FieldHistory:
        keys = (product_id.astype(np.int64) << 32) | seconds.astype(np.int64)
        order = np.argsort(keys, kind="stable")
        return FieldHistory(keys=keys[order], values=values[order], products=np.unique(product_id))

    def before(
        self, product_id: Ints, at: Floats, current: npt.NDArray[Any], missing: Any
    ) -> npt.NDArray[Any]:
        """The last value recorded strictly before `at` (whole seconds); a product with no recorded
        change keeps `current`; one whose first change is at or after `at` gets `missing`."""
        pid = product_id.astype(np.int64)
        index = np.searchsorted(self.keys, (pid << 32) | np.floor(at).astype(np.int64), side="left") - 1
        safe = np.clip(index, 0, None)
        found = (
            (index >= 0) & ((self.keys[safe] >> 32) == pid) if len(self.keys) else np.zeros(len(pid), bool)
        )
        out = np.where(np.isin(pid, self.products), missing, current).astype(current.dtype)
        if len(self.keys):
            out[found] = self.values[safe[found]]
        return out
