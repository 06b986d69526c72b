from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from resight.catalog.models import Platform, Product
from resight.catalog.service import brands_named, categories_under
from resight.dialect import contains_ignoring_case, not_for_seeking
from resight.errors import NotFound
from resight.events.metrics_service import product_metrics
from resight.india import paise_to_rupees
from resight.ml.models import MlModel, MlScore, ModelStatus
from resight.ml.registry import ModelStore
from resight.ml.schemas import ItemOut, RankedItemOut, RankRequest, RankResponse, RuleRef
from resight.ml.whatif import gmv_paise
from resight.rules.models import Rule


def serving_model_version(session: Session) -> str | None:
    return session.scalar(
        select(MlModel.version)
        .where(MlModel.status == ModelStatus.serving)
        .order_by(MlModel.promoted_at.desc())
        .limit(1)
    )


def last_scored_at(session: Session) -> dt.datetime | None:
    return session.scalar(select(func.max(MlScore.computed_at)))


def model_health(app: Any, session: Session) -> str | None:
    """The model store's problem, if any (checking the registry first); None when all is well."""
    store: ModelStore | None = getattr(app.state, "model_store", None)
    if store is None:
        return None
    store.serving(session)
    return store.problem


def _rupees(paise: int | None) -> Decimal | None:
    return None if paise is None else paise_to_rupees(paise)


def _expected_gmv(score: float, price_paise: int | None) -> Decimal:
    return paise_to_rupees(gmv_paise(score, price_paise or 0))


def rule_refs(session: Session, ids: set[int]) -> dict[int, RuleRef]:
    if not ids:
        return {}
    rules = session.scalars(select(Rule).where(Rule.id.in_(sorted(ids)))).all()
    return {
        r.id: RuleRef(id=r.id, kind=r.kind.value, scope=r.scope.value, scope_value=r.scope_value)
        for r in rules
    }


def _text_match(session: Session, query: str) -> ColumnElement[bool]:
    """A case-insensitive substring of the title, SKU or brand: one scan of the products, a few
    tens of milliseconds at 100,000 on SQLite (bench/bench_rank_search.py)."""
    columns = (Product.title, Product.sku, Product.brand)
    return or_(*(contains_ignoring_case(session, column, query) for column in columns))


RANK_COUNT_CAP = 10_000


@dataclass(frozen=True)
class _RankFilter:
    """A POST /rank filter, its categories and brands resolved to the stored strings they match."""

    marketplace: Platform | None
    categories: list[str] | None
    brands: list[str] | None
    q: str | None

    @classmethod
    def of(cls, session: Session, request: RankRequest) -> _RankFilter:
        return cls(
            marketplace=request.marketplace,
            categories=categories_under(session, request.category) if request.category else None,
            brands=brands_named(session, request.brand) if request.brand else None,
            q=request.q,
        )

    def conditions(self, session: Session, *, seeking: bool = True) -> list[ColumnElement[bool]]:
        """The product conditions. Not `seeking`: none of them may drive the query (the ranking's
        index does: see `_walk_window`)."""

        def column(attribute: InstrumentedAttribute[Any]) -> ColumnElement[Any]:
            return attribute.expression if seeking else not_for_seeking(session, attribute.expression)

        conditions: list[ColumnElement[bool]] = []
        if self.marketplace is not None:
            conditions.append(column(Product.marketplace) == self.marketplace)
        if self.categories is not None:
            conditions.append(column(Product.category).in_(self.categories))
        if self.brands is not None:
            conditions.append(column(Product.brand).in_(self.brands))
        if self.q:
            conditions.append(_text_match(session, self.q))
        return conditions

    def counts_by_index(self) -> bool:
        """Whether every condition is on an indexed column (no text search), so that counting the
        matching products needs their indexes alone."""
        return not self.q


# A walk down the ranking looks this many times further than an even spread of the matches needs.
WALK_SLACK = 4


def _products_matching(session: Session, chosen: _RankFilter, up_to: int) -> int:
    """How many products the filter matches, ranked or not, up to `up_to`: counted on the filter's
    indexes alone, cheaper per match than the ranked count, which reads each match's score."""
    matching = select(Product.id).where(*chosen.conditions(session)).limit(up_to).subquery()
    return int(session.scalar(select(func.count()).select_from(matching)) or 0)


