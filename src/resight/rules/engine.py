"""The rules engine: model scores and merchandising rules in, a ranking out. Pure: no database,
no clock (`now` is passed in), numpy throughout so that 10,000 rules over 1,000,000 products
take well under 200 ms.

Entry point: `apply_rules(candidates, rules, now) -> Ranking`.

Order of application (docs/rules.md has examples):
1. Only rules that are enabled and valid at `now` (valid_from <= now < valid_until) count.
2. Placement: every product's matching `remove` and `pin` rules compete; the winner is the rule
   with the highest priority, then the most specific scope (product > brand > category >
   marketplace; a deeper category beats a shallower one), then the most recently updated, then
   the higher id. A winning remove hides the product.
3. Model score, adjusted by every matching boost and demote (they are adjustments and always
   combine): boosts multiply by (1 + strength) each, demotes divide by (1 + strength) each; the
   combined boost and the combined demote are each capped at STACK_CAP. For a negative score the
   factor applies inversely, so a boost always raises a score and a demote always lowers it.
4. Pins last: a winning pin puts its product at exactly that 1-based position; the other products
   fill the remaining slots by adjusted score (ties: ascending product id). A pin beyond the end
   of the list goes to the end. A pinned product that is out of stock loses its pin (its slot
   goes to the next item; it keeps its place by score). Two products pinned to one position: the
   better pin (the order of step 2) takes it, the other product keeps its place by score.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from resight.catalog.names import normalise_category
from resight.rules.candidates import Candidates
from resight.rules.matching import Compiled, compile_rules, spans, spread
from resight.rules.models import RuleKind, RuleScope

__all__ = ["MAX_STRENGTH", "STACK_CAP", "Candidates", "RankedItem", "Ranking", "RuleSpec", "apply_rules"]

STACK_CAP = 10.0  # the most all boosts together can multiply a score by (and demotes divide it by)
MAX_STRENGTH = 9.0  # one boost at most multiplies by 10 (1 + strength)
SPECIFICITY = {RuleScope.marketplace: 0, RuleScope.category: 1, RuleScope.brand: 2, RuleScope.product: 3}


@dataclass(frozen=True)
class RuleSpec:
    """One rule as the engine sees it (plain values; the service builds these from Rule rows).

    scope_value: the product id (as text) for product scope, the brand, the category path
    ("Ethnic Wear > Kurtas", matching its subcategories too) or the marketplace ("amazon").
    Brands, categories and marketplaces match case-insensitively.
    """

    id: int
    kind: RuleKind
    scope: RuleScope
    scope_value: str
    updated_at: dt.datetime
    position: int | None = None  # pins only, 1-based
    strength: float | None = None  # boosts and demotes only, 0 < strength <= MAX_STRENGTH
    priority: int = 0
    enabled: bool = True
    valid_from: dt.datetime | None = None
    valid_until: dt.datetime | None = None

    def __post_init__(self) -> None:
        if self.kind is RuleKind.pin:
            if self.scope is not RuleScope.product:
                raise ValueError("a pin applies to one product (scope product)")
            if self.position is None or self.position < 1:
                raise ValueError("a pin needs a position >= 1")
        if self.kind in (RuleKind.boost, RuleKind.demote) and not (
            self.strength is not None and 0 < self.strength <= MAX_STRENGTH
        ):
            raise ValueError(f"a {self.kind.value} needs 0 < strength <= {MAX_STRENGTH}")
        if self.scope is RuleScope.product and not self.scope_value.strip().isdigit():
            raise ValueError("a product rule's scope_value is the product id")

    def is_active(self, now: dt.datetime) -> bool:
        return (
            self.enabled
            and (self.valid_from is None or self.valid_from <= now)
            and (self.valid_until is None or now < self.valid_until)
        )

    def specificity(self) -> tuple[int, int]:
        depth = (
            len(normalise_category(self.scope_value).split(" > ")) if self.scope is RuleScope.category else 0
        )
        return SPECIFICITY[self.scope], depth


@dataclass(frozen=True)
class RankedItem:
    rank: int  # 1-based
    product_id: int
    score: float  # after boosts and demotes
    model_score: float
    pinned: bool
    rule_ids: tuple[int, ...]  # the rules that touched this product, ascending


@dataclass(frozen=True, eq=False)
class Ranking:
    """The result, best first. `product_ids`, `scores`, `model_scores` and `pinned` are aligned;
    the rank of entry i is i + 1. Removed products are absent (see `removed_ids`)."""

    product_ids: NDArray[np.int64]
    scores: NDArray[np.float64]
    model_scores: NDArray[np.float64]
    pinned: NDArray[np.bool_]
    removed_ids: NDArray[np.int64]
    candidates: Candidates
    candidate_index: NDArray[np.int64]  # aligned: each entry's index in `candidates`
    _adjustments: Compiled
    _placement_rule: NDArray[np.int64]  # per candidate: the effective pin or remove rule id, or -1

    def __len__(self) -> int:
        return len(self.product_ids)

    def rule_ids(self, position: int) -> tuple[int, ...]:
        """Ids of the rules that touched the entry at 0-based `position`: its effective pin, and
        every boost and demote that matched it."""
        index = int(self.candidate_index[position])
        ids = set(self._adjustments.ids[self._adjustments.matching(self.candidates, index)].tolist())
        if self._placement_rule[index] >= 0:
            ids.add(int(self._placement_rule[index]))
        return tuple(sorted(ids))

    def items(self, start: int = 0, stop: int | None = None) -> list[RankedItem]:
        stop = len(self) if stop is None else min(stop, len(self))
        return [
            RankedItem(
                rank=i + 1,
                product_id=int(self.product_ids[i]),
                score=float(self.scores[i]),
                model_score=float(self.model_scores[i]),
                pinned=bool(self.pinned[i]),
                rule_ids=self.rule_ids(i),
            )
            for i in range(start, stop)
        ]

    def ranks_of(self, product_ids: ArrayLike) -> NDArray[np.int64]:
        """1-based rank of each product id; 0 where it is removed or not a candidate."""
        by_candidate = np.zeros(len(self.candidates), dtype=np.int64)
        by_candidate[self.candidate_index] = np.arange(1, len(self) + 1)
        index = self.candidates.index_of(product_ids)
        return np.where(index >= 0, by_candidate[np.maximum(index, 0)], 0)

    def rule_pairs(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Every (0-based position, rule id) pair at once, sorted by position then rule id: the
        same as `rule_ids` for every entry, without a per-entry loop (use it for whole rankings)."""
        cands = self.candidates
        at = self.candidate_index
        position_of = np.full(len(cands), -1, dtype=np.int64)
        position_of[at] = np.arange(len(at))
        adj = self._adjustments
        matched = adj.keys >= 0
        positions: list[NDArray[np.int64]] = []
        rule_ids: list[NDArray[np.int64]] = []

        rows = matched & (adj.scopes == 0)
        found = position_of[adj.keys[rows]]
        positions.append(found[found >= 0])
        rule_ids.append(adj.ids[rows][found >= 0])
        # Category rules match prefixes: turn (rule, prefix) into (rule, category code) first.
        by_prefix = np.argsort(cands.prefix_pair_prefix, kind="stable")
        rows = np.flatnonzero(matched & (adj.scopes == 2))
        span, counts = spans(cands.prefix_pair_prefix[by_prefix], adj.keys[rows])
        category_rules = np.repeat(rows, counts)
        category_codes = cands.prefix_pair_code[by_prefix[span]].astype(np.int64)
        for codes, rule_rows, keys in (
            (cands.brand_codes, np.flatnonzero(matched & (adj.scopes == 1)), None),
            (cands.category_codes, category_rules, category_codes),
            (cands.marketplace_codes, np.flatnonzero(matched & (adj.scopes == 3)), None),
        ):
            codes_at = codes[at]
            order = np.argsort(codes_at, kind="stable")
            span, counts = spans(codes_at[order], adj.keys[rule_rows] if keys is None else keys)
            positions.append(order[span])
            rule_ids.append(np.repeat(adj.ids[rule_rows], counts))
        placed = self._placement_rule[at]
        positions.append(np.flatnonzero(placed >= 0))
        rule_ids.append(placed[placed >= 0])
        all_positions, all_ids = np.concatenate(positions), np.concatenate(rule_ids)
        order = np.lexsort((all_ids, all_positions))
        return all_positions[order].astype(np.int64), all_ids[order].astype(np.int64)


