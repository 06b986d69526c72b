"""Rules mapped onto candidates by integer codes: each rule resolves to the one code it matches
(a candidate index, a brand, a category prefix or a marketplace), and values spread from rules to
products through small per-code tables, never a loop over products."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from resight.catalog.names import normalise_category, normalise_key
from resight.rules.candidates import Candidates
from resight.rules.models import RuleKind, RuleScope

if TYPE_CHECKING:
    from resight.rules.engine import RuleSpec

SCOPES = (RuleScope.product, RuleScope.brand, RuleScope.category, RuleScope.marketplace)


@dataclass(frozen=True)
class Compiled:
    """The active rules of one kind group, each resolved to the code it matches (-1: nothing)."""

    ids: NDArray[np.int64]
    kinds: list[RuleKind]
    scopes: NDArray[np.int8]  # index into SCOPES
    keys: NDArray[np.int64]  # candidate index / brand code / category prefix id / marketplace code

    def matching(self, candidates: Candidates, index: int) -> NDArray[np.bool_]:
        prefixes = candidates.prefix_ids_of(int(candidates.category_codes[index]))
        matches = (
            ((self.scopes == 0) & (self.keys == index))
            | ((self.scopes == 1) & (self.keys == candidates.brand_codes[index]))
            | ((self.scopes == 2) & np.isin(self.keys, prefixes))
            | ((self.scopes == 3) & (self.keys == candidates.marketplace_codes[index]))
        )
        return np.asarray(matches, dtype=np.bool_)


def spans(
    sorted_values: NDArray[np.generic], keys: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """For each key, the indices of `sorted_values` equal to it, concatenated; and their counts."""
    starts = np.searchsorted(sorted_values, keys, side="left")
    counts = np.searchsorted(sorted_values, keys, side="right") - starts
    offsets = np.cumsum(counts) - counts
    span = np.arange(int(counts.sum())) - np.repeat(offsets, counts) + np.repeat(starts, counts)
    return span.astype(np.int64), counts.astype(np.int64)


def compile_rules(candidates: Candidates, rules: Sequence[RuleSpec]) -> Compiled:
    n = len(rules)
    scopes = np.fromiter((SCOPES.index(rule.scope) for rule in rules), dtype=np.int8, count=n)
    keys = np.full(n, -1, dtype=np.int64)
    product_rows = np.flatnonzero(scopes == 0)
    if len(product_rows):
        wanted = np.fromiter((int(rules[i].scope_value) for i in product_rows.tolist()), dtype=np.int64)
        keys[product_rows] = candidates.index_of(wanted)
    lookups = {1: candidates.brand_index, 2: candidates.prefix_index, 3: candidates.marketplace_index}
    for i in np.flatnonzero(scopes > 0).tolist():
        rule = rules[i]
        value = (
            normalise_category(rule.scope_value)
            if rule.scope is RuleScope.category
            else normalise_key(rule.scope_value)
        )
        keys[i] = lookups[int(scopes[i])].get(value, -1)
    return Compiled(
        ids=np.fromiter((rule.id for rule in rules), dtype=np.int64, count=n),
        kinds=[rule.kind for rule in rules],
        scopes=scopes,
        keys=keys,
    )


def spread(
    candidates: Candidates, compiled: Compiled, values: NDArray[np.float64], *, combine: str
) -> NDArray[np.float64]:
    """Spread each rule's value onto the candidates it matches, summed ("sum") or kept at the
    maximum ("max"), through per-scope code tables: never a loop over products."""
    n = len(candidates)
    fill = 0.0 if combine == "sum" else -1.0
    result = np.full(n, fill)
    tables = (
        (1, len(candidates.brands), candidates.brand_codes),
        (2, len(candidates.prefix_index), None),
        (3, len(candidates.marketplaces), candidates.marketplace_codes),
    )
    matched = compiled.keys >= 0

    def reduce(size: int, keys: NDArray[np.int64], vals: NDArray[np.float64]) -> NDArray[np.float64]:
        if combine == "sum":
            return np.bincount(keys, weights=vals, minlength=size).astype(np.float64, copy=False)
        table = np.full(size, -1.0)
        np.maximum.at(table, keys, vals)
        return table

    rows = matched & (compiled.scopes == 0)
    if rows.any():
        result = reduce(n, compiled.keys[rows], values[rows])
    for scope, size, codes in tables:
        rows = matched & (compiled.scopes == scope)
        if not rows.any():
            continue
        table = reduce(size, compiled.keys[rows], values[rows])
        if codes is None:  # category prefixes -> category codes -> candidates
            per_prefix = table[candidates.prefix_pair_prefix]
            table = reduce(
                len(candidates.categories), candidates.prefix_pair_code.astype(np.int64), per_prefix
            )
            codes = candidates.category_codes
        if combine == "sum":
            result += table[codes]
        else:
            np.maximum(result, table[codes], out=result)
    return result
