"""The rules engine's input (rules/engine.py Candidates) built from a cycle's frame.

Factorising the marketplace, brand and category strings is most of the rules stage (~5 ms per
column at 100,000 products; np.unique on the strings cost ~15 ms). The long-lived scorer keeps
the last factorisation of each column in a `FactorCache` and reuses it while the column is
unchanged, which an elementwise comparison decides for a fraction of the cost; codes depend on
the column's values alone, so a reused factorisation is the one a fresh one would produce.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from resight.catalog.names import normalise_category, normalise_key
from resight.ml.features import Floats, RawFrame, Strings
from resight.rules.engine import Candidates

Codes = npt.NDArray[np.int32]


def in_stock(frame: RawFrame) -> npt.NDArray[np.bool_]:
    stocked: npt.NDArray[np.bool_] = np.isnan(frame.stock) | (frame.stock > 0)
    return stocked


def factorise(values: Strings, normalise: Callable[[str], str]) -> tuple[Codes, tuple[str, ...]]:
    """Codes into a vocabulary of normalised labels; Python touches each distinct label once.

    The distinct values are found with a dictionary (the loader's strings share one object per
    value, so their hashes are cached) rather than np.unique, which sorts every value; the
    vocabulary is still built over the sorted distinct values, so codes and labels are np.unique's."""
    items = values.tolist()
    distinct = list(dict.fromkeys(items))
    if not all(type(value) is str for value in distinct):
        return _factorise_any(values, normalise)
    index: dict[str, int] = {}
    # np.unique compares the strings as numpy does: without trailing NULs.
    code_of = {
        value: index.setdefault(normalise(value.rstrip("\x00")), len(index)) for value in sorted(distinct)
    }
    codes: Codes = np.fromiter(map(code_of.__getitem__, items), dtype=np.int32, count=len(items))
    return codes, tuple(index)


def _factorise_any(values: Strings, normalise: Callable[[str], str]) -> tuple[Codes, tuple[str, ...]]:
    """`factorise` of values that are not all str: each converted with str() first."""
    uniques, inverse = np.unique(values.astype(str), return_inverse=True)
    index: dict[str, int] = {}
    remap = np.array([index.setdefault(normalise(str(u)), len(index)) for u in uniques], dtype=np.int32)
    codes: Codes = remap[inverse.reshape(-1)] if len(values) else np.empty(0, dtype=np.int32)
    return codes, tuple(index)


@dataclass
class _Column:
    values: Strings | None = None  # a private copy: the caller's array may be updated in place
    codes: Codes = field(default_factory=lambda: np.empty(0, dtype=np.int32))
    labels: tuple[str, ...] = ()

    def factorise(self, values: Strings, normalise: Callable[[str], str]) -> tuple[Codes, tuple[str, ...]]:
        if (
            self.values is not None
            and self.values.shape == values.shape
            and np.array_equal(self.values, values)
        ):
            return self.codes, self.labels
        codes, labels = factorise(values, normalise)
        codes.setflags(write=False)  # shared with later cycles: nobody may change it
        self.values, self.codes, self.labels = values.copy(), codes, labels
        return codes, labels


@dataclass
class FactorCache:
    """The last factorisation of each string column, for the scorer's next cycle."""

    marketplace: _Column = field(default_factory=_Column)
    brand: _Column = field(default_factory=_Column)
    category: _Column = field(default_factory=_Column)


def candidates_of(frame: RawFrame, keys: Floats, cache: FactorCache | None = None) -> Candidates:
    """The rules engine's input, factorised with the engine's own normalisation of labels."""
    columns = cache or FactorCache()
    marketplace_codes, marketplaces = columns.marketplace.factorise(frame.marketplace, normalise_key)
    brand_codes, brands = columns.brand.factorise(frame.brand, normalise_key)
    category_codes, categories = columns.category.factorise(frame.category, normalise_category)
    return Candidates(
        product_ids=frame.product_id,
        scores=np.asarray(keys, dtype=np.float64),
        in_stock=in_stock(frame),
        marketplace_codes=marketplace_codes,
        marketplaces=marketplaces,
        brand_codes=brand_codes,
        brands=brands,
        category_codes=category_codes,
        categories=categories,
    )
