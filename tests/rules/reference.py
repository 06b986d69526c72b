"""A plain per-product Python implementation of the documented rule semantics: the oracle for
the engine's tests and the "naive loop" the benchmark compares against."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from resight.catalog.names import category_levels, normalise_category, normalise_key
from resight.rules.engine import STACK_CAP, RuleSpec
from resight.rules.models import RuleKind, RuleScope


@dataclass(frozen=True)
class Product:
    id: int
    score: float
    marketplace: str
    brand: str
    category: str
    in_stock: bool = True


@dataclass(frozen=True)
class Ranked:
    product_id: int
    score: float
    pinned: bool
    rule_ids: tuple[int, ...]


def _standing(rule: RuleSpec) -> tuple[float, ...]:
    return (rule.priority, *rule.specificity(), rule.updated_at.timestamp(), rule.id)


def naive_ranking(products: Sequence[Product], rules: Sequence[RuleSpec], now: dt.datetime) -> list[Ranked]:
    by_key: dict[tuple[RuleScope, str], list[RuleSpec]] = defaultdict(list)
    for rule in rules:
        if not rule.is_active(now):
            continue
        if rule.scope is RuleScope.product:
            key = str(int(rule.scope_value))
        elif rule.scope is RuleScope.category:
            key = normalise_category(rule.scope_value)
        else:
            key = normalise_key(rule.scope_value)
        if key:
            by_key[rule.scope, key].append(rule)

    cap = math.log(STACK_CAP)
    free: list[tuple[float, int, Ranked]] = []
    pins: dict[int, tuple[tuple[float, ...], Product, RuleSpec]] = {}
    adjusted_of: dict[int, tuple[float, list[int]]] = {}
    for product in products:
        levels = category_levels(product.category)
        matching = list(by_key.get((RuleScope.product, str(product.id)), []))
        matching += by_key.get((RuleScope.brand, normalise_key(product.brand)), [])
        for depth in range(1, len(levels) + 1):
            matching += by_key.get((RuleScope.category, " > ".join(levels[:depth])), [])
        matching += by_key.get((RuleScope.marketplace, normalise_key(product.marketplace)), [])
        placement = [r for r in matching if r.kind in (RuleKind.pin, RuleKind.remove)]
        winner = max(placement, key=_standing) if placement else None
        if winner is not None and winner.kind is RuleKind.remove:
            continue
        up = sum(math.log1p(r.strength or 0) for r in matching if r.kind is RuleKind.boost)
        down = sum(math.log1p(r.strength or 0) for r in matching if r.kind is RuleKind.demote)
        net = min(up, cap) - min(down, cap)
        factor = math.exp(net)
        score = product.score * factor if product.score >= 0 else product.score / factor
        if net == 0:
            score = product.score
        adjustments = [r.id for r in matching if r.kind in (RuleKind.boost, RuleKind.demote)]
        adjusted_of[product.id] = (score, adjustments)
        if winner is not None and product.in_stock:
            assert winner.position is not None
            current = pins.get(winner.position)
            if current is None or _standing(winner) > current[0]:
                if current is not None:
                    free.append(_free_entry(current[1], adjusted_of))
                pins[winner.position] = (_standing(winner), product, winner)
                continue
        free.append(_free_entry(product, adjusted_of))
    free.sort(key=lambda entry: (entry[0], entry[1]))
    size = len(free) + len(pins)
    slots: list[Ranked | None] = [None] * size
    beyond: list[Ranked] = []
    for position in sorted(pins):
        _standing_key, product, rule = pins[position]
        score, adjustments = adjusted_of[product.id]
        entry = Ranked(product.id, score, True, tuple(sorted({*adjustments, rule.id})))
        if position <= size:
            slots[position - 1] = entry
        else:
            beyond.append(entry)
    filler = iter([entry[2] for entry in free] + beyond)
    return [slot if slot is not None else next(filler) for slot in slots]


def _free_entry(
    product: Product, adjusted_of: dict[int, tuple[float, list[int]]]
) -> tuple[float, int, Ranked]:
    score, adjustments = adjusted_of[product.id]
    return -score, product.id, Ranked(product.id, score, False, tuple(sorted(set(adjustments))))
