from __future__ import annotations

import math

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from resight.audit.models import AuditLog
from resight.ml.models import MlModel, MlScore, ModelStatus
from resight.rules.models import Rule, RuleKind, RuleScope
from resight.users.models import Role
from tests.factories import headers_for
from tests.ml.conftest import Trained


def _ranked(db: Session) -> list[MlScore]:
    db.expire_all()
    return list(db.scalars(select(MlScore).where(MlScore.rank.is_not(None)).order_by(MlScore.rank)))


def test_rank_pages_and_filters(db: Session, trained: Trained, ml_client: TestClient) -> None:
    trained.cycle(db)
    headers = headers_for(db, Role.viewer)
    body = ml_client.post("/rank", json={"limit": 5, "offset": 2}, headers=headers).json()
    ranked = _ranked(db)
    assert body["total"] == len(ranked)
    assert [item["id"] for item in body["items"]] == [s.product_id for s in ranked[2:7]]
    first = body["items"][0]
    assert first["rank"] == 3
    assert first["rank_change"] is None
    assert first["score"] == pytest.approx(ranked[2].score)
    price = next(p for p in trained.world.products if p.id == first["id"]).price_paise
    assert float(first["expected_gmv"]) == pytest.approx(ranked[2].score * price / 100, abs=0.01)
    footwear = ml_client.post("/rank", json={"category": "footwear", "brand": "PUMA"}, headers=headers).json()
    assert footwear["items"]
    for item in footwear["items"]:
        assert item["category"].startswith("Footwear >")
        assert item["brand"] == "Puma"
    ranks = [item["rank"] for item in footwear["items"]]
    assert ranks == sorted(ranks)
    bad = ml_client.post("/rank", json={"limit": 0}, headers=headers)
    assert bad.status_code == 422


def test_item_shows_score_rank_rules_and_metrics(
    db: Session, trained: Trained, ml_client: TestClient
) -> None:
    product = trained.world.products[3]
    rule = Rule(kind=RuleKind.boost, scope=RuleScope.product, scope_value=str(product.id), strength=0.5)
    db.add(rule)
    db.flush()
    trained.cycle(db)
    trained.cycle(db)
    body = ml_client.get(f"/item/{product.id}", headers=headers_for(db, Role.viewer)).json()
    row = db.get(MlScore, product.id)
    assert row is not None
    assert body["rank"] == row.rank
    assert body["previous_rank"] == row.rank
    assert body["rank_change"] == 0
    assert body["score"] == pytest.approx(row.score)
    assert [r["id"] for r in body["rules_applied"]] == [rule.id]
    assert body["metrics"]["product_id"] == product.id
    assert ml_client.get("/item/999999", headers=headers_for(db, Role.viewer)).status_code == 404


def test_explain_adds_up_to_the_stored_score(db: Session, trained: Trained, ml_client: TestClient) -> None:
    trained.cycle(db)
    product = trained.world.products[5]
    body = ml_client.get(f"/explain/{product.id}", headers=headers_for(db, Role.viewer)).json()
    total = body["base_value"] + sum(c["shap"] for c in body["contributions"])
    assert abs(total - body["output"]) < 1e-6
    assert body["output_space"] == "log_expected_orders"
    row = db.get(MlScore, product.id)
    assert row is not None
    assert math.exp(body["output"]) == pytest.approx(row.score, rel=1e-9)
    assert body["expected_orders"] == pytest.approx(row.score, rel=1e-12)
    by_name = {c["feature"]: c for c in body["contributions"]}
    assert by_name["price"]["value"] == product.price_paise / 100
    assert by_name["brand"]["value"] == product.brand
    shaps = [abs(c["shap"]) for c in body["contributions"]]
    assert shaps == sorted(shaps, reverse=True)


def test_explain_without_a_score_is_404(db: Session, trained: Trained, ml_client: TestClient) -> None:
    response = ml_client.get(f"/explain/{trained.world.products[0].id}", headers=headers_for(db, Role.viewer))
    assert response.status_code == 404  # no cycle has run yet


def test_models_list_and_promote(db: Session, trained: Trained, ml_client: TestClient) -> None:
    viewer = headers_for(db, Role.viewer)
    page = ml_client.get("/models", params={"limit": 1}, headers=viewer).json()
    assert page["items"][0]["version"] == trained.result.model.version
    assert page["items"][0]["status"] == "serving"
    assert page["items"][0]["metrics"]["ndcg_at_100"] > 0
    assert page["next_cursor"] is None
    # A second model, kept as a candidate, then promoted by hand.
    candidate = MlModel(
        version="hand-1",
        status=ModelStatus.candidate,
        artifact_path=trained.result.model.artifact_path,
        artifact_sha256=trained.result.model.artifact_sha256,
        features=[],
        params={},
        metrics={},
    )
    db.add(candidate)
    db.flush()
    admin = headers_for(db, Role.admin)
    response = ml_client.post("/models/hand-1/promote", headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "serving"
    db.expire_all()
    assert db.get(MlModel, trained.result.model.id).status is ModelStatus.retired  # type: ignore[union-attr]
    audit = db.scalars(
        select(AuditLog).where(AuditLog.action == "model.promoted").order_by(AuditLog.id)
    ).all()
    assert audit[-1].entity_id == "hand-1"
    assert audit[-1].actor_type == "user"
    assert ml_client.post("/models/hand-1/promote", headers=admin).status_code == 409
    assert ml_client.post("/models/nope/promote", headers=admin).status_code == 404
    two = ml_client.get("/models", params={"limit": 1}, headers=viewer).json()
    assert two["next_cursor"] is not None
    rest = ml_client.get("/models", params={"limit": 1, "cursor": two["next_cursor"]}, headers=viewer).json()
    assert rest["items"][0]["version"] == trained.result.model.version


def test_promote_refuses_a_broken_artifact(db: Session, trained: Trained, ml_client: TestClient) -> None:
    db.add(
        MlModel(
            version="broken",
            status=ModelStatus.candidate,
            artifact_path="/nonexistent/model.json",
            artifact_sha256="0" * 64,
            features=[],
            params={},
            metrics={},
        )
    )
    db.flush()
    response = ml_client.post("/models/broken/promote", headers=headers_for(db, Role.admin))
    assert response.status_code == 409
    assert "cannot be served" in response.json()["detail"]
