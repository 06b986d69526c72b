"""Property tests of the pure engine against the documented semantics (tests/rules/reference.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resight.rules.engine import Candidates, Ranking, RuleSpec, apply_rules
from resight.rules.models import RuleKind, RuleScope
from tests.rules.reference import Product, naive_ranking

NOW = dt.datetime(2026, 10, 20, 12, tzinfo=dt.UTC)
CATEGORIES = [
    "Ethnic Wear",
    "Ethnic Wear > Kurtas",
    "Ethnic Wear > Kurtas > Anarkali",
    "Ethnic Wear > Sarees",
    "Men",
]
RULE_CATEGORIES = [*CATEGORIES, "ethnic wear > KURTAS", "Ethnic", "Women"]
BRANDS = ["Biba", "W", "Libas"]
MARKETPLACES = ["amazon", "myntra", "meesho"]
PROPS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def catalogs(draw: st.DrawFn) -> list[Product]:
    ids = draw(st.lists(st.integers(1, 80), min_size=0, max_size=25, unique=True))
    # Scores from a small set as well, so that ties (broken by product id) are common.
    score = st.one_of(st.sampled_from([0.0, 0.5, 1.0, -1.0]), st.floats(-100, 100, allow_nan=False))
    return [
        Product(
            id=pid,
            score=draw(score),
            marketplace=draw(st.sampled_from(MARKETPLACES)),
            brand=draw(st.sampled_from(BRANDS)),
            category=draw(st.sampled_from(CATEGORIES)),
            in_stock=draw(st.booleans()),
        )
        for pid in ids
    ]


def windows() -> st.SearchStrategy[tuple[dt.datetime | None, dt.datetime | None]]:
    hour = dt.timedelta(hours=1)
    return st.sampled_from(
        [
            (None, None),
            (None, NOW + hour),
            (NOW - hour, None),
            (NOW - 2 * hour, NOW - hour),
            (NOW + hour, None),
        ]
    )


@st.composite
def rule_lists(draw: st.DrawFn, product_ids: list[int], max_size: int = 12) -> list[RuleSpec]:
    """Rules that mostly hit the catalog: product values from its ids, pins mostly near the top."""
    known = st.sampled_from(product_ids).map(str) if product_ids else st.nothing()
    rules = []
    for rule_id in range(1, draw(st.integers(0, max_size)) + 1):
        kind = draw(st.sampled_from(list(RuleKind)))
        scope = RuleScope.product if kind is RuleKind.pin else draw(st.sampled_from(list(RuleScope)))
        value = {
            RuleScope.product: st.one_of(known, known, st.integers(1, 85).map(str)),
            RuleScope.brand: st.sampled_from([*BRANDS, "biba", "Nobody"]),
            RuleScope.category: st.sampled_from(RULE_CATEGORIES),
            RuleScope.marketplace: st.sampled_from([*MARKETPLACES, "AMAZON"]),
        }[scope]
        valid_from, valid_until = draw(windows())
        rules.append(
            RuleSpec(
                id=rule_id,
                kind=kind,
                scope=scope,
                scope_value=draw(value),
                updated_at=NOW - dt.timedelta(minutes=draw(st.integers(0, 5))),
                position=draw(st.one_of(st.integers(1, 6), st.integers(1, 30)))
                if kind is RuleKind.pin
                else None,
                strength=draw(st.floats(0.01, 9)) if kind in (RuleKind.boost, RuleKind.demote) else None,
                priority=draw(st.integers(0, 2)),
                enabled=draw(st.booleans()) if draw(st.booleans()) else True,
                valid_from=valid_from,
                valid_until=valid_until,
            )
        )
    return rules


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Product], list[RuleSpec]]:
    products = draw(catalogs())
    return products, draw(rule_lists([p.id for p in products]))


def candidates_of(products: list[Product]) -> Candidates:
    return Candidates.from_labels(
        [p.id for p in products],
        [p.score for p in products],
        marketplaces=[p.marketplace for p in products],
        brands=[p.brand for p in products],
        categories=[p.category for p in products],
        in_stock=[p.in_stock for p in products],
    )


def rank_of(ranking: Ranking, product_id: int) -> int:
    return int(ranking.ranks_of([product_id])[0])


@PROPS
@given(scenarios())
def test_engine_matches_the_reference(scenario: tuple[list[Product], list[RuleSpec]]) -> None:
    products, rules = scenario
    ranking = apply_rules(candidates_of(products), rules, NOW)
    expected = naive_ranking(products, rules, NOW)
    assert len(ranking) == len(expected)
    assert set(ranking.removed_ids.tolist()) == {p.id for p in products} - {e.product_id for e in expected}
    by_id = {e.product_id: e for e in expected}
    got = {item.product_id: item for item in ranking.items()}
    for pid, entry in by_id.items():
        assert got[pid].pinned == entry.pinned
        assert got[pid].rule_ids == entry.rule_ids
        assert np.isclose(got[pid].score, entry.score, rtol=1e-12, atol=0)
    scores = sorted(e.score for e in expected)
    if all(not np.isclose(a, b, rtol=1e-9, atol=0) for a, b in itertools.pairwise(scores)):
        assert ranking.product_ids.tolist() == [e.product_id for e in expected]
    else:  # near-equal scores: float summation order may differ; pins still must agree
        pinned = [(i, e.product_id) for i, e in enumerate(expected) if e.pinned]
        assert pinned == [(i, int(ranking.product_ids[i])) for i in np.flatnonzero(ranking.pinned).tolist()]
        free = [(-item.score, item.product_id) for item in ranking.items() if not item.pinned]
        assert free == sorted(free)


@PROPS
@given(scenarios())
def test_rule_pairs_agree_with_rule_ids(scenario: tuple[list[Product], list[RuleSpec]]) -> None:
    products, rules = scenario
    ranking = apply_rules(candidates_of(products), rules, NOW)
    positions, rule_ids = ranking.rule_pairs()
    expected = [(i, rule_id) for i in range(len(ranking)) for rule_id in ranking.rule_ids(i)]
    assert list(zip(positions.tolist(), rule_ids.tolist(), strict=True)) == expected


@PROPS
@given(catalogs())
def test_no_rules_gives_the_model_ranking(products: list[Product]) -> None:
    ranking = apply_rules(candidates_of(products), [], NOW)
    expected = sorted(products, key=lambda p: (-p.score, p.id))
    assert ranking.product_ids.tolist() == [p.id for p in expected]
    assert ranking.scores.tolist() == [p.score for p in expected]
    assert all(item.rule_ids == () for item in ranking.items())


@PROPS
@given(scenarios())
def test_expired_future_and_disabled_rules_have_no_effect(
    scenario: tuple[list[Product], list[RuleSpec]],
) -> None:
    products, rules = scenario
    hour = dt.timedelta(hours=1)
    inert = [
        dataclasses.replace(rule, enabled=False)
        if rule.id % 3 == 0
        else dataclasses.replace(rule, valid_from=NOW - 2 * hour, valid_until=NOW)  # ends exactly now
        if rule.id % 3 == 1
        else dataclasses.replace(rule, valid_from=NOW + hour, valid_until=None)
        for rule in rules
    ]
    candidates = candidates_of(products)
    ranking = apply_rules(candidates, inert, NOW)
    plain = apply_rules(candidates, [], NOW)
    assert ranking.product_ids.tolist() == plain.product_ids.tolist()
    assert ranking.scores.tolist() == plain.scores.tolist()
    assert all(item.rule_ids == () for item in ranking.items())


@PROPS
@given(scenarios(), st.data())
def test_a_removed_product_never_appears(
    scenario: tuple[list[Product], list[RuleSpec]], data: st.DataObject
) -> None:
    products, rules = scenario
    if not products:
        return
    target = data.draw(st.sampled_from(products))
    remove = RuleSpec(100, RuleKind.remove, RuleScope.product, str(target.id), NOW, priority=3)
    ranking = apply_rules(candidates_of(products), [*rules, remove], NOW)
    assert target.id not in ranking.product_ids.tolist()
    assert target.id in ranking.removed_ids.tolist()
    # A category-wide remove hides every product in the category and its subcategories.
    wide = RuleSpec(101, RuleKind.remove, RuleScope.category, "Ethnic Wear > Kurtas", NOW, priority=3)
    ranking = apply_rules(candidates_of(products), [*rules, wide], NOW)
    shown = set(ranking.product_ids.tolist())
    assert not {p.id for p in products if p.category.startswith("Ethnic Wear > Kurtas")} & shown


@PROPS
@given(scenarios())
def test_pinned_products_sit_exactly_at_their_position(
    scenario: tuple[list[Product], list[RuleSpec]],
) -> None:
    products, rules = scenario
    ranking = apply_rules(candidates_of(products), rules, NOW)
    pins = {r.id: r for r in rules if r.kind is RuleKind.pin}
    for item in ranking.items():
        if item.pinned:
            (position,) = [pins[i].position for i in item.rule_ids if i in pins]
            assert position is not None
            if position <= len(ranking):
                assert item.rank == position
            else:  # beyond the end: at the end, after every unpinned product
                assert ranking.pinned[item.rank - 1 :].all()


@PROPS
@given(scenarios(), st.data(), st.floats(0.01, 9))
def test_boost_never_worsens_and_demote_never_improves_a_rank(
    scenario: tuple[list[Product], list[RuleSpec]], data: st.DataObject, strength: float
) -> None:
    products, rules = scenario
    if not products:
        return
    target = data.draw(st.sampled_from(products))
    candidates = candidates_of(products)
    before = rank_of(apply_rules(candidates, rules, NOW), target.id)
    boost = RuleSpec(100, RuleKind.boost, RuleScope.product, str(target.id), NOW, strength=strength)
    demote = dataclasses.replace(boost, kind=RuleKind.demote)
    boosted = rank_of(apply_rules(candidates, [*rules, boost], NOW), target.id)
    demoted = rank_of(apply_rules(candidates, [*rules, demote], NOW), target.id)
    if before == 0:  # removed: adjustments cannot bring it back
        assert boosted == demoted == 0
    else:
        assert boosted <= before <= demoted
