"""One scoring cycle: features of every active product → predict → rules → rank → ml_scores.

Score meaning: expected orders in the next 24 hours (the model's Poisson mean). The ranking is by
expected GMV = expected orders × selling price (RESIGHT_RANK_BY=orders ranks by orders instead),
then adjusted by the merchandising rules (rules/engine.py). All products go through in one
vectorised pass and are written in one bulk upsert; `previous_rank` keeps the last cycle's rank.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from resight.catalog.models import ListingStatus, Product
from resight.dialect import upsert_insert
from resight.ml.features import Floats, RawFrame, encode
from resight.ml.models import MlScore
from resight.ml.registry import LoadedModel
from resight.ml.snapshots import current_frame, fetch_raw
from resight.rules.candidates import normalise_category, normalise_key
from resight.rules.engine import Candidates, Ranking, apply_rules
from resight.rules.service import active_rule_specs

RankBy = Literal["gmv", "orders"]


@dataclass(frozen=True)
class CycleResult:
    model_version: str
    computed_at: dt.datetime
    scored: int
    ranked: int
    removed: int
    changed_ids: list[int]  # products whose rank moved (capped; for the realtime hub)


def ranking_key(expected_orders: Floats, price_rupees: Floats, rank_by: RankBy) -> Floats:
    """What the ranking orders by before rules: expected GMV (₹) or expected orders."""
    if rank_by == "orders":
        return expected_orders
    key: Floats = np.where(np.isnan(price_rupees), 0.0, expected_orders * price_rupees)
    return key


def in_stock(frame: RawFrame) -> np.ndarray:
    return np.isnan(frame.stock) | (frame.stock > 0)


def _factorise(values: np.ndarray, normalise: Callable[[str], str]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Codes into a vocabulary of normalised labels; Python touches each distinct label once."""
    uniques, inverse = np.unique(values.astype(str), return_inverse=True)
    index: dict[str, int] = {}
    remap = np.array([index.setdefault(normalise(str(u)), len(index)) for u in uniques], dtype=np.int32)
    codes = remap[inverse.reshape(-1)] if len(values) else np.empty(0, dtype=np.int32)
    return codes, tuple(index)


def candidates_of(frame: RawFrame, keys: Floats) -> Candidates:
    """The rules engine's input, factorised with the engine's own normalisation of labels."""
    marketplace_codes, marketplaces = _factorise(frame.marketplace, normalise_key)
    brand_codes, brands = _factorise(frame.brand, normalise_key)
    category_codes, categories = _factorise(frame.category, normalise_category)
    return Candidates(
        product_ids=frame.product_id,
        scores=np.asarray(keys, dtype=np.float64),
        in_stock=in_stock(frame),
        marketplace_codes=marketplace_codes,
        marketplaces=marketplaces,
        brand_codes=brand_codes,
        brands=brands,
        category_codes=category_codes,
        categories=categories,
    )


def touched_rules(ranking: Ranking) -> dict[int, list[int]]:
    """Rules per ranked product, for the products whose place a rule changed (pinned, or a score
    moved by a boost or demote) — checking only those keeps this off the per-product path."""
    touched = ranking.pinned | (ranking.scores != ranking.model_scores)
    positions, rule_ids = ranking.rule_pairs()  # sorted by position, then rule id
    keep = touched[positions]
    positions, rule_ids = positions[keep], rule_ids[keep]
    if positions.size == 0:
        return {}
    starts = np.flatnonzero(np.r_[True, positions[1:] != positions[:-1]])
    bounds = np.r_[starts, positions.size].tolist()
    ids = rule_ids.tolist()
    product_ids = ranking.product_ids[positions[starts]].tolist()
    return {product_id: ids[bounds[k] : bounds[k + 1]] for k, product_id in enumerate(product_ids)}


def score_frame(model: LoadedModel, frame: RawFrame) -> Floats:
    return model.predict(encode(frame, model.spec))


