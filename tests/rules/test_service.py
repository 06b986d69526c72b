from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from sqlalchemy.orm import Session

from resight.catalog.models import ListingStatus, Platform
from resight.db import utcnow
from resight.rules.models import Rule, RuleKind, RuleScope
from resight.rules.service import active_rule_specs, load_candidates
from tests.factories import make_product, make_store


@pytest.mark.parametrize("padding", [0, 1200])  # a short id list, and one long enough to scan the catalog
def test_load_candidates_reads_the_catalog(db: Session, padding: int) -> None:
    store = make_store(db, Platform.myntra)
    a = make_product(db, store, brand="Libas", category="Ethnic Wear > Kurtas", stock=4)
    b = make_product(db, store, brand="W", category="Ethnic Wear", stock=0)
    c = make_product(db, store, stock=None)
    d = make_product(db, store, stock=9, status=ListingStatus.inactive)
    missing = np.arange(10**9, 10**9 + padding, dtype=np.int64)
    ids = np.concatenate([[d.id, c.id, 999_999_999, b.id, a.id], missing])
    candidates = load_candidates(db, ids, np.arange(len(ids), dtype=np.float64))
    assert candidates.product_ids.tolist() == sorted([a.id, b.id, c.id, d.id])
    by_id = dict(zip(candidates.product_ids.tolist(), candidates.in_stock.tolist(), strict=True))
    assert by_id == {a.id: True, b.id: False, c.id: True, d.id: False}
    scores = dict(zip(candidates.product_ids.tolist(), candidates.scores.tolist(), strict=True))
    assert scores == {d.id: 0.0, c.id: 1.0, b.id: 3.0, a.id: 4.0}
    index = int(candidates.index_of([a.id])[0])
    assert candidates.brands[candidates.brand_codes[index]] == "libas"
    assert candidates.categories[candidates.category_codes[index]] == "ethnic wear > kurtas"
    assert candidates.marketplaces[candidates.marketplace_codes[index]] == "myntra"


def test_active_rule_specs_keeps_only_rules_in_effect(db: Session) -> None:
    now = utcnow()
    hour = dt.timedelta(hours=1)
    product = make_product(db)

    def add(**fields: object) -> Rule:
        rule = Rule(kind=RuleKind.remove, scope=RuleScope.product, scope_value=str(product.id), **fields)
        db.add(rule)
        db.flush()
        return rule

    live = [add(), add(valid_from=now - hour, valid_until=now + hour), add(valid_until=now + hour)]
    add(enabled=False)
    add(valid_until=now)  # ends exactly now
    add(valid_from=now + hour)
    specs = [spec for spec in active_rule_specs(db, now) if spec.scope_value == str(product.id)]
    assert [spec.id for spec in specs] == [rule.id for rule in live]
    assert all(spec.is_active(now) for spec in specs)
    assert specs[1].valid_until == now + hour