def _walk_window(request: RankRequest, ranked: int, matches: int) -> int | None:
    """How far down the ranking to look for a filtered page (walking it in rank order, testing each
    product), or None to read every match and sort them. Were the matches spread evenly over the
    ranking, the page would end by rank (offset + limit) × ranked ÷ matches; reading visits every
    match. A walk looks WALK_SLACK times as far, and a page it leaves short (a filter whose products
    sit low in the ranking) is read instead."""
    spread = -(-(request.offset + request.limit) * ranked // max(matches, 1))
    return WALK_SLACK * spread if spread < matches else None


def _filtered_page(
    session: Session, request: RankRequest, chosen: _RankFilter, ranked: int, matches: int
) -> list[Any]:
    """The page of a filtered ranking, by a walk down the ranking or by reading every match."""
    joined = select(MlScore, Product).join(Product, Product.id == MlScore.product_id)
    ranked_only = MlScore.rank.is_not(None)
    window = _walk_window(request, ranked, matches)
    if window is not None:
        walk = joined.where(ranked_only, *chosen.conditions(session, seeking=False))
        if window < ranked:
            walk = walk.where(MlScore.rank <= window)
        rows = list(session.execute(walk.order_by(MlScore.rank).offset(request.offset).limit(request.limit)))
        if len(rows) == request.limit or window >= ranked:
            return rows
    read = joined.where(ranked_only, *chosen.conditions(session))
    return list(session.execute(read.order_by(MlScore.rank).offset(request.offset).limit(request.limit)))


def rank_items(session: Session, request: RankRequest) -> RankResponse:
    # Ranks are the positions 1..N of the ranking: N is the last entry of the rank index.
    ranked = int(session.scalar(select(func.max(MlScore.rank))) or 0)
    chosen = _RankFilter.of(session, request)
    conditions = chosen.conditions(session)
    if not conditions:
        total, capped = ranked, False
        # A page of the whole ranking is one seek on the rank index.
        page = (
            select(MlScore, Product)
            .join(Product, Product.id == MlScore.product_id)
            .where(MlScore.rank > request.offset)
            .order_by(MlScore.rank)
            .limit(request.limit)
        )
        rows = list(session.execute(page)) if ranked else []
    else:
        # Counting every match of a broad filter (a marketplace: a third of the catalogue) means
        # visiting every match: count up to a cap and say when there are more.
        matches = (
            select(MlScore.product_id)
            .join(Product, Product.id == MlScore.product_id)
            .where(MlScore.rank.is_not(None), *conditions)
            .limit(RANK_COUNT_CAP + 1)
            .subquery()
        )
        counted = int(session.scalar(select(func.count()).select_from(matches)) or 0)
        total, capped = min(counted, RANK_COUNT_CAP), counted > RANK_COUNT_CAP
        # Past the cap, a walk pays off from isqrt((offset + limit) × ranked) matches on: count the
        # products up to there to know which side the filter is on (~3 ms for 23,000 on SQLite).
        enough = math.isqrt((request.offset + request.limit) * ranked) + 1
        if capped and counted < enough and chosen.counts_by_index():
            counted = max(counted, _products_matching(session, chosen, up_to=enough))
        rows = _filtered_page(session, request, chosen, ranked, counted) if counted else []
    refs = rule_refs(session, {i for score, _ in rows for i in (score.rules_applied or [])})
    items = [
        RankedItemOut(
            id=product.id,
            title=product.title,
            marketplace=product.marketplace,
            category=product.category,
            brand=product.brand,
            score=score.score,
            expected_gmv=_expected_gmv(score.score, product.price_paise),
            rank=score.rank or 0,
            previous_rank=score.previous_rank,
            rank_change=None if score.previous_rank is None else score.previous_rank - (score.rank or 0),
            price=_rupees(product.price_paise),
            stock=product.stock,
            rules_applied=[refs[i] for i in (score.rules_applied or []) if i in refs],
        )
        for score, product in rows
    ]
    latest = session.execute(
        select(MlScore.model_version, MlScore.computed_at).order_by(MlScore.computed_at.desc()).limit(1)
    ).first()
    return RankResponse(
        items=items,
        total=total,
        total_capped=capped,
        model_version=latest[0] if latest else None,
        computed_at=latest[1] if latest else None,
    )


def item_view(session: Session, product_id: int, now: dt.datetime) -> ItemOut:
    product = session.get(Product, product_id)
    if product is None:
        raise NotFound(f"product {product_id} not found")
    score = session.get(MlScore, product_id)
    ids = set(score.rules_applied or []) if score is not None else set()
    refs = rule_refs(session, ids)
    return ItemOut(
        id=product.id,
        title=product.title,
        sku=product.sku,
        marketplace=product.marketplace,
        category=product.category,
        brand=product.brand,
        status=product.status.value,
        price=_rupees(product.price_paise),
        mrp=_rupees(product.mrp_paise),
        stock=product.stock,
        rating=product.rating,
        rating_count=product.rating_count,
        score=score.score if score else None,
        expected_gmv=_expected_gmv(score.score, product.price_paise) if score else None,
        rank=score.rank if score else None,
        previous_rank=score.previous_rank if score else None,
        rank_change=(
            score.previous_rank - score.rank
            if score and score.rank is not None and score.previous_rank is not None
            else None
        ),
        model_version=score.model_version if score else None,
        computed_at=score.computed_at if score else None,
        rules_applied=[refs[i] for i in sorted(ids) if i in refs],
        metrics=product_metrics(session, product_id, now),
    )
