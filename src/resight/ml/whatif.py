"""What-if on price: re-score one product at other prices and find where it would rank among the
current ranking — one prediction for all the prices, and one statement of index seeks on
ml_scores (two per price), never a re-score of the catalogue.

Honesty: the simulated rank is the rank the next scoring cycle gives when that price is actually
ingested and nothing else changes. That holds because (1) the product is scored as of the current
ranking's computed_at, through the same features and model as the cycle; (2) no other product's
features depend on this product's price (category reference prices are fixed with the model);
(3) its rules are applied by the same engine, and its position follows the engine's order
(adjusted score descending, then product id; pinned products keep their slots).
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from sqlalchemy import TextClause, text
from sqlalchemy.orm import Session

from resight.db import UTCDateTime
from resight.errors import Conflict, NotFound
from resight.ml.features import Floats, RawFrame
from resight.ml.present import current_frame
from resight.ml.registry import LoadedModel
from resight.ml.scoring import RankBy, candidates_of, ranking_key, score_frame
from resight.rules.engine import RuleSpec, apply_rules
from resight.rules.models import RuleKind
from resight.rules.service import active_rule_specs

# Prices placed per statement: one bind parameter each, well under any database's limit.
KEYS_PER_STATEMENT = 100
# Plain statements on ml_scores (ml/models.py MlScore) for the request path: built once, so a
# request pays no query construction.
# Pinned products are the ranked ones without a sort key (a seek on ix_ml_scores_sort_key).
_PINNED_RANKS = text("SELECT rank FROM ml_scores WHERE sort_key IS NULL AND rank IS NOT NULL ORDER BY rank")
_LAST_RANK = text("SELECT max(rank) FROM ml_scores")
_SCORE_ROW = text("SELECT score, rank, sort_key, computed_at FROM ml_scores WHERE product_id = :pid").columns(
    computed_at=UTCDateTime()
)


@dataclass(frozen=True)
class Point:
    price_paise: int
    expected_orders: float
    expected_gmv_paise: int
    score: float  # the ranking key after rules (NaN when removed)
    rank: int | None


@dataclass(frozen=True)
class Scored:
    """A product's row in the current ranking (ml_scores)."""

    product_id: int
    score: float
    rank: int | None
    sort_key: float | None  # None when pinned or removed
    computed_at: dt.datetime

    @property
    def free(self) -> bool:
        """Ranked by its score (not pinned, not removed)."""
        return self.sort_key is not None and self.rank is not None


def product_now(session: Session, product_id: int) -> tuple[Scored, RawFrame]:
    """The product's current score row and its features (one row) as of that score."""
    found = session.execute(_SCORE_ROW, {"pid": product_id}).first()
    if found is None:
        raise NotFound(f"product {product_id} has no score (unknown, inactive, or not scored yet)")
    row = Scored(product_id, float(found.score), found.rank, found.sort_key, found.computed_at)
    frame = current_frame(session, row.computed_at, [product_id])
    if len(frame) != 1:
        raise Conflict(f"product {product_id} is not active, so it is not ranked")
    return row, frame


@dataclass(frozen=True)
class RuleEffect:
    """What the active rules do to this product, whatever its price: the engine's placement (pin,
    removal) does not depend on the score, and its boosts and demotes multiply the score by one
    factor (divide, for a negative score) — rules/engine.py, step 3."""

    removed: bool
    pinned: bool
    factor: float  # the adjusted score of a product whose model score is 1 (1.0: untouched)
    rule_ids: frozenset[int]  # the rules that affect this product's place

    def adjust(self, keys: Floats) -> Floats:
        adjusted: Floats = np.where(keys >= 0, keys * self.factor, keys / self.factor)
        return adjusted


def rule_effect(frame: RawFrame, rules: Sequence[RuleSpec], now: dt.datetime) -> RuleEffect:
    """One run of the engine on this product alone, with a model score of 1."""
    one = np.array([1.0])
    ranking = apply_rules(candidates_of(frame, one), rules, now)
    if len(ranking):
        pinned = bool(ranking.pinned[0])
        return RuleEffect(False, pinned, float(ranking.scores[0]), frozenset(ranking.rule_ids(0)))
    removals = [r for r in rules if r.kind is RuleKind.remove]
    removing = {r.id for r in removals if len(apply_rules(candidates_of(frame, one), [r], now)) == 0}
    return RuleEffect(True, False, 1.0, frozenset(removing))


@dataclass(frozen=True)
class Context:
    model: LoadedModel
    row: Scored
    frame: RawFrame  # this product now (one row)
    effect: RuleEffect
    rank_by: RankBy

    @property
    def product_id(self) -> int:
        return self.row.product_id

    @property
    def now(self) -> dt.datetime:
        return self.row.computed_at


def context(session: Session, model: LoadedModel, product_id: int, rank_by: RankBy) -> Context:
    row, frame = product_now(session, product_id)
    rules = active_rule_specs(session, row.computed_at)
    return Context(model, row, frame, rule_effect(frame, rules, row.computed_at), rank_by)


