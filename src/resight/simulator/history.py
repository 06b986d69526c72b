"""Running the world forward hour by hour: sampled traffic, orders, cancellations, returns,
price experiments and restocks, one IST day at a time (so any size streams in bounded memory).

Pure numpy and deterministic for the world's seed; writer.py puts the chunks into a database.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from resight.simulator.data import FESTIVE_MARKDOWNS, MODEL, PRICE_LEVELS
from resight.simulator.demand import (
    cancel_rate,
    expected_orders_between,
    festive_multipliers,
    funnel,
    ist_hour_and_weekday,
    multi_unit_rate,
    return_rate,
)
from resight.simulator.world import (
    F64,
    I64,
    MICROS_PER_HOUR,
    ProductState,
    StateLog,
    World,
    history_rng,
    to_hours,
)

# Event kinds, in the order of resight.events.models.EventType.
VIEW, CLICK, ADD_TO_CART, ORDER, CANCELLATION, RETURN = range(6)
NEVER = np.inf


@dataclass(slots=True)
class Chunk:
    """What happened in one stretch of (at most) 24 IST hours."""

    first_hour: float
    until_hour: float  # the chunk covers [first_hour, until_hour)
    # Events: product index, kind (above), quantity, revenue, time (µs since epoch), order number
    # (-1 for traffic; cancellations and returns carry their order's number).
    index: I64
    kind: NDArray[np.int8]
    quantity: I64
    revenue_paise: I64
    micros: I64
    order_number: I64
    # Changes: (product index, µs since epoch, new value).
    price: tuple[I64, I64, I64]
    stock: tuple[I64, I64, I64]


@dataclass(slots=True)
class _Parts:
    events: list[tuple[I64, int | NDArray[np.int8], I64, I64, I64, I64]] = field(default_factory=list)
    price: list[tuple[I64, I64, I64]] = field(default_factory=list)
    stock: list[tuple[I64, I64, I64]] = field(default_factory=list)

    def add_events(self, index: I64, kind: int | NDArray[np.int8], quantity: I64, revenue: I64,
                   micros: I64, number: I64) -> None:  # fmt: skip
        if index.size:
            self.events.append((index, kind, quantity, revenue, micros, number))

    def chunk(self, first_hour: float, until_hour: float) -> Chunk:
        def cat(arrays: list[I64]) -> I64:
            return np.concatenate(arrays) if arrays else np.zeros(0, np.int64)

        kinds = [np.full(e[0].size, e[1], np.int8) if isinstance(e[1], int) else e[1] for e in self.events]
        return Chunk(
            first_hour=first_hour,
            until_hour=until_hour,
            index=cat([e[0] for e in self.events]),
            kind=np.concatenate(kinds) if kinds else np.zeros(0, np.int8),
            quantity=cat([e[2] for e in self.events]),
            revenue_paise=cat([e[3] for e in self.events]),
            micros=cat([e[4] for e in self.events]),
            order_number=cat([e[5] for e in self.events]),
            price=(
                cat([p[0] for p in self.price]),
                cat([p[1] for p in self.price]),
                cat([p[2] for p in self.price]),
            ),
            stock=(
                cat([s[0] for s in self.stock]),
                cat([s[1] for s in self.stock]),
                cat([s[2] for s in self.stock]),
            ),
        )


def _hours_of(micros: I64) -> F64:
    result: F64 = micros.astype(np.float64) / MICROS_PER_HOUR
    return result


def _round_price(paise: F64, mrp: I64) -> I64:
    rupees = np.maximum(np.floor(paise / 1000.0) * 10.0 + 9.0, 49.0)
    result: I64 = np.minimum(rupees.astype(np.int64) * 100, mrp)
    return result


class History:
    """Simulates `hours` IST hours from the world's start; iterate to get one Chunk per day."""

    def __init__(self, world: World, hours: int) -> None:
        self.world = world
        self.hours = hours
        self.rng = history_rng(world.spec.seed)
        self.state = world.opening_state()
        self.start_hour = to_hours(world.spec.start)
        self.end_micros = round((self.start_hour + hours) * MICROS_PER_HOUR)
        n = world.n
        self.all = np.arange(n, dtype=np.int64)
        self.restock_at = np.full(n, NEVER)
        self.restock_units = np.zeros(n, np.int64)
        self.presale_price = self.state.price_paise.copy()
        self.marked_down = np.zeros(n, np.bool_)
        self.orders_so_far = 0
        self.in_sale = self._platforms_in_sale(self.start_hour - 1)
        self._pending: list[tuple[I64, NDArray[np.int8], I64, I64, I64, I64]] = []
        self._price_log: list[tuple[I64, F64, I64]] = []
        self._stock_log: list[tuple[I64, F64, I64]] = []
        # Expected units per day at list price: what restocks are sized by.
        state = world.opening_state()
        state.stock[:] = 1
        daily = expected_orders_between(world, self.all, state, world.spec.start, 24)
        self.daily_units = daily * (1.0 + multi_unit_rate(world, self.all))
        self.multi = multi_unit_rate(world, self.all)
        self.cancel = cancel_rate(world, self.all)
        self.returns = return_rate(world, self.all)
        # Opening stock-outs wait for a restock like any other.
        self._schedule_restocks(np.flatnonzero(self.state.stock == 0), self.start_hour)

    def __iter__(self) -> Iterator[Chunk]:
        parts = _Parts()
        micros = round(self.start_hour * MICROS_PER_HOUR)
        opening = (self.all, np.full(self.world.n, micros, np.int64))
        parts.price.append((*opening, self.state.price_paise.copy()))
        parts.stock.append((*opening, self.state.stock.copy()))
        first = self.start_hour
        for slot in range(self.hours):
            hour = self.start_hour + slot
            if slot and ist_hour_and_weekday(hour)[0] == 0:
                yield self._flush(parts, first, hour)
                parts, first = _Parts(), hour
            self._step(parts, hour, slot == 0)
        yield self._flush(parts, first, self.start_hour + self.hours)
        self.world.log = StateLog.build(
            tuple(np.concatenate([p[i] for p in self._price_log]) for i in range(3)),  # type: ignore[arg-type]
            tuple(np.concatenate([s[i] for s in self._stock_log]) for i in range(3)),  # type: ignore[arg-type]
        )

    def final_state(self) -> ProductState:
        return self.state

    def _flush(self, parts: _Parts, first: float, until: float) -> Chunk:
        # Cancellations and returns go into the chunk of their own time, so that every chunk holds
        # exactly the events of its hours (and its rollups are complete).
        if self._pending:
            pending = [np.concatenate([p[i] for p in self._pending]) for i in range(6)]
            due = pending[4] < round(until * MICROS_PER_HOUR)
            parts.add_events(*(array[due] for array in pending))
            later = ~due
            self._pending = [tuple(array[later] for array in pending)] if later.any() else []  # type: ignore[list-item]
        chunk = parts.chunk(first, until)
        self._price_log.append((chunk.price[0], _hours_of(chunk.price[1]), chunk.price[2]))
        self._stock_log.append((chunk.stock[0], _hours_of(chunk.stock[1]), chunk.stock[2]))
        return chunk

    def _platforms_in_sale(self, hour: float) -> NDArray[np.bool_]:
        traffic, _conversion = festive_multipliers(hour)
        result: NDArray[np.bool_] = traffic.max(axis=1) > 1.0
        return result

    def _schedule_restocks(self, which: I64, hour: float) -> None:
        which = which[self.restock_at[which] == NEVER]
        if which.size == 0:
            return
        rng = self.rng
        days = rng.uniform(MODEL["restock_days_min"], MODEL["restock_days_max"], which.size)
        # Some products wait much longer: a supplier problem, a discontinued colour.
        slow = rng.random(which.size) < 0.2
        days[slow] = rng.uniform(10.0, 40.0, int(slow.sum()))
        self.restock_at[which] = hour + np.ceil(days * 24.0)
        cover = self.daily_units[which] * MODEL["restock_cover_days"] * rng.uniform(0.6, 1.5, which.size)
        self.restock_units[which] = np.ceil(cover).astype(np.int64) + rng.integers(3, 12, which.size)

    def _change_prices(self, parts: _Parts, hour: float, micros: int) -> None:
        rng, state, n = self.rng, self.state, self.world.n
        old = state.price_paise.copy()
        in_sale = self._platforms_in_sale(hour)
        platform = self.world.platform
        starting = in_sale[platform] & ~self.in_sale[platform]
        ending = ~in_sale[platform] & self.in_sale[platform] & self.marked_down
        self.in_sale = in_sale
        state.price_paise[ending] = self.presale_price[ending]
        self.marked_down[ending] = False
        mark = starting & (rng.random(n) < MODEL["festive_markdown_share"])
        self.presale_price[mark] = state.price_paise[mark]
        markdown = rng.choice(np.array(FESTIVE_MARKDOWNS), n)
        state.price_paise[mark] = _round_price(
            state.price_paise[mark] * markdown[mark], state.mrp_paise[mark]
        )
        self.marked_down |= mark
        # The price experiments: on any day a seller may move a price to another level.
        experiment = ~self.marked_down & (rng.random(n) < MODEL["price_change_per_day"])
        level = rng.choice(np.array(PRICE_LEVELS), n)
        state.price_paise[experiment] = _round_price(
            self.world.list_price_paise[experiment] * level[experiment], state.mrp_paise[experiment]
        )
        changed = np.flatnonzero(state.price_paise != old)
        parts.price.append(
            (changed, np.full(changed.size, micros, np.int64), state.price_paise[changed].copy())
        )

    def _step(self, parts: _Parts, hour: float, first: bool) -> None:
        rng, state = self.rng, self.state
        micros = round(hour * MICROS_PER_HOUR)
        if not first and ist_hour_and_weekday(hour)[0] == 0:
            self._change_prices(parts, hour, micros)
        arriving = np.flatnonzero(self.restock_at <= hour)
        if arriving.size:
            state.stock[arriving] += self.restock_units[arriving]
            self.restock_at[arriving] = NEVER
            parts.stock.append(
                (arriving, np.full(arriving.size, micros, np.int64), state.stock[arriving].copy())
            )

        rates = funnel(self.world, self.all, state, hour)
        views = rng.poisson(rates.views)
        clicks = rng.binomial(views, rates.ctr)
        carts = rng.binomial(clicks, rates.add_to_cart)
        orders = np.minimum(rng.binomial(carts, rates.conversion), state.stock)
        units = np.minimum(orders + rng.binomial(orders, self.multi), state.stock)
        state.stock[:] -= units

        for kind, counts in ((VIEW, views), (CLICK, clicks), (ADD_TO_CART, carts)):
            which = np.flatnonzero(counts)
            none = np.full(which.size, -1, np.int64)
            parts.add_events(which, kind, counts[which], np.zeros(which.size, np.int64),
                             np.full(which.size, micros, np.int64), none)  # fmt: skip
        self._orders(parts, orders, units, micros)

        sold = np.flatnonzero(units)
        if sold.size:
            low = sold[state.stock[sold] < np.ceil(self.daily_units[sold] * 3.0)]
            self._schedule_restocks(low, hour)

    def _orders(self, parts: _Parts, orders: I64, units: I64, micros: int) -> None:
        which = np.flatnonzero(orders)
        if which.size == 0:
            return
        rng = self.rng
        counts = orders[which]
        total = int(counts.sum())
        index = np.repeat(which, counts)
        starts = np.cumsum(counts) - counts
        rank = np.arange(total) - np.repeat(starts, counts)
        # Extra units go one each to a product's first orders of the hour.
        quantity = 1 + (rank < np.repeat(units[which] - counts, counts)).astype(np.int64)
        times = micros + rng.integers(0, MICROS_PER_HOUR, total)
        # `index` runs are already grouped by product; sort times within each run.
        times = times[np.lexsort((times, index))]
        revenue = quantity * self.state.price_paise[index]
        number = self.orders_so_far + np.arange(total, dtype=np.int64)
        self.orders_so_far += total
        parts.add_events(index, ORDER, quantity, revenue, times, number)

        cancelled = rng.random(total) < self.cancel[index]
        returned = ~cancelled & (rng.random(total) < self.returns[index])
        cancel_at = times + (rng.uniform(0.5, 24.0, total) * MICROS_PER_HOUR).astype(np.int64)
        return_at = times + (rng.uniform(3.0, 12.0, total) * 24 * MICROS_PER_HOUR).astype(np.int64)
        kind = np.where(cancelled, CANCELLATION, RETURN).astype(np.int8)
        at = np.where(cancelled, cancel_at, return_at)
        keep = (cancelled | returned) & (at < self.end_micros)
        self._pending.append((index[keep], kind[keep], quantity[keep], revenue[keep], at[keep], number[keep]))

        last = np.append(index[1:] != index[:-1], True)
        sold = index[last]
        parts.stock.append((sold, times[last], self.state.stock[sold].copy()))