def _placement_order(rules: Sequence[RuleSpec]) -> NDArray[np.float64]:
    """Each rule's standing in conflicts, as a float rank (higher wins)."""
    keys = [(r.priority, *r.specificity(), r.updated_at.timestamp(), r.id) for r in rules]
    order = sorted(range(len(rules)), key=keys.__getitem__)
    standing = np.empty(len(rules))
    standing[order] = np.arange(len(rules), dtype=np.float64)
    return standing


def apply_rules(candidates: Candidates, rules: Sequence[RuleSpec], now: dt.datetime) -> Ranking:
    """Rank `candidates` under the rules active at `now` (see the module docstring for the order)."""
    active = [rule for rule in rules if rule.is_active(now)]
    adjust_rules = [r for r in active if r.kind in (RuleKind.boost, RuleKind.demote)]
    place_rules = [r for r in active if r.kind in (RuleKind.pin, RuleKind.remove)]
    n = len(candidates)
    scores = candidates.scores

    # Placement: the best-standing pin or remove of each product.
    removed = np.zeros(n, dtype=np.bool_)
    pinned = np.zeros(n, dtype=np.bool_)
    positions = np.zeros(n, dtype=np.int64)
    placement_rule = np.full(n, -1, dtype=np.int64)
    if place_rules:
        placed = compile_rules(candidates, place_rules)
        standing = _placement_order(place_rules)
        best = spread(candidates, placed, standing, combine="max")
        by_standing = np.argsort(standing)  # standing -> rule row
        is_pin = np.array([r.kind is RuleKind.pin for r in place_rules])
        rule_positions = np.array([r.position or 0 for r in place_rules], dtype=np.int64)
        # Work on the (usually few) products that some pin or remove matches.
        idx = np.flatnonzero(best >= 0)
        winner = by_standing[best[idx].astype(np.int64)]
        pin_won = is_pin[winner]
        removed[idx[~pin_won]] = True
        pin_ok = pin_won & candidates.in_stock[idx]
        pin_idx, pin_winner = idx[pin_ok], winner[pin_ok]
        positions[pin_idx] = rule_positions[pin_winner]
        pinned[pin_idx] = True
        # One product per slot: the better-standing pin keeps it.
        slot_order = np.lexsort((-best[pin_idx], positions[pin_idx]))
        sorted_idx = pin_idx[slot_order]
        sorted_pos = positions[sorted_idx]
        pinned[sorted_idx[1:][sorted_pos[1:] == sorted_pos[:-1]]] = False
        effective = removed[idx] | pinned[idx]
        placement_rule[idx[effective]] = placed.ids[winner[effective]]

    # Boosts and demotes, in log space so that they stack by summing.
    adjusted = scores
    touched = np.zeros(n, dtype=np.bool_)
    adjustments = compile_rules(candidates, adjust_rules)
    if adjust_rules:
        logs = np.log1p(np.array([r.strength or 0.0 for r in adjust_rules]))
        is_boost = np.array([r.kind is RuleKind.boost for r in adjust_rules])
        cap = math.log(STACK_CAP)
        up = spread(candidates, adjustments, np.where(is_boost, logs, 0.0), combine="sum")
        down = spread(candidates, adjustments, np.where(is_boost, 0.0, logs), combine="sum")
        net = np.minimum(up, cap, out=up)
        net -= np.minimum(down, cap, out=down)
        touched = net != 0.0
        if np.count_nonzero(touched) * 4 > n:  # most products move: one pass over all of them
            factor = np.exp(net)
            adjusted = np.where(scores >= 0, scores * factor, scores / factor)
        else:
            factor = np.exp(net[touched])
            base = scores[touched]
            adjusted = scores.copy()
            adjusted[touched] = np.where(base >= 0, base * factor, base / factor)

    order = _free_order(candidates, adjusted, touched, ~removed & ~pinned)
    final = _place_pins(order, np.flatnonzero(pinned), positions, int(np.count_nonzero(~removed)))
    return Ranking(
        product_ids=candidates.product_ids[final],
        scores=adjusted[final],
        model_scores=scores[final],
        pinned=pinned[final],
        removed_ids=candidates.product_ids[removed],
        candidates=candidates,
        candidate_index=final,
        _adjustments=adjustments,
        _placement_rule=placement_rule,
    )


