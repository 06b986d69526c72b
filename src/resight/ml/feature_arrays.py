"""The arrays behind the scorer's feature state (ml/feature_cache.py), pure numpy: window sums
kept as integers per product, catalogue rows replaced or merged by id, and the frame built from
them exactly as `snapshots.current_frame` builds it from the same values."""

from __future__ import annotations

import datetime as dt
from dataclasses import fields
from typing import Any

import numpy as np
import numpy.typing as npt

from resight.ml.features import ACTIVITY, ACTIVITY_COLUMNS, WINDOWS, Floats, Ints, RawFrame
from resight.ml.snapshots import Catalogue

COUNTERS = len(ACTIVITY) + 1  # the activity counters, then units (for days of cover)


def align(old_ids: Ints, new_ids: Ints) -> tuple[Ints, npt.NDArray[np.bool_]]:
    """Index into `old_ids` (ascending) of each new id, and whether it is there at all."""
    if len(old_ids) == 0:
        return np.zeros(len(new_ids), dtype=np.int64), np.zeros(len(new_ids), dtype=bool)
    position = np.minimum(np.searchsorted(old_ids, new_ids), len(old_ids) - 1)
    found: npt.NDArray[np.bool_] = old_ids[position] == new_ids
    return position, found


def add_sums(target: Ints, state_ids: Ints, ids: Ints, sums: Ints, sign: int) -> None:
    """target[row of id] += sign * sums, for the ids in the state (each id at most once)."""
    position, found = align(state_ids, ids)
    target[position[found]] += sign * sums[found]


def take_rows(catalogue: Catalogue, index: npt.NDArray[np.bool_] | Ints) -> Catalogue:
    return Catalogue(**{f.name: getattr(catalogue, f.name)[index] for f in fields(Catalogue)})


def concat_rows(parts: list[Catalogue]) -> Catalogue:
    return Catalogue(
        **{f.name: np.concatenate([getattr(c, f.name) for c in parts]) for f in fields(Catalogue)}
    )


def replace_rows(catalogue: Catalogue, at: Ints, fresh: Catalogue) -> Catalogue:
    """A copy of each column where a row changed; unchanged columns stay shared."""
    columns = {}
    for f in fields(Catalogue):
        column, values = getattr(catalogue, f.name), getattr(fresh, f.name)
        if not identical(column[at], values):
            column = column.copy()
            column[at] = values
        columns[f.name] = column
    return Catalogue(**columns)


def identical(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> bool:
    if a.dtype == object:
        return bool(a.tolist() == b.tolist())
    return a.dtype == b.dtype and a.tobytes() == b.tobytes()  # bit for bit: NaN equals NaN


def trailing(windows: Ints) -> tuple[Floats, Floats]:
    """ActivityIndex.trailing's conversion of the same integer sums (revenue: paise -> ₹)."""
    activity = np.empty((len(windows), len(ACTIVITY_COLUMNS)), dtype=np.float64)
    units_7d = np.zeros(len(windows), dtype=np.float64)
    for w, (window, _) in enumerate(WINDOWS):
        sums = windows[:, w, :].astype(np.float64)
        sums[:, 4] /= 100.0
        activity[:, w * len(ACTIVITY) : (w + 1) * len(ACTIVITY)] = sums[:, : len(ACTIVITY)]
        if window == "7d":
            units_7d = sums[:, len(ACTIVITY)]
    return activity, units_7d


def build_frame(
    c: Catalogue, windows: Ints, moment: dt.datetime, same_activity: RawFrame | None = None
) -> RawFrame:
    """The frame; `same_activity`: a frame of the same products and moment whose activity holds."""
    if same_activity is not None:
        at, activity, units_7d = same_activity.at, same_activity.activity, same_activity.units_7d
    else:
        at = np.full(len(c.product_id), float(moment.timestamp()))
        activity, units_7d = trailing(windows)
    return RawFrame(
        product_id=c.product_id,
        at=at,
        price=c.price,
        mrp=c.mrp,
        stock=c.stock,
        rating=c.rating,
        rating_count=c.rating_count,
        buybox=c.buybox,
        competitor=c.competitor,
        created=c.created,
        marketplace=c.marketplace,
        category=c.category,
        brand=c.brand,
        activity=activity,
        units_7d=units_7d,
    )
