"""The scoring cycle's per-product rule lists come from one vectorised pass; they must equal the
engine's per-entry definition (Ranking.rule_ids) for every product a rule moved."""

from __future__ import annotations

from resight.ml.scoring import touched_rules
from resight.rules.engine import apply_rules
from resight.rules.models import RuleKind, RuleScope
from tests.rules.test_engine import NOW, catalog, rule


def test_touched_rules_equal_the_per_entry_definition() -> None:
    rules = [
        rule(1, RuleKind.boost, RuleScope.brand, "biba", strength=0.5),
        rule(2, RuleKind.demote, RuleScope.marketplace, "myntra", strength=1.0),
        rule(3, RuleKind.boost, RuleScope.category, "Ethnic Wear", strength=0.2),
        rule(4, RuleKind.pin, RuleScope.product, "3", position=1),
        rule(5, RuleKind.remove, RuleScope.product, "6"),
    ]
    ranking = apply_rules(catalog(), rules, NOW)
    expected = {
        int(ranking.product_ids[i]): list(ranking.rule_ids(i))
        for i in range(len(ranking))
        if ranking.pinned[i] or ranking.scores[i] != ranking.model_scores[i]
    }
    assert expected  # the rules above move several products
    assert touched_rules(ranking) == expected
    assert touched_rules(apply_rules(catalog(), [], NOW)) == {}