def _free_order(
    candidates: Candidates, adjusted: NDArray[np.float64], touched: NDArray[np.bool_], free: NDArray[np.bool_]
) -> NDArray[np.int64]:
    """Candidate indices of the unpinned, unremoved products by (-adjusted score, product id).

    Untouched products keep the precomputed model order; only the touched ones are sorted, then
    merged in, which avoids a full sort when few products are boosted or demoted."""
    moved = np.flatnonzero(free & touched)
    if len(moved) * 4 > len(adjusted):  # most products moved: sort them all at once
        return _sorted_by_score(np.flatnonzero(free), adjusted)
    model_order = candidates.model_order
    untouched = model_order[(free & ~touched)[model_order]]
    if not len(moved):
        return untouched
    moved = _sorted_by_score(moved, adjusted)
    keys = -adjusted[untouched]
    moved_keys = -adjusted[moved]
    left = np.searchsorted(keys, moved_keys, side="left")
    if np.any(np.searchsorted(keys, moved_keys, side="right") != left):
        # Equal scores across the two groups: one full sort keeps the product-id tie-break.
        return _sorted_by_score(np.flatnonzero(free), adjusted)
    merged = np.empty(len(untouched) + len(moved), dtype=np.int64)
    slots = left + np.arange(len(moved))
    rest = np.ones(len(merged), dtype=np.bool_)
    rest[slots] = False
    merged[slots] = moved
    merged[rest] = untouched
    return merged


def _sorted_by_score(indices: NDArray[np.int64], adjusted: NDArray[np.float64]) -> NDArray[np.int64]:
    """`indices` (ascending, so ascending product id) by descending score, ties by product id.
    The unstable sort is faster; it is redone stably only when some scores are equal."""
    keys = -adjusted[indices]
    order = np.argsort(keys)
    ordered = keys[order]
    if np.any(ordered[1:] == ordered[:-1]):
        order = np.argsort(keys, kind="stable")
    return indices[order]


def _place_pins(
    order: NDArray[np.int64], pinned: NDArray[np.int64], positions: NDArray[np.int64], size: int
) -> NDArray[np.int64]:
    """Pins at their exact slots (those past the end at the end, in position order); the free
    products fill the other slots in order."""
    if not len(pinned):
        return order
    pinned = pinned[np.argsort(positions[pinned], kind="stable")]
    slot = positions[pinned] - 1
    inside = slot < size
    final = np.full(size, -1, dtype=np.int64)
    final[slot[inside]] = pinned[inside]
    open_slots = np.flatnonzero(final < 0)
    final[open_slots[: len(order)]] = order
    final[open_slots[len(order) :]] = pinned[~inside]
    return final
