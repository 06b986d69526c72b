from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from resight.ml.metrics import ndcg_at_k, rankdata, spearman


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=6), min_size=2, max_size=40))
def test_rankdata_and_spearman_match_scipy(values: list[int]) -> None:
    stats = pytest.importorskip("scipy.stats")
    a = np.asarray(values, dtype=np.float64)
    b = a[::-1] + np.arange(len(a)) % 3
    np.testing.assert_allclose(rankdata(a), stats.rankdata(a))
    if len(set(values)) == 1 or len(set(b.tolist())) == 1:
        assert np.isnan(spearman(a, b))  # undefined for a constant input
        return
    assert abs(spearman(a, b) - stats.spearmanr(a, b).statistic) < 1e-12


def test_ndcg_is_one_for_the_ideal_order_and_lower_otherwise() -> None:
    relevance = np.array([3.0, 0.0, 2.0, 1.0])
    assert ndcg_at_k(relevance, relevance, 3) == 1.0
    assert ndcg_at_k(-relevance, relevance, 3) < 0.6
    assert ndcg_at_k(np.zeros(4), relevance, 2) < 1.0  # ties are broken against the model
