"""The products a ranking is made of, as numpy arrays, factorised once so that rules map onto
them by integer codes rather than by comparing strings product by product."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from resight.catalog.names import CATEGORY_SEPARATOR, category_levels, normalise_category, normalise_key


def _factorise(
    labels: Sequence[str] | NDArray[np.object_], normalise: bool
) -> tuple[NDArray[np.int32], tuple[str, ...]]:
    index: dict[str, int] = {}
    codes = np.fromiter(
        (index.setdefault(normalise_key(label) if normalise else label, len(index)) for label in labels),
        dtype=np.int32,
        count=len(labels),
    )
    return codes, tuple(index)


@dataclass(frozen=True, eq=False)
class Candidates:
    """The scored products: one entry per product, all arrays aligned and sorted by product id.

    Build it with `Candidates.from_labels(...)` (factorises strings once, ~0.3 s per million
    products) or directly from integer codes into the vocabularies. Scores must be finite; a
    higher score ranks higher; ties rank by ascending product id.
    """

    product_ids: NDArray[np.int64]
    scores: NDArray[np.float64]
    in_stock: NDArray[np.bool_]
    marketplace_codes: NDArray[np.int32]  # index into `marketplaces`
    marketplaces: tuple[str, ...]  # normalised (casefolded) names
    brand_codes: NDArray[np.int32]
    brands: tuple[str, ...]
    category_codes: NDArray[np.int32]
    categories: tuple[str, ...]  # normalised full paths ("ethnic wear > kurtas")

    # Derived once, reused by every apply_rules call.
    model_order: NDArray[np.int64] = field(init=False)  # candidate indices by (-score, product id)
    marketplace_index: dict[str, int] = field(init=False)
    brand_index: dict[str, int] = field(init=False)
    prefix_index: dict[str, int] = field(init=False)  # every category path and each of its ancestors
    prefix_pair_code: NDArray[np.int32] = field(init=False)  # (category code, prefix id) pairs,
    prefix_pair_prefix: NDArray[np.int32] = field(init=False)  # sorted by category code
    prefix_offsets: NDArray[np.int64] = field(init=False)  # CSR offsets into the pairs by code

    def __post_init__(self) -> None:
        n = len(self.product_ids)
        arrays = (self.scores, self.in_stock, self.marketplace_codes, self.brand_codes, self.category_codes)
        if any(len(array) != n for array in arrays):
            raise ValueError("all candidate arrays must have the same length")
        ids = np.asarray(self.product_ids, dtype=np.int64)
        if n and not np.all(np.isfinite(self.scores)):
            raise ValueError("scores must be finite")
        order: NDArray[np.int64] | None = None
        if n > 1 and not bool(np.all(ids[1:] > ids[:-1])):
            order = np.argsort(ids, kind="stable")
            ids = ids[order]
            if not bool(np.all(ids[1:] > ids[:-1])):
                raise ValueError("product ids must be unique")

        def aligned(array: ArrayLike, dtype: type[np.generic]) -> NDArray[np.generic]:
            values = np.asarray(array, dtype=dtype)
            return values if order is None else values[order]

        set_ = object.__setattr__
        set_(self, "product_ids", ids)
        set_(self, "scores", aligned(self.scores, np.float64))
        set_(self, "in_stock", aligned(self.in_stock, np.bool_))
        set_(self, "marketplace_codes", aligned(self.marketplace_codes, np.int32))
        set_(self, "brand_codes", aligned(self.brand_codes, np.int32))
        set_(self, "category_codes", aligned(self.category_codes, np.int32))
        # A stable sort of -score over id-sorted arrays breaks ties by ascending product id.
        set_(self, "model_order", np.argsort(-self.scores, kind="stable").astype(np.int64))
        set_(self, "marketplace_index", {name: code for code, name in enumerate(self.marketplaces)})
        set_(self, "brand_index", {name: code for code, name in enumerate(self.brands)})
        prefixes: dict[str, int] = {}
        pair_code: list[int] = []
        pair_prefix: list[int] = []
        for code, path in enumerate(self.categories):
            levels = category_levels(path)
            for depth in range(1, len(levels) + 1):
                prefix = CATEGORY_SEPARATOR.join(levels[:depth])
                pair_code.append(code)
                pair_prefix.append(prefixes.setdefault(prefix, len(prefixes)))
        set_(self, "prefix_index", prefixes)
        set_(self, "prefix_pair_code", np.asarray(pair_code, dtype=np.int32))
        set_(self, "prefix_pair_prefix", np.asarray(pair_prefix, dtype=np.int32))
        counts = np.bincount(self.prefix_pair_code, minlength=len(self.categories))
        set_(self, "prefix_offsets", np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))

    def __len__(self) -> int:
        return len(self.product_ids)

    @classmethod
    def from_labels(
        cls,
        product_ids: ArrayLike,
        scores: ArrayLike,
        *,
        marketplaces: Sequence[str],
        brands: Sequence[str],
        categories: Sequence[str],
        in_stock: ArrayLike,
    ) -> Candidates:
        """Factorise the string columns once; each argument has one entry per product."""
        mp_codes, mp_vocab = _factorise(marketplaces, normalise=True)
        brand_codes, brand_vocab = _factorise(brands, normalise=True)
        raw_codes, raw_vocab = _factorise(categories, normalise=False)
        # Normalise each distinct path once, then merge paths that normalise alike.
        cat_remap, cat_vocab = _factorise([normalise_category(path) for path in raw_vocab], normalise=False)
        return cls(
            product_ids=np.asarray(product_ids, dtype=np.int64),
            scores=np.asarray(scores, dtype=np.float64),
            in_stock=np.asarray(in_stock, dtype=np.bool_),
            marketplace_codes=mp_codes,
            marketplaces=mp_vocab,
            brand_codes=brand_codes,
            brands=brand_vocab,
            category_codes=cat_remap[raw_codes] if len(raw_codes) else raw_codes,
            categories=cat_vocab,
        )

    def prefix_ids_of(self, category_code: int) -> NDArray[np.int32]:
        start, stop = self.prefix_offsets[category_code], self.prefix_offsets[category_code + 1]
        return self.prefix_pair_prefix[start:stop]

    def index_of(self, product_ids: ArrayLike) -> NDArray[np.int64]:
        """Candidate index of each product id, -1 where it is not a candidate."""
        wanted = np.asarray(product_ids, dtype=np.int64)
        idx = np.searchsorted(self.product_ids, wanted)
        found = idx < len(self.product_ids)
        found[found] = self.product_ids[idx[found]] == wanted[found]
        return np.where(found, idx, -1).astype(np.int64)
