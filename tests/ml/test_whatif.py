from __future__ import annotations

import itertools
from decimal import Decimal

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlalchemy.orm import Session

from resight.catalog.models import HistoryField, ProductHistory
from resight.ml.models import MlScore
from resight.ml.present import current_frame
from resight.ml.scoring import candidates_of, ranking_key, score_frame
from resight.rules.engine import apply_rules
from resight.rules.models import Rule, RuleKind, RuleScope
from resight.rules.service import active_rule_specs
from resight.users.models import Role
from tests.factories import headers_for
from tests.ml.conftest import Trained


def _ingest_price(db: Session, trained: Trained, product_id: int, paise: int) -> None:
    product = next(p for p in trained.world.products if p.id == product_id)
    product.price_paise = paise
    db.execute(
        insert(ProductHistory),
        [
            {
                "product_id": product_id,
                "field": HistoryField.price,
                "value_int": paise,
                "event_time": trained.now,
            }
        ],
    )
    db.flush()


def _rank(db: Session, product_id: int) -> int | None:
    db.expire_all()
    row = db.get(MlScore, product_id)
    assert row is not None
    return row.rank


@pytest.mark.parametrize(("index", "factor"), [(7, 0.5), (7, 1.8), (12, 0.25), (20, 3.0)])
def test_whatif_rank_equals_the_rank_after_the_price_is_ingested(
    db: Session, trained: Trained, ml_client: TestClient, index: int, factor: float
) -> None:
    products = trained.world.products
    # Rules in play: a pin, a boost on a brand, and a removal.
    db.add_all(
        [
            Rule(kind=RuleKind.pin, scope=RuleScope.product, scope_value=str(products[0].id), position=2),
            Rule(kind=RuleKind.boost, scope=RuleScope.brand, scope_value="Libas", strength=0.7),
            Rule(kind=RuleKind.remove, scope=RuleScope.product, scope_value=str(products[1].id)),
        ]
    )
    db.flush()
    trained.cycle(db)
    target = products[index]
    new_paise = round(target.price_paise * factor)
    headers = headers_for(db, Role.merchandiser)
    body = ml_client.post(
        "/whatif/price",
        json={"item_id": target.id, "new_price": str(Decimal(new_paise) / 100)},
        headers=headers,
    ).json()
    assert body["current"]["rank"] == _rank(db, target.id)
    assert Decimal(body["simulated"]["price"]) == Decimal(new_paise) / 100
    # Cheaper never sells less, dearer never sells more.
    if factor < 1:
        assert body["simulated"]["expected_orders"] >= body["current"]["expected_orders"]
    else:
        assert body["simulated"]["expected_orders"] <= body["current"]["expected_orders"]
    others = {p.id: _rank(db, p.id) for p in products if p.id != target.id}
    _ingest_price(db, trained, target.id, new_paise)
    trained.cycle(db)
    assert _rank(db, target.id) == body["simulated"]["rank"]
    db.expire_all()
    row = db.get(MlScore, target.id)
    assert row is not None
    assert row.score == pytest.approx(body["simulated"]["expected_orders"], rel=1e-12)
    assert body["rank_change"] == body["current"]["rank"] - body["simulated"]["rank"]
    assert body["rank_change"] != 0  # these cases all move (else the test would prove little)
    # Only the products between the old and the new place move: one place, or two to hop the pin.
    low, high = sorted((body["current"]["rank"], body["simulated"]["rank"]))
    for pid, rank in others.items():
        after = _rank(db, pid)
        if rank is None or rank < low or rank > high or rank == 2:  # rank 2 is pinned
            assert after == rank
        else:
            assert after is not None
            assert abs(after - rank) in (1, 2)


def test_whatif_lists_the_rules_considered(db: Session, trained: Trained, ml_client: TestClient) -> None:
    target = trained.world.products[4]
    boost = Rule(kind=RuleKind.boost, scope=RuleScope.category, scope_value=target.category, strength=1.0)
    other = Rule(kind=RuleKind.boost, scope=RuleScope.brand, scope_value="Nobody", strength=1.0)
    db.add_all([boost, other])
    db.flush()
    trained.cycle(db)
    body = ml_client.post(
        "/whatif/price",
        json={"item_id": target.id, "new_price": "499.00"},
        headers=headers_for(db, Role.merchandiser),
    ).json()
    assert [r["id"] for r in body["rules_considered"]] == [boost.id]