def run_cycle(
    session: Session,
    model: LoadedModel,
    now: dt.datetime,
    rank_by: RankBy = "gmv",
    timings: dict[str, float] | None = None,
) -> CycleResult:
    """One cycle in the caller's transaction (it only flushes). `timings`, if given, receives the
    seconds spent in each stage (features, predict, rules, persist)."""
    clock = _Stopwatch(timings)
    frame = current_frame(session, now)
    x = encode(frame, model.spec)
    clock.lap("features")
    expected = model.predict(x)
    clock.lap("predict")
    keys = ranking_key(expected, frame.price, rank_by)
    ranking = apply_rules(candidates_of(frame, keys), active_rule_specs(session, now), now)
    clock.lap("rules")
    changed = persist(session, model.version, now, frame.product_id, expected, ranking)
    session.flush()
    clock.lap("persist")
    return CycleResult(
        model_version=model.version,
        computed_at=now,
        scored=len(frame),
        ranked=len(ranking),
        removed=len(ranking.removed_ids),
        changed_ids=changed,
    )


class _Stopwatch:
    def __init__(self, timings: dict[str, float] | None) -> None:
        self._timings = timings
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        if self._timings is not None:
            self._timings[stage] = self._timings.get(stage, 0.0) + now - self._last
        self._last = now


def persist(
    session: Session,
    version: str,
    now: dt.datetime,
    product_ids: np.ndarray,
    expected: Floats,
    ranking: Ranking,
) -> list[int]:
    """Rewrite ml_scores in one bulk upsert; returns up to 1,000 products whose rank changed."""
    order = np.argsort(product_ids)
    sorted_ids = product_ids[order]
    rank_of = np.zeros(len(product_ids), dtype=np.int64)
    rank_of[np.searchsorted(sorted_ids, ranking.product_ids)] = np.arange(1, len(ranking) + 1)
    sort_key = np.full(len(product_ids), np.nan)
    free = ~ranking.pinned
    sort_key[np.searchsorted(sorted_ids, ranking.product_ids[free])] = ranking.scores[free]
    rules = touched_rules(ranking)
    previous: dict[int, int | None] = dict(fetch_raw(session, select(MlScore.product_id, MlScore.rank)))
    ids_list = sorted_ids.tolist()
    ranks_list = [r if r > 0 else None for r in rank_of.tolist()]
    keys_list = [None if k != k else k for k in sort_key.tolist()]
    scores_list = expected[order].tolist()
    rows = [
        {
            "product_id": pid,
            "score": score,
            "rank": rank,
            "previous_rank": previous.get(pid),
            "model_version": version,
            "computed_at": now,
            "sort_key": key,
        }
        for pid, score, rank, key in zip(ids_list, scores_list, ranks_list, keys_list, strict=True)
    ]
    table = MlScore.__table__
    statement = upsert_insert(session, table)  # type: ignore[arg-type]
    statement = statement.on_conflict_do_update(
        index_elements=["product_id"],
        set_={
            name: getattr(statement.excluded, name)
            for name in (
                "score",
                "rank",
                "previous_rank",
                "model_version",
                "computed_at",
                "sort_key",
                "rules_applied",
            )
        },
    )
    if rows:
        session.execute(statement, rows)
    if rules:  # few products carry rules: set theirs apart, so the bulk rows need no JSON
        table_c = MlScore.__table__.c
        session.execute(
            update(MlScore.__table__)  # type: ignore[arg-type]
            .where(table_c.product_id == bindparam("pid"))
            .values(rules_applied=bindparam("ids")),
            [{"pid": pid, "ids": ids} for pid, ids in rules.items()],
        )
    # Products no longer active leave the ranking.
    session.execute(
        delete(MlScore).where(
            MlScore.product_id.in_(select(Product.id).where(Product.status != ListingStatus.active))
        )
    )
    changed = [row["product_id"] for row in rows if row["rank"] != row["previous_rank"]]
    return changed[:1000]
