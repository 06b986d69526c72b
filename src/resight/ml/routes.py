from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import numpy as np
from fastapi import APIRouter, BackgroundTasks, Query, Request
from pydantic import AwareDatetime

from resight.db import utcnow
from resight.deps import AdminDep, MerchandiserDep, RequestIdDep, SessionDep, SettingsDep, ViewerDep
from resight.errors import BadRequest, Conflict, ServiceUnavailable
from resight.events.alerts import raise_alert
from resight.india import paise_to_rupees, rupees_to_paise
from resight.ml import history, registry, whatif
from resight.ml.explain import OUTPUT_SPACE, explain
from resight.ml.registry import LoadedModel, ModelStore
from resight.ml.schemas import (
    ContributionOut,
    ExplainOut,
    HistoryPointOut,
    ItemOut,
    ModelOut,
    RankRequest,
    RankResponse,
    SweepIn,
    SweepOut,
    SweepPoint,
    WhatIfPriceIn,
    WhatIfPriceOut,
    WhatIfState,
)
from resight.ml.service import item_view, rank_items, rule_refs
from resight.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Page,
    decode_cursor,
    decode_id_cursor,
    encode_cursor,
    page_of,
)

router = APIRouter(tags=["ml"])


def _model(request: Request, session: SessionDep) -> LoadedModel:
    store: ModelStore = request.app.state.model_store
    model = store.serving(session)
    if model is None:
        raise ServiceUnavailable(store.problem or "no model is serving yet: run `resight train` first")
    return model


@router.post("/rank", response_model=RankResponse, summary="The current ranking, filtered and paged")
def rank(body: RankRequest, session: SessionDep, _: ViewerDep) -> RankResponse:
    return rank_items(session, body)


@router.get(
    "/item/{item_id}", response_model=ItemOut, summary="A product with its score, rank, metrics and rules"
)
def item(item_id: int, session: SessionDep, _: ViewerDep) -> ItemOut:
    return item_view(session, item_id, utcnow())


def _utc(moment: dt.datetime | None, name: str) -> dt.datetime | None:
    try:  # an aware time near year 1 or 9999 has no UTC equivalent
        return None if moment is None else moment.astimezone(dt.UTC)
    except OverflowError as exc:
        raise BadRequest(f"{name} is out of range") from exc


