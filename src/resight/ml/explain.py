"""Exact explanations of one product's score: TreeSHAP (LightGBM's pred_contrib) in the model's
raw space, log(expected orders), where base value + Σ contributions = output exactly. Never run
for the whole catalogue: one row costs about a hundred predictions."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from resight.ml.features import CATEGORICAL, FEATURE_INDEX, FEATURES, Floats, RawFrame, encode
from resight.ml.registry import LoadedModel

OUTPUT_SPACE = "log_expected_orders"


@dataclass(frozen=True)
class Contribution:
    feature: str
    label: str
    value: float | str | None
    shap: float


@dataclass(frozen=True)
class Explanation:
    model_version: str
    base_value: float
    output: float
    expected_orders: float
    contributions: list[Contribution]


def contributions(model: LoadedModel, x: Floats) -> Floats:
    """(rows, features + 1): per-feature SHAP values, then the base value, in raw space."""
    out: Floats = np.asarray(model.booster.predict(x, pred_contrib=True, num_threads=1), dtype=np.float64)
    return out


def explain(model: LoadedModel, frame: RawFrame) -> Explanation:
    """Explain the first row of `frame`; contributions sorted by absolute size, largest first."""
    x = encode(frame if len(frame) == 1 else frame.take(np.array([0])), model.spec)
    shap = contributions(model, x)[0].tolist()
    raw = float(model.raw(x)[0])
    row = x[0].tolist()
    items = []
    for i, feature in enumerate(FEATURES):
        value: float | str | None
        if feature.name in CATEGORICAL:
            value = str(getattr(frame, feature.name)[0])
        else:
            number = row[FEATURE_INDEX[feature.name]]
            value = None if math.isnan(number) else number
        items.append(Contribution(feature.name, feature.label, value, shap[i]))
    items.sort(key=lambda c: -abs(c.shap))
    return Explanation(
        model_version=model.version,
        base_value=float(shap[-1]),
        output=raw,
        expected_orders=float(model.predict(x)[0]),
        contributions=items,
    )
