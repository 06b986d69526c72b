"""What the live simulator sends: a stream of deliveries drawn from the world's demand model, with
a share of realistic faults (re-sent deliveries, late out-of-order updates, malformed bodies).

Pure: no network; live.py signs and sends what `Plan.next()` returns.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from resight.simulator import payloads
from resight.simulator.data import PRICE_LEVELS
from resight.simulator.demand import cancel_rate, funnel, multi_unit_rate, return_rate
from resight.simulator.payloads import Expected, Item
from resight.simulator.world import PLATFORMS, World, ist_hour_floor, to_hours

# Share of each kind among normal deliveries.
KINDS = {"traffic": 0.45, "order": 0.30, "status": 0.08, "stock": 0.10, "price": 0.07}
# Share of each fault among faulty deliveries.
FAULTS = {"duplicate": 0.4, "out_of_order": 0.3, "malformed": 0.3}


@dataclass(frozen=True, slots=True)
class Delivery:
    webhook_id: str
    platform: str
    store_id: int
    body: bytes
    kind: str  # traffic, order, status, stock, price, malformed
    fault: str | None  # None, "duplicate", "out_of_order" or "malformed"
    expect: Expected  # (event type, external id) of the events it should produce

    @property
    def well_formed(self) -> bool:
        return self.kind != "malformed"


@dataclass(slots=True)
class _Order:
    index: int
    order_id: str
    quantity: int
    unit_price_paise: int
    ordered_at: dt.datetime


@dataclass(slots=True)
class Plan:
    """The delivery stream of one run. `answered` is fed back by the sender (for duplicates)."""

    world: World
    seed: int
    run_id: int
    faults: float
    clock: Callable[[], dt.datetime]
    seller_ids: dict[str, str]
    answered: list[Delivery] = field(default_factory=list)
    counter: int = 0
    rng: np.random.Generator = field(init=False)
    price: np.ndarray = field(init=False)
    stock: np.ndarray = field(init=False)
    views: np.ndarray = field(init=False)
    orders: np.ndarray = field(init=False)
    unsynced: set[int] = field(default_factory=set)
    last_update: dict[int, tuple[dt.datetime, str]] = field(default_factory=dict)  # time, kind
    placed: list[_Order] = field(default_factory=list)
    traffic_sent: set[tuple[int, dt.datetime]] = field(default_factory=set)

    def __post_init__(self) -> None:
        if not 0 <= self.faults <= 1:
            raise ValueError("faults is a share between 0 and 1")
        self.rng = np.random.default_rng(np.random.SeedSequence([self.seed, 3, self.run_id]))
        now = self.clock()
        state = self.world.state_at(now)
        self.price, self.stock = state.price_paise, state.stock
        rates = funnel(self.world, np.arange(self.world.n), state, to_hours(ist_hour_floor(now)))
        self.views = rates.views
        self.orders = rates.views * rates.ctr * rates.add_to_cart * np.maximum(rates.conversion, 1e-12)

    def _id(self) -> str:
        self.counter += 1
        return f"msg_{self.run_id}_{self.counter}"

    def _item(self, index: int) -> Item:
        platform = PLATFORMS[int(self.world.platform[index])]
        return Item(
            platform, self.world.sku[index], self.world.external_id[index], self.seller_ids.get(platform, "")
        )

    def _delivery(self, index: int, kind: str, body: dict[str, Any], expect: Expected, fault: str | None,
                  webhook_id: str) -> Delivery:  # fmt: skip
        assert self.world.product_ids is not None
        platform = PLATFORMS[int(self.world.platform[index])]
        raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        return Delivery(webhook_id, platform, self.world.store_ids[platform], raw, kind, fault, expect)

    def _pick(self, weights: np.ndarray) -> int:
        total = float(weights.sum())
        if total <= 0:
            return int(self.rng.integers(self.world.n))
        return int(self.rng.choice(self.world.n, p=weights / total))

    def next(self) -> Delivery:
        if self.rng.random() < self.faults:
            fault = str(self.rng.choice(list(FAULTS), p=list(FAULTS.values())))
            delivery = self._fault(fault)
            if delivery is not None:
                return delivery
        kind = str(self.rng.choice(list(KINDS), p=list(KINDS.values())))
        return self._normal(kind)

    def _fault(self, fault: str) -> Delivery | None:
        if fault == "duplicate":
            if not self.answered:
                return None
            original = self.answered[int(self.rng.integers(len(self.answered)))]
            return Delivery(original.webhook_id, original.platform, original.store_id, original.body,
                            original.kind, "duplicate", original.expect)  # fmt: skip
        if fault == "out_of_order":
            if not self.last_update:
                return None
            # A late copy of an older state: sent after a newer update of the same field.
            index = list(self.last_update)[int(self.rng.integers(len(self.last_update)))]
            newest, kind = self.last_update[index]
            late = newest - dt.timedelta(minutes=float(self.rng.uniform(1, 120)))
            webhook_id = self._id()
            if kind == "price":
                body = payloads.price(self._item(index), self._price_level(index), late, webhook_id)
            else:
                body = payloads.stock(self._item(index), int(self.rng.integers(0, 50)), late, webhook_id)
            return self._delivery(index, kind, body, [], "out_of_order", webhook_id)
        index = int(self.rng.integers(self.world.n))
        webhook_id = self._id()
        body = payloads.malformed(self._item(index), int(self.rng.integers(2)), self.clock(), webhook_id)
        return self._delivery(index, "malformed", body, [], "malformed", webhook_id)

    def _normal(self, kind: str) -> Delivery:
        now = self.clock()
        webhook_id = self._id()
        if kind == "status" and self.placed:
            return self._status(now, webhook_id)
        if kind == "stock":
            return self._stock(now, webhook_id)
        if kind == "price":
            index = int(self.rng.integers(self.world.n))
            new_price = self._price_level(index)
            self.price[index] = new_price
            self.last_update[index] = (now, "price")
            body = payloads.price(self._item(index), new_price, now, webhook_id)
            return self._delivery(index, "price", body, [], None, webhook_id)
        if kind == "traffic":
            index = self._pick(self.views)
            bucket = ist_hour_floor(now)
            amazon = PLATFORMS[int(self.world.platform[index])] == "amazon"
            if not (amazon and (index, bucket) in self.traffic_sent):
                return self._traffic(index, bucket, webhook_id)
        return self._order(now, webhook_id)

    def _price_level(self, index: int) -> int:
        level = float(self.rng.choice(np.array(PRICE_LEVELS)))
        rupees = max(49, int(self.world.list_price_paise[index] * level / 1000) * 10 + 9)
        return min(rupees * 100, int(self.world.mrp_paise[index]))

    def _traffic(self, index: int, bucket: dt.datetime, webhook_id: str) -> Delivery:
        self.traffic_sent.add((index, bucket))
        views = max(1, int(self.rng.poisson(max(self.views[index], 0.5))))
        clicks = int(self.rng.binomial(views, 0.15))
        carts = int(self.rng.binomial(clicks, 0.3))
        body, expect = payloads.traffic(
            self._item(index), bucket, views, clicks, carts, f"live-{self.run_id}-{self.counter}", webhook_id
        )
        return self._delivery(index, "traffic", body, expect, None, webhook_id)

    def _order(self, now: dt.datetime, webhook_id: str) -> Delivery:
        index = self._pick(self.orders * (self.stock > 0))
        if self.stock[index] <= 0:  # nothing anywhere in stock: restock instead
            return self._stock(now, webhook_id)
        extra = int(self.rng.random() < multi_unit_rate(self.world, np.array([index]))[0])
        quantity = min(1 + extra, int(self.stock[index]))
        self.stock[index] -= quantity
        self.unsynced.add(index)
        order_id = _order_id(PLATFORMS[int(self.world.platform[index])], self.run_id, self.counter)
        order = _Order(index, order_id, quantity, int(self.price[index]), now)
        self.placed.append(order)
        body, expect = payloads.order(
            self._item(index), order_id, quantity=quantity, unit_price_paise=order.unit_price_paise,
            ordered_at=now, changed_at=now, outcome="placed", notification_id=webhook_id,
        )  # fmt: skip
        return self._delivery(index, "order", body, expect, None, webhook_id)

    def _status(self, now: dt.datetime, webhook_id: str) -> Delivery:
        order = self.placed.pop(int(self.rng.integers(len(self.placed))))
        index = np.array([order.index])
        amazon = PLATFORMS[int(self.world.platform[order.index])] == "amazon"
        cancel_share = cancel_rate(self.world, index)[0] / (
            cancel_rate(self.world, index)[0] + return_rate(self.world, index)[0]
        )
        outcome = "cancelled" if amazon or self.rng.random() < cancel_share else "returned"
        body, expect = payloads.order(
            self._item(order.index), order.order_id, quantity=order.quantity,
            unit_price_paise=order.unit_price_paise, ordered_at=order.ordered_at, changed_at=now,
            outcome=outcome, notification_id=webhook_id,
        )  # fmt: skip
        return self._delivery(order.index, "status", body, expect, None, webhook_id)

    def _stock(self, now: dt.datetime, webhook_id: str) -> Delivery:
        if self.unsynced:
            index = min(self.unsynced)
            self.unsynced.discard(index)
        else:
            index = int(np.argmin(self.stock / np.maximum(self.orders, 1e-9)))
            self.stock[index] += int(self.rng.integers(10, 60))
        self.last_update[index] = (now, "stock")
        body = payloads.stock(self._item(index), int(self.stock[index]), now, webhook_id)
        return self._delivery(index, "stock", body, [], None, webhook_id)


def _order_id(platform: str, run_id: int, counter: int) -> str:
    """Live order ids: never those of demo-data (Amazon 402-.., Myntra 12.., Meesho 5..)."""
    if platform == "amazon":
        return f"171-{run_id % 10**7:07d}-{counter % 10**7:07d}"
    if platform == "myntra":
        return f"13{run_id % 10**7:07d}{counter % 10**6:06d}"
    return f"17{run_id % 10**7:07d}{counter % 10**6:06d}_1"