def _time_cursor(cursor: str | None) -> dt.datetime | None:
    key = decode_cursor(cursor, 1)
    if key is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(key[0]) if isinstance(key[0], str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise BadRequest("invalid cursor: pass back the next_cursor of the previous page")
    return _utc(moment, "cursor")


@router.get(
    "/item/{item_id}/history",
    response_model=Page[HistoryPointOut],
    summary="A product's score and rank over time, newest first",
)
def item_history(
    item_id: int,
    session: SessionDep,
    _: ViewerDep,
    since: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    until: Annotated[AwareDatetime | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[HistoryPointOut]:
    """Change points: a point is kept when the rank or score moved materially, and once per IST day
    (docs/decisions/0901-score-history.md), so the value holds from one point until the next."""
    start, end = _utc(since, "from"), _utc(until, "to")
    if start is not None and end is not None and start > end:
        raise BadRequest("from must not be after to")
    rows = history.history_page(session, item_id, start, end, limit, _time_cursor(cursor))
    rows, next_cursor = page_of(rows, limit, lambda row: [row.computed_at.isoformat()])
    return Page(items=[HistoryPointOut.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.get("/explain/{item_id}", response_model=ExplainOut, summary="Why a product scores what it does")
def explain_item(item_id: int, request: Request, session: SessionDep, _: ViewerDep) -> ExplainOut:
    model = _model(request, session)
    _row, frame = whatif.product_now(session, item_id)
    result = explain(model, frame)
    return ExplainOut(
        item_id=item_id,
        model_version=result.model_version,
        base_value=result.base_value,
        output=result.output,
        output_space=OUTPUT_SPACE,
        expected_orders=result.expected_orders,
        contributions=[
            ContributionOut(feature=c.feature, label=c.label, value=c.value, shap=c.shap)
            for c in result.contributions
        ],
    )


def _state(point: whatif.Point) -> WhatIfState:
    return WhatIfState(
        price=paise_to_rupees(point.price_paise),
        expected_orders=point.expected_orders,
        expected_gmv=paise_to_rupees(point.expected_gmv_paise),
        score=None if np.isnan(point.score) or point.rank is None else point.score,
        rank=point.rank,
    )


@router.post(
    "/whatif/price", response_model=WhatIfPriceOut, summary="Simulate a new price: demand, GMV and rank"
)
def whatif_price(
    body: WhatIfPriceIn, request: Request, session: SessionDep, settings: SettingsDep, _: MerchandiserDep
) -> WhatIfPriceOut:
    model = _model(request, session)
    ctx = whatif.context(session, model, body.item_id, settings.rank_by)
    current = whatif.current_point(ctx)
    (simulated,) = whatif.simulate(session, ctx, [rupees_to_paise(body.new_price)])
    touching = ctx.effect.rule_ids
    refs = rule_refs(session, set(touching))
    return WhatIfPriceOut(
        item_id=body.item_id,
        model_version=model.version,
        computed_at=ctx.now,
        current=_state(current),
        simulated=_state(simulated),
        rank_change=(
            current.rank - simulated.rank if current.rank is not None and simulated.rank is not None else None
        ),
        rules_considered=[refs[i] for i in sorted(touching) if i in refs],
    )


@router.post(
    "/whatif/price-sweep", response_model=SweepOut, summary="Demand, GMV and rank over a range of prices"
)
def whatif_sweep(
    body: SweepIn, request: Request, session: SessionDep, settings: SettingsDep, _: MerchandiserDep
) -> SweepOut:
    model = _model(request, session)
    ctx = whatif.context(session, model, body.item_id, settings.rank_by)
    if body.prices is not None:
        prices = sorted({rupees_to_paise(p) for p in body.prices})
    else:
        assert body.min is not None
        assert body.max is not None
        assert body.steps is not None
        prices = whatif.price_grid(body.min, body.max, body.steps)
    points = whatif.simulate(session, ctx, prices)
    best = max(points, key=lambda p: (p.expected_gmv_paise, -p.price_paise))
    return SweepOut(
        item_id=body.item_id,
        model_version=model.version,
        points=[
            SweepPoint(
                price=paise_to_rupees(p.price_paise),
                expected_orders=p.expected_orders,
                expected_gmv=paise_to_rupees(p.expected_gmv_paise),
                rank=p.rank,
            )
            for p in points
        ],
        best_price=paise_to_rupees(best.price_paise),
    )


@router.get("/models", response_model=Page[ModelOut], summary="The model registry, newest first")
def list_models(
    session: SessionDep,
    _: ViewerDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[ModelOut]:
    rows = list(registry.list_models(session, limit, decode_id_cursor(cursor)))
    next_cursor = encode_cursor([rows[limit - 1].id]) if len(rows) > limit else None
    return Page(items=[ModelOut.model_validate(r) for r in rows[:limit]], next_cursor=next_cursor)


@router.post("/models/{version}/promote", response_model=ModelOut, summary="Serve this model (admin)")
def promote_model(
    version: str,
    request: Request,
    tasks: BackgroundTasks,
    session: SessionDep,
    principal: AdminDep,
    request_id: RequestIdDep,
) -> ModelOut:
    row = registry.get_model(session, version)
    try:  # refuse before switching: a model that cannot load would leave the old one serving
        registry.read_artifact(Path(row.artifact_path), row.artifact_sha256)
    except registry.ArtifactError as exc:
        raise Conflict(f"model {version} cannot be served: {exc}") from exc
    row = registry.promote(session, principal.actor(request_id), version)
    raise_alert(
        session,
        "model_promoted",
        f"ml:promoted:{version}",
        f"Model {version} now serves (promoted by hand)",
        {"version": version},
        severity="info",
        actor=principal.actor(request_id),
    )
    trigger = getattr(request.app.state, "scoring_trigger", None)
    if callable(trigger):  # runs after the response, so after the promotion committed
        tasks.add_task(trigger)
    return ModelOut.model_validate(row)