def simulate(session: Session, ctx: Context, prices_paise: list[int]) -> list[Point]:
    """Every price through one predict call, then one batch of index seeks for the ranks."""
    frame = ctx.frame.take(np.zeros(len(prices_paise), dtype=np.int64))
    rupees = np.asarray(prices_paise, dtype=np.float64) / 100.0  # exactly as the catalogue loader
    expected = score_frame(ctx.model, frame.with_price(rupees))
    keys = ctx.effect.adjust(ranking_key(expected, rupees, ctx.rank_by))
    ranks: list[int | None]
    if ctx.effect.removed:
        ranks = [None] * len(prices_paise)
    elif ctx.effect.pinned:  # a pinned product keeps its slot at any price
        ranks = [ctx.row.rank] * len(prices_paise)
    else:
        ranks = list(Placement.load(session, ctx.row).ranks_for(session, keys.tolist()))
    return [
        Point(
            paise,
            float(expected[i]),
            gmv_paise(expected[i], paise),
            float("nan") if ctx.effect.removed else float(keys[i]),
            ranks[i],
        )
        for i, paise in enumerate(prices_paise)
    ]


def gmv_paise(expected_orders: float, price_paise: int) -> int:
    return int((Decimal(repr(float(expected_orders))) * price_paise).to_integral_value())


@functools.lru_cache(maxsize=KEYS_PER_STATEMENT)
def _first_behind_statement(count: int) -> TextClause:
    """For each key :k<i>, the rank of the first other free product ordered after (key, :pid):
    the next one with an equal key and a higher id, else the lowest id of the next lower key.
    The keys come in as rows of a VALUES list, so the database plans the two seeks once, whatever
    the number of keys (PostgreSQL spends longer planning a hundred subqueries than running them)."""
    keys = ", ".join(f"({i}, CAST(:k{i} AS DOUBLE PRECISION))" for i in range(count))
    return text(
        f"WITH probe(i, k) AS (VALUES {keys}) SELECT probe.i, "
        "(SELECT rank FROM ml_scores WHERE sort_key = probe.k AND product_id > :pid "
        "ORDER BY product_id LIMIT 1), "
        "(SELECT rank FROM ml_scores WHERE sort_key = (SELECT max(sort_key) FROM ml_scores "
        "WHERE sort_key < probe.k AND product_id <> :pid) AND product_id <> :pid "
        "ORDER BY product_id LIMIT 1) "
        "FROM probe ORDER BY probe.i"
    )


@dataclass(frozen=True)
class Placement:
    """Where a free (unpinned) product lands: the current ranking's pinned slots and this product."""

    product_id: int
    own_rank: int | None
    own_free: bool
    pinned: list[int]  # ascending
    last_rank: int

    @staticmethod
    def load(session: Session, row: Scored) -> Placement:
        pinned = session.scalars(_PINNED_RANKS).all()
        last = session.scalar(_LAST_RANK) or 0
        return Placement(row.product_id, row.rank, row.free, [int(p) for p in pinned], int(last))

    def first_behind(self, session: Session, keys: Sequence[float]) -> list[int | None]:
        """Per key: the rank of the first other free product ordered after (key, this id), by
        index seeks on (sort_key, product_id) — two per key, all in one statement."""
        found: list[int | None] = []
        for start in range(0, len(keys), KEYS_PER_STATEMENT):
            chunk = keys[start : start + KEYS_PER_STATEMENT]
            params: dict[str, float | int] = {f"k{i}": float(k) for i, k in enumerate(chunk)}
            params["pid"] = self.product_id
            rows = session.execute(_first_behind_statement(len(chunk)), params).all()
            for _, tied, lower in rows:
                found.append(int(tied) if tied is not None else None if lower is None else int(lower))
        return found

    def rank_behind(self, behind: int | None) -> int:
        """This product's rank when the first other free product behind it has rank `behind`."""
        if behind is not None:
            ahead = behind - 1 - bisect.bisect_left(self.pinned, behind)
            if self.own_free and self.own_rank is not None and self.own_rank < behind:
                ahead -= 1
        else:
            ahead = self.last_rank - len(self.pinned) - (1 if self.own_free else 0)
        slot = ahead + 1
        for p in self.pinned:  # ascending: pinned products keep their slots
            if p <= slot:
                slot += 1
        return slot

    def ranks_for(self, session: Session, keys: Sequence[float]) -> list[int]:
        return [self.rank_behind(behind) for behind in self.first_behind(session, keys)]


def current_point(ctx: Context) -> Point:
    price = ctx.frame.price[0]
    paise = 0 if np.isnan(price) else round(float(price) * 100)
    row = ctx.row
    key = np.nan if row.sort_key is None else float(row.sort_key)
    return Point(paise, row.score, gmv_paise(row.score, paise), key, row.rank)


def price_grid(minimum: Decimal, maximum: Decimal, steps: int) -> list[int]:
    low, high = int(minimum * 100), int(maximum * 100)
    grid: Floats = np.linspace(low, high, steps)
    return sorted({round(v) for v in grid.tolist()})
