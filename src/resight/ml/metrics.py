"""Ranking quality: NDCG@k and Spearman's rank correlation, per snapshot, in numpy."""

from __future__ import annotations

import numpy as np

from resight.ml.features import Floats


def rankdata(values: Floats) -> Floats:
    """Ranks from 1, ties sharing their average rank (as scipy.stats.rankdata's default)."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    boundaries = np.concatenate(([True], ordered[1:] != ordered[:-1], [True]))
    starts = np.flatnonzero(boundaries)
    average = (starts[:-1] + starts[1:] + 1) / 2.0  # mean of 1-based positions start+1 .. end
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.repeat(average, np.diff(starts))
    return ranks


def spearman(predicted: Floats, actual: Floats) -> float:
    if len(predicted) < 2:
        return float("nan")
    a, b = rankdata(predicted), rankdata(actual)
    a, b = a - a.mean(), b - b.mean()
    denominator = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denominator) if denominator > 0 else float("nan")


def ndcg_at_k(predicted: Floats, relevance: Floats, k: int) -> float:
    """Gains are the relevances themselves (orders); ties in the prediction are broken against us
    (the lower relevance first), so a constant prediction cannot score well by luck."""
    if len(predicted) == 0:
        return float("nan")
    k = min(k, len(predicted))
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    order = np.lexsort((relevance, -predicted))[:k]
    ideal = np.sort(relevance)[::-1][:k]
    best = float((ideal * discounts).sum())
    return float((relevance[order] * discounts).sum() / best) if best > 0 else float("nan")


def per_snapshot(groups: Floats, predicted: Floats, actual: Floats, k: int) -> dict[str, float]:
    """Mean NDCG@k and Spearman over snapshots (rows grouped by their moment)."""
    ndcgs, spearmans = [], []
    for moment in np.unique(groups):
        rows = groups == moment
        ndcgs.append(ndcg_at_k(predicted[rows], actual[rows], k))
        spearmans.append(spearman(predicted[rows], actual[rows]))
    return {f"ndcg_at_{k}": float(np.nanmean(ndcgs)), "spearman": float(np.nanmean(spearmans))}
