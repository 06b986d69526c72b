"""The rollups of a simulated chunk, computed in numpy instead of re-reading the events with SQL.

They must equal what resight.events.rollups.rebuild_rollups makes of the same events (IST-hour
buckets per product, and per store and category); tests/simulator/test_demo_data.py checks that.
Every chunk holds all events of its hours, so its buckets are complete.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from resight.events.rollups import COUNTERS
from resight.simulator.history import ADD_TO_CART, CANCELLATION, CLICK, ORDER, RETURN, VIEW, Chunk
from resight.simulator.world import I64, MICROS_PER_HOUR

_HALF_HOUR = MICROS_PER_HOUR // 2


def ist_bucket(micros: I64) -> I64:
    """Start of the IST hour (hh:30 UTC) containing each time, in µs since the epoch."""
    result: I64 = (micros - _HALF_HOUR) // MICROS_PER_HOUR * MICROS_PER_HOUR + _HALF_HOUR
    return result


def _counter_values(chunk: Chunk) -> dict[str, I64]:
    kind, quantity, revenue = chunk.kind, chunk.quantity, chunk.revenue_paise
    one = np.ones(kind.size, np.int64)
    zero = np.zeros(kind.size, np.int64)

    def when(k: int, values: I64) -> I64:
        result: I64 = np.where(kind == k, values, zero)
        return result

    values = {
        "views": when(VIEW, quantity),
        "clicks": when(CLICK, quantity),
        "add_to_carts": when(ADD_TO_CART, quantity),
        "orders": when(ORDER, one),
        "units": when(ORDER, quantity),
        "gmv_paise": when(ORDER, revenue),
        "cancellations": when(CANCELLATION, one),
        "cancelled_units": when(CANCELLATION, quantity),
        "cancelled_paise": when(CANCELLATION, revenue),
        "returns": when(RETURN, one),
        "returned_units": when(RETURN, quantity),
        "returned_paise": when(RETURN, revenue),
    }
    if tuple(values) != COUNTERS:
        raise RuntimeError("the rollup counters changed; update resight.simulator.rollups")
    return values


@dataclass(frozen=True, slots=True)
class Grouped:
    keys: I64  # the group's key
    first: I64  # position of one member of each group (to read its attributes)
    counters: dict[str, I64]


def group(keys: I64, values: dict[str, I64]) -> Grouped:
    unique, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    sums: dict[str, I64] = {}
    for name, column in values.items():
        summed = np.zeros(unique.size, np.int64)
        np.add.at(summed, inverse, column)
        sums[name] = summed
    return Grouped(unique, first, sums)


def product_hours(chunk: Chunk) -> tuple[I64, I64, dict[str, I64]]:
    """(product index, bucket µs, counters) per product-hour with any event."""
    if chunk.index.size == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty, {name: empty for name in COUNTERS}
    bucket = ist_bucket(chunk.micros)
    base = int(bucket.min())
    offset = (bucket - base) // MICROS_PER_HOUR
    grouped = group(chunk.index * 1024 + offset, _counter_values(chunk))
    return chunk.index[grouped.first], bucket[grouped.first], grouped.counters


def segment_hours(
    chunk: Chunk, platform: NDArray[np.int8], category: NDArray[np.int16]
) -> tuple[I64, I64, I64, dict[str, I64]]:
    """(platform, category, bucket µs, counters) per marketplace-category-hour with any event."""
    if chunk.index.size == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty, {name: empty for name in COUNTERS}
    bucket = ist_bucket(chunk.micros)
    base = int(bucket.min())
    offset = (bucket - base) // MICROS_PER_HOUR
    p = platform[chunk.index].astype(np.int64)
    c = category[chunk.index].astype(np.int64)
    grouped = group((offset * 16 + p) * 1024 + c, _counter_values(chunk))
    return p[grouped.first], c[grouped.first], bucket[grouped.first], grouped.counters
