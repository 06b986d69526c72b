"""What-if on price: re-score one product at other prices and find where it would rank among the
current ranking — one prediction plus a few index seeks, never a re-score of the catalogue.

Honesty: the simulated rank is the rank the next scoring cycle gives when that price is actually
ingested and nothing else changes. That holds because (1) the product is scored as of the current
ranking's computed_at, through the same features and model as the cycle; (2) no other product's
features depend on this product's price (category reference prices are fixed with the model);
(3) its rules are applied by the same engine, and its position follows the engine's order
(adjusted score descending, then product id; pinned products keep their slots).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from resight.errors import Conflict, NotFound
from resight.ml.features import Floats, RawFrame
from resight.ml.models import MlScore
from resight.ml.registry import LoadedModel
from resight.ml.scoring import RankBy, candidates_of, ranking_key, score_frame
from resight.ml.snapshots import current_frame
from resight.rules.engine import RuleSpec, apply_rules
from resight.rules.models import RuleKind
from resight.rules.service import active_rule_specs


@dataclass(frozen=True)
class Point:
    price_paise: int
    expected_orders: float
    expected_gmv_paise: int
    score: float  # the ranking key after rules (None-like NaN when removed)
    rank: int | None


@dataclass(frozen=True)
class Context:
    model: LoadedModel
    row: MlScore
    frame: RawFrame  # this product now (one row)
    rules: list[RuleSpec]
    now: dt.datetime
    rank_by: RankBy

    @property
    def product_id(self) -> int:
        return int(self.row.product_id)


def context(session: Session, model: LoadedModel, product_id: int, rank_by: RankBy) -> Context:
    row = session.get(MlScore, product_id)
    if row is None:
        raise NotFound(f"product {product_id} has no score (unknown, inactive, or not scored yet)")
    frame = current_frame(session, row.computed_at, [product_id])
    if len(frame) != 1:
        raise Conflict(f"product {product_id} is not active, so it is not ranked")
    return Context(model, row, frame, active_rule_specs(session, row.computed_at), row.computed_at, rank_by)


def simulate(session: Session, ctx: Context, prices_paise: list[int]) -> list[Point]:
    frame = ctx.frame.take(np.zeros(len(prices_paise), dtype=np.int64))
    rupees = np.asarray(prices_paise, dtype=np.float64) / 100.0  # exactly as the catalogue loader
    frame = frame.with_price(rupees)
    expected = score_frame(ctx.model, frame)
    keys = ranking_key(expected, rupees, ctx.rank_by)
    placement = Placement.load(session, ctx)
    touched = rules_touching(ctx)
    points = []
    for i, paise in enumerate(prices_paise):
        if touched:
            ranking = apply_rules(
                candidates_of(frame.take(np.array([i])), keys[i : i + 1]), ctx.rules, ctx.now
            )
            removed, pinned = len(ranking) == 0, bool(len(ranking) and ranking.pinned[0])
            score = float(ranking.scores[0]) if len(ranking) else float("nan")
        else:  # no rule touches this product: the engine would keep its score as it is
            removed, pinned, score = False, False, float(keys[i])
        if removed:
            rank = None
        elif pinned:
            rank = ctx.row.rank
        else:
            rank = placement.rank_for(session, score)
        points.append(Point(paise, float(expected[i]), gmv_paise(expected[i], paise), score, rank))
    return points


def gmv_paise(expected_orders: float, price_paise: int) -> int:
    return int((Decimal(repr(float(expected_orders))) * price_paise).to_integral_value())


@dataclass(frozen=True)
class Placement:
    """Where a free (unpinned) product lands: the current ranking's pinned slots and this product."""

    product_id: int
    own_rank: int | None
    own_free: bool
    pinned: list[int]
    last_rank: int

    @staticmethod
    def load(session: Session, ctx: Context) -> Placement:
        pinned = sorted(
            int(rank)
            for rank in session.scalars(
                select(MlScore.rank).where(MlScore.sort_key.is_(None), MlScore.rank.is_not(None))
            ).all()
            if rank is not None
        )
        last = session.scalar(select(func.max(MlScore.rank))) or 0
        row = ctx.row
        free = row.sort_key is not None and row.rank is not None
        return Placement(ctx.product_id, row.rank, free, pinned, int(last))

    def _first_behind(self, session: Session, key: float) -> int | None:
        """Rank of the first other free product ordered after (key, this id), by index seeks."""
        tied = session.scalar(
            select(MlScore.rank)
            .where(MlScore.sort_key == key, MlScore.product_id > self.product_id)
            .order_by(MlScore.product_id)
            .limit(1)
        )
        if tied is not None:
            return int(tied)
        below = key
        for _ in range(2):  # the next lower key may belong to this product alone
            lower = session.scalar(select(func.max(MlScore.sort_key)).where(MlScore.sort_key < below))
            if lower is None:
                return None
            found = session.scalar(
                select(MlScore.rank)
                .where(MlScore.sort_key == lower, MlScore.product_id != self.product_id)
                .order_by(MlScore.product_id)
                .limit(1)
            )
            if found is not None:
                return int(found)
            below = lower
        return None

    def rank_for(self, session: Session, key: float) -> int:
        behind = self._first_behind(session, key)
        if behind is not None:
            ahead = behind - 1 - sum(1 for p in self.pinned if p < behind)
            if self.own_free and self.own_rank is not None and self.own_rank < behind:
                ahead -= 1
        else:
            ahead = self.last_rank - len(self.pinned) - (1 if self.own_free else 0)
        slot = ahead + 1
        for p in self.pinned:  # ascending: pinned products keep their slots
            if p <= slot:
                slot += 1
        return slot


def rules_touching(ctx: Context) -> set[int]:
    """The active rules that affect this product's place: its pin, boosts, demotes, or removal."""
    key = np.array([1.0])
    ranking = apply_rules(candidates_of(ctx.frame, key), ctx.rules, ctx.now)
    if len(ranking):
        return set(ranking.rule_ids(0))
    removals = [r for r in ctx.rules if r.kind is RuleKind.remove]
    return {r.id for r in removals if len(apply_rules(candidates_of(ctx.frame, key), [r], ctx.now)) == 0}


def current_point(ctx: Context) -> Point:
    price = ctx.frame.price[0]
    paise = 0 if np.isnan(price) else round(float(price) * 100)
    row = ctx.row
    return Point(
        paise, float(row.score), gmv_paise(row.score, paise), float(row.sort_key or np.nan), row.rank
    )


def price_grid(minimum: Decimal, maximum: Decimal, steps: int) -> list[int]:
    low, high = int(minimum * 100), int(maximum * 100)
    grid: Floats = np.linspace(low, high, steps)
    return sorted({round(v) for v in grid.tolist()})
