"""Model quality against the simulator's ground truth, when the database holds a demo world.

For each evaluation snapshot the simulator knows every product's true expected orders (and
revenue) in the next 24 hours; we compare the model's predictions with those, per snapshot:
Spearman on orders, NDCG@100 of the predicted order ranking against the true one, and NDCG@100
of the GMV ranking (what /rank serves) against the true expected revenue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from resight.errors import NotFound
from resight.ml.features import encode
from resight.ml.metrics import ndcg_at_k, spearman
from resight.ml.registry import LoadedModel
from resight.ml.training import Dataset

Evaluation = Callable[[LoadedModel, Dataset], dict[str, Any]]


def truth_evaluation(session: Session) -> Evaluation | None:
    """An extra evaluation against the newest demo world's truth, or None without one."""
    from resight.simulator.demand import true_expected_orders, true_expected_revenue_paise
    from resight.simulator.load import load_world

    try:
        world = load_world(session)
    except NotFound:
        return None
    assert world.product_ids is not None
    known = np.flatnonzero(world.product_ids >= 0)
    order = np.argsort(world.product_ids[known])
    ids_sorted, index_sorted = world.product_ids[known][order], known[order]

    def evaluate(model: LoadedModel, data: Dataset) -> dict[str, Any]:
        predicted = model.predict(encode(data.frame, model.spec))
        spearmans, ndcg_orders, ndcg_gmv = [], [], []
        for moment in np.unique(data.frame.at):
            rows = np.flatnonzero(data.frame.at == moment)
            ids = data.frame.product_id[rows]
            position = np.searchsorted(ids_sorted, ids)
            ok = (position < len(ids_sorted)) & (ids_sorted[np.minimum(position, len(ids_sorted) - 1)] == ids)
            rows, index = rows[ok], index_sorted[position[ok]]
            at = dt.datetime.fromtimestamp(float(moment), dt.UTC)
            truth = true_expected_orders(world, index, at)
            revenue = true_expected_revenue_paise(world, index, at).astype(np.float64)
            gmv = predicted[rows] * np.nan_to_num(data.frame.price[rows])
            spearmans.append(spearman(predicted[rows], truth))
            ndcg_orders.append(ndcg_at_k(predicted[rows], truth, 100))
            ndcg_gmv.append(ndcg_at_k(gmv, revenue, 100))
        return {
            "truth_spearman": float(np.nanmean(spearmans)),
            "truth_ndcg_at_100": float(np.nanmean(ndcg_orders)),
            "truth_gmv_ndcg_at_100": float(np.nanmean(ndcg_gmv)),
        }

    return evaluate
