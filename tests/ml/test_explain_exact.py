"""Explanations are exact: they add up, match shap's TreeExplainer, and match Shapley values
computed by brute force over every subset of features."""

from __future__ import annotations

import itertools
import math
from typing import Any

import lightgbm as lgb
import numpy as np
import pytest
from sqlalchemy.orm import Session

from resight.ml.explain import contributions, explain
from resight.ml.features import FEATURE_NAMES, encode
from resight.ml.present import current_frame
from resight.ml.registry import LoadedModel
from tests.ml.conftest import Trained


@pytest.mark.slow  # importing shap (numba) takes seconds
def test_contributions_equal_shap_tree_explainer(db: Session, trained: Trained) -> None:
    shap = pytest.importorskip("shap")
    frame = current_frame(db, trained.now)
    x = encode(frame, trained.model.spec)
    ours = contributions(trained.model, x)
    explainer = shap.TreeExplainer(trained.model.booster)
    theirs = np.asarray(explainer.shap_values(x))
    np.testing.assert_allclose(ours[:, :-1], theirs, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours[:, -1], explainer.expected_value, rtol=0, atol=1e-9)
    raw = trained.model.raw(x)
    assert np.max(np.abs(ours.sum(axis=1) - raw)) < 1e-6
    single = explain(trained.model, frame.take(np.array([3])))
    assert single.contributions  # sorted, labelled
    assert {c.feature for c in single.contributions} == set(FEATURE_NAMES)
    total = single.base_value + sum(c.shap for c in single.contributions)
    assert abs(total - single.output) < 1e-6
    assert abs(single.output - raw[3]) < 1e-12


# -- brute force ---------------------------------------------------------------------------------


def _goes_left(node: dict[str, Any], value: float) -> bool:
    if node["decision_type"] == "==":
        if math.isnan(value):
            return False
        return int(value) in {int(v) for v in str(node["threshold"]).split("||")}
    if math.isnan(value):
        return bool(node["default_left"]) if node["missing_type"] == "NaN" else 0.0 <= node["threshold"]
    return value <= node["threshold"]


def _count(node: dict[str, Any]) -> float:
    return float(node["leaf_count"] if "leaf_value" in node else node["internal_count"])


def _expectation(node: dict[str, Any], x: np.ndarray, known: frozenset[int]) -> float:
    """E[tree(x) | x_S], unknown features averaged over the training data by node covers."""
    if "leaf_value" in node:
        return float(node["leaf_value"])
    left, right = node["left_child"], node["right_child"]
    if node["split_feature"] in known:
        return _expectation(left if _goes_left(node, x[node["split_feature"]]) else right, x, known)
    total = _count(left) + _count(right)
    return (
        _count(left) * _expectation(left, x, known) + _count(right) * _expectation(right, x, known)
    ) / total


def brute_force_shapley(trees: list[dict[str, Any]], x: np.ndarray) -> tuple[np.ndarray, float]:
    m = len(x)

    def value(subset: frozenset[int]) -> float:
        return sum(_expectation(tree["tree_structure"], x, subset) for tree in trees)

    phi = np.zeros(m)
    for i in range(m):
        rest = [j for j in range(m) if j != i]
        for size in range(m):
            weight = math.factorial(size) * math.factorial(m - size - 1) / math.factorial(m)
            for subset in itertools.combinations(rest, size):
                s = frozenset(subset)
                phi[i] += weight * (value(s | {i}) - value(s))
    return phi, value(frozenset())


def test_contributions_equal_brute_force_shapley_values() -> None:
    rng = np.random.default_rng(11)
    n = 600
    price = rng.uniform(100, 3000, n)
    rating = rng.uniform(2.5, 5.0, n)
    category = rng.integers(0, 6, n).astype(np.float64)
    views = rng.poisson(30, n).astype(np.float64)
    x = np.column_stack([price, rating, category, views])
    rate = np.exp(1.0 - price / 1500 + 0.4 * (rating - 4) + 0.3 * (category % 3) + views / 60)
    y = rng.poisson(rate)
    booster = lgb.train(
        {
            "objective": "poisson",
            "num_leaves": 8,
            "min_data_in_leaf": 10,
            "learning_rate": 0.2,
            "monotone_constraints": [-1, 0, 0, 0],
            "max_cat_to_onehot": 2,
            "num_threads": 1,
            "deterministic": True,
            "verbosity": -1,
        },
        lgb.Dataset(x, y, categorical_feature=[2], free_raw_data=False),
        num_boost_round=12,
    )
    trees = booster.dump_model()["tree_info"]
    assert any('"decision_type": "=="' in str(tree).replace("'", '"') for tree in trees), (
        "the model should contain a categorical split"
    )
    model = LoadedModel(version="tiny", booster=booster, spec=None, features=())  # type: ignore[arg-type]
    rows = x[[0, 1, 2, 3, 4]]
    ours = contributions(model, rows)
    for r, row in enumerate(rows):
        phi, base = brute_force_shapley(trees, row)
        np.testing.assert_allclose(ours[r, :-1], phi, rtol=0, atol=1e-6)
        assert abs(ours[r, -1] - base) < 1e-6
        assert abs(base + phi.sum() - booster.predict(row[None, :], raw_score=True)[0]) < 1e-6
