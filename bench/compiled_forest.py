"""A compiled-inference candidate measured by bench_ml: the LightGBM model as flat arrays walked by
numba-compiled code.

The walk reproduces LightGBM's own decision rules (tree.h: NumericalDecision / CategoricalDecision,
missing-value types, default directions, categorical bitsets, inputs within ±1e-35 read as 0) and
sums the trees in the same order in float64, so its scores are identical to booster.predict, not
merely close (bench_ml reports the largest difference). It is not used for serving: on this model
it is no faster than booster.predict (docs/MODEL.md, "Speed"). `from_model_text` refuses models it
does not reproduce (linear trees, objectives other than poisson or regression, several outputs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from resight.ml.features import Floats

ZERO_THRESHOLD = 1e-35  # LightGBM's kZeroThreshold: smaller magnitudes are read as 0
CATEGORICAL_MASK, DEFAULT_LEFT_MASK = 1, 2
MISSING_ZERO, MISSING_NAN = 1, 2
OUTPUTS = {"poisson": True, "regression": False}  # objective -> exp of the raw score?


class UnsupportedModel(ValueError):
    """A model this compiler does not reproduce exactly; keep using booster.predict."""


@dataclass(frozen=True)
class CompiledForest:
    """All trees, concatenated. Node arrays are indexed by tree offset + node; children are
    node numbers within the tree, or ~leaf for a leaf (as in LightGBM)."""

    node_offset: npt.NDArray[np.int64]  # per tree
    leaf_offset: npt.NDArray[np.int64]  # per tree
    feature: npt.NDArray[np.int32]
    threshold: Floats
    decision: npt.NDArray[np.int32]
    left: npt.NDArray[np.int32]
    right: npt.NDArray[np.int32]
    cat_start: npt.NDArray[np.int64]  # per node (categorical only): first bitset word, and words
    cat_words: npt.NDArray[np.int64]
    cat_bits: npt.NDArray[np.uint32]
    leaf_value: Floats
    exp_output: bool
    num_features: int

    @property
    def trees(self) -> int:
        return len(self.node_offset)

    @staticmethod
    def from_model_text(text: str) -> CompiledForest:
        header, _, body = text.partition("\nTree=")
        meta = _key_values(header)
        objective = meta.get("objective", "").split(" ")[0]
        if objective not in OUTPUTS:
            raise UnsupportedModel(f"objective {objective!r} is not compiled")
        if int(meta.get("num_tree_per_iteration", "1")) != 1:
            raise UnsupportedModel("several outputs per iteration")
        trees = [_key_values(block) for block in body.split("\nTree=") if "num_leaves=" in block]
        parts: dict[str, list[Any]] = {
            name: [] for name in ("feature", "threshold", "decision", "left", "right")
        }
        cat_start: list[int] = []
        cat_words: list[int] = []
        cat_bits: list[int] = []
        leaf_values: list[float] = []
        node_offset, leaf_offset = [], []
        for tree in trees:
            if tree.get("is_linear", "0") != "0":
                raise UnsupportedModel("linear trees")
            node_offset.append(len(parts["feature"]))
            leaf_offset.append(len(leaf_values))
            leaf_values += [float(v) for v in tree["leaf_value"].split()]
            if int(tree["num_leaves"]) == 1:
                continue
            features = [int(v) for v in tree["split_feature"].split()]
            thresholds = [float(v) for v in tree["threshold"].split()]
            decisions = [int(v) for v in tree["decision_type"].split()]
            parts["feature"] += features
            parts["threshold"] += thresholds
            parts["decision"] += decisions
            parts["left"] += [int(v) for v in tree["left_child"].split()]
            parts["right"] += [int(v) for v in tree["right_child"].split()]
            boundaries = [int(v) for v in tree.get("cat_boundaries", "").split()]
            words = [int(v) for v in tree.get("cat_threshold", "").split()]
            base = len(cat_bits)
            cat_bits += words
            for decision, threshold in zip(decisions, thresholds, strict=True):
                if decision & CATEGORICAL_MASK:
                    index = int(threshold)
                    cat_start.append(base + boundaries[index])
                    cat_words.append(boundaries[index + 1] - boundaries[index])
                else:
                    cat_start.append(0)
                    cat_words.append(0)
        return CompiledForest(
            node_offset=np.array(node_offset, dtype=np.int64),
            leaf_offset=np.array(leaf_offset, dtype=np.int64),
            feature=np.array(parts["feature"], dtype=np.int32),
            threshold=np.array(parts["threshold"], dtype=np.float64),
            decision=np.array(parts["decision"], dtype=np.int32),
            left=np.array(parts["left"], dtype=np.int32),
            right=np.array(parts["right"], dtype=np.int32),
            cat_start=np.array(cat_start, dtype=np.int64),
            cat_words=np.array(cat_words, dtype=np.int64),
            cat_bits=np.array(cat_bits, dtype=np.uint32),
            leaf_value=np.array(leaf_values, dtype=np.float64),
            exp_output=OUTPUTS[objective],
            num_features=int(meta["max_feature_idx"]) + 1,
        )

    def _leaves(self) -> npt.NDArray[np.int64]:
        """Leaves per tree (a tree with one leaf has no nodes)."""
        ends = np.r_[self.leaf_offset[1:], len(self.leaf_value)]
        leaves: npt.NDArray[np.int64] = ends - self.leaf_offset
        return leaves

    def raw(self, x: Floats, threads: int = 1) -> Floats:
        """The raw score (log of expected orders for poisson) of each row of `x`."""
        return self._run(x, threads, transform=False)

    def predict(self, x: Floats, threads: int = 1) -> Floats:
        """What booster.predict returns: exp(raw) for poisson (libm's exp, as LightGBM's)."""
        return self._run(x, threads, transform=self.exp_output)

    def _run(self, x: Floats, threads: int, transform: bool) -> Floats:
        x = np.ascontiguousarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.num_features:
            raise ValueError(f"expected rows of {self.num_features} features, got shape {x.shape}")
        out = np.zeros(x.shape[0], dtype=np.float64)
        single = (self._leaves() == 1).astype(np.int8)
        walk = _walk_parallel if threads > 1 and x.shape[0] >= 2_000 else _walk
        if walk is _walk_parallel:
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
        walk(x, out, self.node_offset, self.leaf_offset, single, self.feature, self.threshold,
             self.decision, self.left, self.right, self.cat_start, self.cat_words, self.cat_bits,
             self.leaf_value, transform)  # fmt: skip
        return out


def _key_values(block: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in block.splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


BLOCK = 128  # rows walked through one tree before the next: that tree's nodes stay in L1 cache


@numba.njit(cache=True, nogil=True)
def _walk_rows(
    x,
    out,
    first,
    last,
    node_offset,
    leaf_offset,
    single,
    feature,
    threshold,
    decision,
    left,
    right,
    cat_start,
    cat_words,
    cat_bits,
    leaf_value,
    transform,
):  # type: ignore[no-untyped-def]
    trees = node_offset.shape[0]
    totals = np.zeros(BLOCK)
    for start in range(first, last, BLOCK):
        stop = min(start + BLOCK, last)
        totals[:] = 0.0
        for tree in range(trees):
            if single[tree]:
                for r in range(start, stop):
                    totals[r - start] += leaf_value[leaf_offset[tree]]
                continue
            base = node_offset[tree]
            for r in range(start, stop):
                node = 0
                while node >= 0:
                    i = base + node
                    value = x[r, feature[i]]
                    if abs(value) <= ZERO_THRESHOLD:
                        value = 0.0
                    kind = decision[i]
                    if kind & CATEGORICAL_MASK:
                        go_left = False
                        if not (math.isnan(value) or value <= -1.0 or value >= 2147483648.0):
                            category = int(value)
                            word = category >> 5
                            if word < cat_words[i]:
                                go_left = ((cat_bits[cat_start[i] + word] >> (category & 31)) & 1) == 1
                    else:
                        missing = (kind >> 2) & 3
                        if math.isnan(value):
                            if missing == MISSING_NAN or missing == MISSING_ZERO:
                                go_left = (kind & DEFAULT_LEFT_MASK) != 0
                            else:
                                go_left = 0.0 <= threshold[i]
                        elif missing == MISSING_ZERO and value == 0.0:
                            go_left = (kind & DEFAULT_LEFT_MASK) != 0
                        else:
                            go_left = value <= threshold[i]
                    node = left[i] if go_left else right[i]
                totals[r - start] += leaf_value[leaf_offset[tree] + ~node]
        for r in range(start, stop):
            out[r] = math.exp(totals[r - start]) if transform else totals[r - start]


@numba.njit(cache=True, nogil=True, parallel=True)
def _walk_parallel(
    x,
    out,
    node_offset,
    leaf_offset,
    single,
    feature,
    threshold,
    decision,
    left,
    right,
    cat_start,
    cat_words,
    cat_bits,
    leaf_value,
    transform,
):  # type: ignore[no-untyped-def]
    chunks = 64
    size = (x.shape[0] + chunks - 1) // chunks
    for c in numba.prange(chunks):
        _walk_rows(x, out, min(c * size, x.shape[0]), min((c + 1) * size, x.shape[0]), node_offset,
                   leaf_offset, single, feature, threshold, decision, left, right, cat_start, cat_words,
                   cat_bits, leaf_value, transform)  # fmt: skip


@numba.njit(cache=True, nogil=True)
def _walk(
    x,
    out,
    node_offset,
    leaf_offset,
    single,
    feature,
    threshold,
    decision,
    left,
    right,
    cat_start,
    cat_words,
    cat_bits,
    leaf_value,
    transform,
):  # type: ignore[no-untyped-def]
    _walk_rows(x, out, 0, x.shape[0], node_offset, leaf_offset, single, feature, threshold, decision,
               left, right, cat_start, cat_words, cat_bits, leaf_value, transform)  # fmt: skip
