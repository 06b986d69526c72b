"""Worked examples of the engine's documented order, conflicts and cap (docs/rules.md)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from resight.rules.engine import STACK_CAP, Candidates, RuleSpec, apply_rules
from resight.rules.models import RuleKind, RuleScope

NOW = dt.datetime(2026, 10, 20, 12, tzinfo=dt.UTC)
EARLIER = NOW - dt.timedelta(days=1)


def catalog(in_stock: list[bool] | None = None) -> Candidates:
    # Model order: 1, 2, 3, 4, 5, 6.
    return Candidates.from_labels(
        [4, 2, 6, 1, 3, 5],
        [0.6, 0.9, 0.1, 1.0, 0.7, 0.3],
        marketplaces=["amazon", "myntra", "amazon", "Amazon", "meesho", "myntra"],
        brands=["W", "Biba", "Biba", "biba ", "Libas", "W"],
        categories=[
            "Ethnic Wear > Kurtas",
            "Ethnic Wear",
            "Ethnic Wearables",
            "Ethnic Wear > Kurtas > Anarkali",
            "Men > Shirts",
            "ethnic wear > kurtas",
        ],
        in_stock=in_stock or [True] * 6,
    )


def rule(rule_id: int, kind: RuleKind, scope: RuleScope, value: str, **fields: object) -> RuleSpec:
    fields.setdefault("updated_at", EARLIER)
    return RuleSpec(id=rule_id, kind=kind, scope=scope, scope_value=value, **fields)  # type: ignore[arg-type]


def order(*rules: RuleSpec, in_stock: list[bool] | None = None) -> list[int]:
    return [int(pid) for pid in apply_rules(catalog(in_stock), list(rules), NOW).product_ids]


def test_model_order_breaks_ties_by_product_id() -> None:
    candidates = Candidates.from_labels(
        [9, 3, 5],
        [1.0, 1.0, 2.0],
        marketplaces=["amazon"] * 3,
        brands=["a"] * 3,
        categories=["x"] * 3,
        in_stock=[True] * 3,
    )
    assert apply_rules(candidates, [], NOW).product_ids.tolist() == [5, 3, 9]


def test_category_scope_covers_subcategories_only() -> None:
    ranking = apply_rules(
        catalog(), [rule(1, RuleKind.remove, RuleScope.category, "Ethnic Wear > KURTAS")], NOW
    )
    assert ranking.product_ids.tolist() == [2, 3, 6]
    assert sorted(ranking.removed_ids.tolist()) == [1, 4, 5]
    # "Ethnic Wear" does not match "Ethnic Wearables".
    assert order(rule(1, RuleKind.remove, RuleScope.category, "ethnic wear")) == [3, 6]


def test_brand_and_marketplace_match_case_insensitively() -> None:
    assert order(rule(1, RuleKind.remove, RuleScope.brand, "BIBA")) == [3, 4, 5]
    assert order(rule(1, RuleKind.remove, RuleScope.marketplace, "amazon")) == [2, 3, 5]


def test_boost_multiplies_and_demote_divides() -> None:
    ranking = apply_rules(
        catalog(),
        [
            rule(1, RuleKind.boost, RuleScope.product, "6", strength=9.0),
            rule(2, RuleKind.demote, RuleScope.product, "1", strength=1.0),
        ],
        NOW,
    )
    assert ranking.product_ids.tolist() == [6, 2, 3, 4, 1, 5]
    items = {item.product_id: item for item in ranking.items()}
    assert items[6].score == pytest.approx(1.0)
    assert items[6].model_score == pytest.approx(0.1)
    assert items[1].score == pytest.approx(0.5)
    assert items[6].rule_ids == (1,)
    assert items[1].rule_ids == (2,)
    assert items[2].rule_ids == ()


def test_boosts_stack_up_to_the_cap() -> None:
    rules = [
        rule(1, RuleKind.boost, RuleScope.product, "6", strength=1.0),
        rule(2, RuleKind.boost, RuleScope.brand, "biba", strength=1.0),
        rule(3, RuleKind.boost, RuleScope.category, "Ethnic Wearables", strength=1.0),
    ]
    item = next(i for i in apply_rules(catalog(), rules, NOW).items() if i.product_id == 6)
    assert item.score == pytest.approx(0.1 * 8)
    assert item.rule_ids == (1, 2, 3)
    rules.append(rule(4, RuleKind.boost, RuleScope.marketplace, "amazon", strength=9.0))
    item = next(i for i in apply_rules(catalog(), rules, NOW).items() if i.product_id == 6)
    assert item.score == pytest.approx(0.1 * STACK_CAP)
    # A demote still applies on top of capped boosts.
    rules.append(rule(5, RuleKind.demote, RuleScope.product, "6", strength=1.0))
    item = next(i for i in apply_rules(catalog(), rules, NOW).items() if i.product_id == 6)
    assert item.score == pytest.approx(0.1 * STACK_CAP / 2)


def test_negative_scores_are_boosted_upwards() -> None:
    candidates = Candidates.from_labels(
        [1, 2],
        [-1.0, -1.5],
        marketplaces=["amazon"] * 2,
        brands=["a"] * 2,
        categories=["x"] * 2,
        in_stock=[True] * 2,
    )
    ranking = apply_rules(candidates, [rule(1, RuleKind.boost, RuleScope.product, "2", strength=1.0)], NOW)
    assert ranking.product_ids.tolist() == [2, 1]
    assert ranking.scores.tolist() == [-0.75, -1.0]


def test_pins_go_last_at_exact_positions() -> None:
    pins = [
        rule(1, RuleKind.pin, RuleScope.product, "6", position=1),
        rule(2, RuleKind.pin, RuleScope.product, "1", position=4),
    ]
    # A boost on 5 cannot move it above the pin at 1.
    boost = rule(3, RuleKind.boost, RuleScope.product, "5", strength=9.0)
    ranking = apply_rules(catalog(), [*pins, boost], NOW)
    assert ranking.product_ids.tolist() == [6, 5, 2, 1, 3, 4]
    assert ranking.pinned.tolist() == [True, False, False, True, False, False]


def test_a_pin_beyond_the_end_goes_to_the_end() -> None:
    assert order(rule(1, RuleKind.pin, RuleScope.product, "1", position=50)) == [2, 3, 4, 5, 6, 1]


def test_an_out_of_stock_pin_leaves_its_slot_to_the_next_item() -> None:
    in_stock = [True, True, False, True, True, True]  # product 6 is out of stock
    ranking = apply_rules(catalog(in_stock), [rule(1, RuleKind.pin, RuleScope.product, "6", position=1)], NOW)
    assert ranking.product_ids.tolist() == [1, 2, 3, 4, 5, 6]
    assert not ranking.pinned.any()
    assert ranking.items()[-1].rule_ids == ()


def test_a_removed_pin_leaves_its_slot() -> None:
    rules = [
        rule(1, RuleKind.pin, RuleScope.product, "6", position=1),
        rule(2, RuleKind.remove, RuleScope.product, "6", priority=1),
    ]
    assert order(*rules) == [1, 2, 3, 4, 5]


def test_conflicts_priority_then_specificity_then_recency() -> None:
    pin = rule(1, RuleKind.pin, RuleScope.product, "6", position=1)
    brand_remove = rule(2, RuleKind.remove, RuleScope.brand, "biba")
    # Same priority: the product scope is more specific than the brand.
    assert order(pin, brand_remove) == [6, 3, 4, 5]
    # A higher priority beats specificity.
    assert order(pin, rule(2, RuleKind.remove, RuleScope.brand, "biba", priority=1)) == [3, 4, 5]
    # A product pin also beats a category-wide remove of the same priority.
    category_remove = rule(3, RuleKind.remove, RuleScope.category, "Ethnic Wearables")
    pin_low = rule(4, RuleKind.pin, RuleScope.product, "3", position=1)
    assert order(pin_low, category_remove)[0] == 3
    # Same priority and scope: the most recently updated wins.
    old = rule(5, RuleKind.pin, RuleScope.product, "5", position=1, updated_at=EARLIER)
    new = rule(6, RuleKind.pin, RuleScope.product, "5", position=3, updated_at=NOW)
    ranking = apply_rules(catalog(), [old, new], NOW)
    assert ranking.product_ids.tolist()[2] == 5
    assert ranking.items()[2].rule_ids == (6,)


def test_specificity_product_brand_category_marketplace() -> None:
    # Pins are product rules, so between brand, category and marketplace rules the order only
    # decides which remove is credited; it is the documented order all the same.
    scopes = [
        rule(1, RuleKind.remove, RuleScope.marketplace, "amazon"),
        rule(2, RuleKind.remove, RuleScope.category, "Ethnic Wear"),
        rule(3, RuleKind.remove, RuleScope.category, "Ethnic Wear > Kurtas"),
        rule(4, RuleKind.remove, RuleScope.brand, "Biba"),
        rule(5, RuleKind.remove, RuleScope.product, "1"),
    ]
    assert [r.id for r in sorted(reversed(scopes), key=RuleSpec.specificity)] == [1, 2, 3, 4, 5]


def test_two_pins_on_one_slot_the_better_one_wins() -> None:
    weak = rule(1, RuleKind.pin, RuleScope.product, "5", position=1)
    strong = rule(2, RuleKind.pin, RuleScope.product, "6", position=1, priority=2)
    ranking = apply_rules(catalog(), [weak, strong], NOW)
    assert ranking.product_ids.tolist() == [6, 1, 2, 3, 4, 5]
    assert ranking.items()[-1].rule_ids == ()  # the losing pin did not touch product 5


def test_rule_windows_are_half_open() -> None:
    remove = rule(
        1, RuleKind.remove, RuleScope.product, "1", valid_from=NOW, valid_until=NOW + dt.timedelta(hours=1)
    )
    assert 1 not in order(remove)
    assert 1 in apply_rules(catalog(), [remove], NOW + dt.timedelta(hours=1)).product_ids.tolist()
    assert 1 in apply_rules(catalog(), [remove], NOW - dt.timedelta(seconds=1)).product_ids.tolist()


def test_rules_for_unknown_products_brands_or_categories_do_nothing() -> None:
    rules = [
        rule(1, RuleKind.remove, RuleScope.product, "999"),
        rule(2, RuleKind.boost, RuleScope.brand, "Nobody", strength=1.0),
        rule(3, RuleKind.pin, RuleScope.product, "998", position=1),
        rule(4, RuleKind.remove, RuleScope.category, "Toys"),
    ]
    assert order(*rules) == [1, 2, 3, 4, 5, 6]


def test_rule_specs_reject_impossible_rules() -> None:
    with pytest.raises(ValueError, match="pin applies to one product"):
        rule(1, RuleKind.pin, RuleScope.brand, "W", position=1)
    with pytest.raises(ValueError, match="position"):
        rule(1, RuleKind.pin, RuleScope.product, "1", position=0)
    with pytest.raises(ValueError, match="strength"):
        rule(1, RuleKind.boost, RuleScope.product, "1", strength=0.0)
    with pytest.raises(ValueError, match="product id"):
        rule(1, RuleKind.remove, RuleScope.product, "abc")


def test_candidates_validate_their_arrays() -> None:
    with pytest.raises(ValueError, match="finite"):
        Candidates.from_labels(
            [1], [math.nan], marketplaces=["amazon"], brands=["a"], categories=["x"], in_stock=[True]
        )
    with pytest.raises(ValueError, match="unique"):
        Candidates.from_labels(
            [2, 1, 2],
            [1, 2, 3],
            marketplaces=["a"] * 3,
            brands=["a"] * 3,
            categories=["x"] * 3,
            in_stock=[True] * 3,
        )


def test_large_catalog_uses_merge_path_and_agrees_with_full_sort() -> None:
    rng = np.random.default_rng(3)
    n = 5000
    candidates = Candidates.from_labels(
        np.arange(1, n + 1),
        rng.random(n),
        marketplaces=["amazon"] * n,
        brands=["a"] * n,
        categories=["x"] * n,
        in_stock=[True] * n,
    )
    rules = [
        rule(i, RuleKind.boost, RuleScope.product, str(i * 7), strength=float(rng.uniform(0.1, 3)))
        for i in range(1, 200)
    ]
    ranking = apply_rules(candidates, rules, NOW)
    expected = np.lexsort(
        (ranking.candidates.product_ids, -np.asarray(ranking.scores)[np.argsort(ranking.candidate_index)])
    )
    assert ranking.candidate_index.tolist() == expected.tolist()