def test_price_sweep_points_and_best_price(db: Session, trained: Trained, ml_client: TestClient) -> None:
    trained.cycle(db)
    target = trained.world.products[9]
    headers = headers_for(db, Role.merchandiser)
    body = ml_client.post(
        "/whatif/price-sweep",
        json={"item_id": target.id, "min": "100", "max": "5000", "steps": 50},
        headers=headers,
    ).json()
    points = body["points"]
    assert len(points) == 50
    prices = [Decimal(p["price"]) for p in points]
    assert prices == sorted(prices)
    assert prices[0] == Decimal("100.00")
    assert prices[-1] == Decimal("5000.00")
    orders = [p["expected_orders"] for p in points]
    assert all(b <= a + 1e-12 for a, b in itertools.pairwise(orders))
    best = max(points, key=lambda p: Decimal(p["expected_gmv"]))
    assert Decimal(body["best_price"]) == Decimal(best["price"])
    ranks = [p["rank"] for p in points]
    assert all(isinstance(r, int) and r >= 1 for r in ranks)
    listed = ml_client.post(
        "/whatif/price-sweep", json={"item_id": target.id, "prices": ["300", "200.5"]}, headers=headers
    ).json()
    assert [p["price"] for p in listed["points"]] == ["200.50", "300.00"]
    single = ml_client.post(
        "/whatif/price", json={"item_id": target.id, "new_price": "300"}, headers=headers
    ).json()
    assert single["simulated"]["rank"] == listed["points"][1]["rank"]


@pytest.mark.parametrize(
    "payload",
    [
        {"prices": ["100"], "min": "1", "max": "2", "steps": 3},
        {"min": "10", "max": "5", "steps": 3},
        {"min": "10"},
        {"prices": ["-5"]},
        {"prices": []},
        {"min": "1", "max": "2", "steps": 1000},
    ],
)
def test_sweep_rejects_bad_requests(
    db: Session, trained: Trained, ml_client: TestClient, payload: dict[str, object]
) -> None:
    trained.cycle(db)
    response = ml_client.post(
        "/whatif/price-sweep",
        json={"item_id": trained.world.products[0].id, **payload},
        headers=headers_for(db, Role.merchandiser),
    )
    assert response.status_code == 422, response.text


def test_whatif_without_a_model_is_503(db: Session, client: TestClient) -> None:
    response = client.post(
        "/whatif/price", json={"item_id": 1, "new_price": "10"}, headers=headers_for(db, Role.merchandiser)
    )
    assert response.status_code == 503
    assert "resight train" in response.json()["detail"]


@pytest.mark.parametrize("index", [3, 6, 8])  # demoted, untouched, boosted
def test_sweep_ranks_equal_a_full_rerank_of_the_catalogue(
    db: Session, trained: Trained, ml_client: TestClient, index: int
) -> None:
    """The seek-based placement against the slow truth: re-score and re-rank every product with
    this one's price changed, through the same pipeline and rules engine as a cycle."""
    products = trained.world.products
    db.add_all(
        [
            Rule(kind=RuleKind.pin, scope=RuleScope.product, scope_value=str(products[0].id), position=4),
            Rule(kind=RuleKind.boost, scope=RuleScope.brand, scope_value="Puma", strength=0.6),
            Rule(kind=RuleKind.demote, scope=RuleScope.category, scope_value="Footwear", strength=0.3),
            Rule(kind=RuleKind.remove, scope=RuleScope.product, scope_value=str(products[1].id)),
        ]
    )
    db.flush()
    trained.cycle(db)
    target = products[index]
    body = ml_client.post(
        "/whatif/price-sweep",
        json={"item_id": target.id, "min": "20", "max": "20000", "steps": 40},
        headers=headers_for(db, Role.merchandiser),
    ).json()
    now = trained.now
    frame = current_frame(db, now)
    position = int(np.flatnonzero(frame.product_id == target.id)[0])
    rules = active_rule_specs(db, now)
    ranks = []
    for point in body["points"]:
        prices = frame.price.copy()
        prices[position] = float(Decimal(point["price"]))
        changed = frame.with_price(prices)
        keys = ranking_key(score_frame(trained.model, changed), changed.price, "gmv")
        ranking = apply_rules(candidates_of(changed, keys), rules, now)
        ranks.append(int(ranking.ranks_of([target.id])[0]))
    assert [p["rank"] for p in body["points"]] == ranks
    assert len(set(ranks)) > 3  # the sweep crosses many places
