"""What a proposed rule would do to the current ranking, without saving it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from resight.catalog.models import ListingStatus, Product
from resight.errors import Conflict
from resight.ml.models import MlScore
from resight.rules.engine import Ranking, RuleSpec, apply_rules
from resight.rules.models import RuleKind, RuleScope
from resight.rules.schemas import PreviewOut, RankChange, RankedItemOut
from resight.rules.service import active_rule_specs, check_rule, load_candidates, with_defaults

PROPOSED_RULE_ID = 0


def _items(session: Session, ranking: Ranking, limit: int) -> list[RankedItemOut]:
    items = ranking.items(0, limit)
    rows = session.execute(
        select(Product.id, Product.title).where(Product.id.in_([i.product_id for i in items]))
    )
    titles = {row.id: row.title for row in rows}
    return [
        RankedItemOut(
            rank=item.rank,
            product_id=item.product_id,
            title=titles.get(item.product_id, ""),
            score=item.score,
            model_score=item.model_score,
            pinned=item.pinned,
            rule_ids=list(item.rule_ids),
        )
        for item in items
    ]


def preview_rule(session: Session, values: dict[str, Any], *, limit: int, now: dt.datetime) -> PreviewOut:
    """The top `limit` before and after adding the proposed rule to the rules active now.

    It ranks the products of the latest scoring cycle (ml_scores) by their current scores; with no
    scores yet there is no ranking to preview, which is a 409."""
    values = with_defaults(values)
    check_rule(session, values)
    rows = session.execute(
        select(MlScore.product_id, MlScore.score)
        .join(Product, Product.id == MlScore.product_id)
        .where(Product.status != ListingStatus.deleted)
        .order_by(MlScore.product_id)
    ).all()
    if not rows:
        raise Conflict(
            "no model scores yet: preview needs a scoring cycle to have run (train and serve a model first)"
        )
    candidates = load_candidates(
        session,
        np.fromiter((row.product_id for row in rows), dtype=np.int64, count=len(rows)),
        np.fromiter((row.score for row in rows), dtype=np.float64, count=len(rows)),
    )
    rules = active_rule_specs(session, now)
    proposed = RuleSpec(
        id=PROPOSED_RULE_ID,
        kind=RuleKind(values["kind"]),
        scope=RuleScope(values["scope"]),
        scope_value=str(values["scope_value"]).strip(),
        updated_at=now,
        position=values.get("position"),
        strength=values.get("strength"),
        priority=values.get("priority", 0),
        enabled=values.get("enabled", True),
        valid_from=values.get("valid_from"),
        valid_until=values.get("valid_until"),
    )
    before = apply_rules(candidates, rules, now)
    after = apply_rules(candidates, [*rules, proposed], now)
    shown = sorted(
        {int(pid) for pid in before.product_ids[:limit]} | {int(pid) for pid in after.product_ids[:limit]}
    )
    ranks_before, ranks_after = before.ranks_of(shown), after.ranks_of(shown)
    changes = [
        RankChange(product_id=pid, rank_before=int(b) or None, rank_after=int(a) or None)
        for pid, b, a in zip(shown, ranks_before.tolist(), ranks_after.tolist(), strict=True)
        if b != a
    ]
    changes.sort(key=lambda change: (change.rank_after or 10**9, change.product_id))
    return PreviewOut(
        before=_items(session, before, limit),
        after=_items(session, after, limit),
        changes=changes,
        removed=len(after.removed_ids),
    )
