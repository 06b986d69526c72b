"""The arrays behind the scorer's feature state (ml/feature_cache.py), pure numpy: window sums
kept as integers per product, catalogue rows replaced or merged by id, and the frame built from
them exactly as `present.current_frame` builds it from the same values."""

from __future__ import annotations

import datetime as dt
from dataclasses import fields
from typing import Any

import numpy as np
import numpy.typing as npt

from resight.ml.features import ACTIVITY, Ints, RawFrame, window_activity
from resight.ml.snapshots import Catalogue, catalogue_frame

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


def build_frame(
    c: Catalogue, windows: Ints, moment: dt.datetime, same_activity: RawFrame | None = None
) -> RawFrame:
    """The frame; `same_activity`: a frame of the same products and moment whose activity holds."""
    if same_activity is not None:
        at, activity, units_7d = same_activity.at, same_activity.activity, same_activity.units_7d
    else:
        at = np.full(len(c.product_id), float(moment.timestamp()))
        activity, units_7d = window_activity(windows)
    return catalogue_frame(c, at, activity, units_7d)
