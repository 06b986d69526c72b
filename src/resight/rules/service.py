"""Rules: create, change and delete them (each with its audit row), and hand the engine what it
needs: `active_rule_specs(session, now)` and `load_candidates(session, product_ids, scores)`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from resight.audit.service import Actor, record
from resight.catalog.models import ListingStatus, Product
from resight.catalog.names import normalise_category
from resight.db import utcnow
from resight.errors import NotFound, Unprocessable
from resight.rules.candidates import Candidates
from resight.rules.engine import MAX_STRENGTH, RuleSpec
from resight.rules.models import Rule, RuleKind, RuleScope

MARKETPLACES = ("amazon", "myntra", "meesho")
_EDITABLE = ("enabled", "priority", "strength", "position", "valid_from", "valid_until", "reason")


def snapshot(rule: Rule) -> dict[str, Any]:
    """The rule as the audit trail records it."""
    return {
        "kind": rule.kind.value,
        "scope": rule.scope.value,
        "scope_value": rule.scope_value,
        "position": rule.position,
        "strength": rule.strength,
        "priority": rule.priority,
        "enabled": rule.enabled,
        "valid_from": rule.valid_from,
        "valid_until": rule.valid_until,
        "reason": rule.reason,
    }


def spec_of(rule: Rule) -> RuleSpec:
    return RuleSpec(
        id=rule.id,
        kind=rule.kind,
        scope=rule.scope,
        scope_value=rule.scope_value,
        updated_at=rule.updated_at,
        position=rule.position,
        strength=rule.strength,
        priority=rule.priority,
        enabled=rule.enabled,
        valid_from=rule.valid_from,
        valid_until=rule.valid_until,
    )


def active_condition(now: dt.datetime) -> ColumnElement[bool]:
    return (
        Rule.enabled.is_(True)
        & or_(Rule.valid_from.is_(None), Rule.valid_from <= now)
        & or_(Rule.valid_until.is_(None), Rule.valid_until > now)
    )


def active_rule_specs(session: Session, now: dt.datetime) -> list[RuleSpec]:
    """Every rule in effect at `now`, ready for `engine.apply_rules`."""
    return [
        spec_of(rule) for rule in session.scalars(select(Rule).where(active_condition(now)).order_by(Rule.id))
    ]


def load_candidates(session: Session, product_ids: ArrayLike, scores: ArrayLike) -> Candidates:
    """Candidates for these scored products, with marketplace, brand, category and stock from the
    catalog. Ids that are not in the catalog are dropped. A product is in stock when it is active
    and its stock is unknown or positive."""
    ids = np.asarray(product_ids, dtype=np.int64)
    values = np.asarray(scores, dtype=np.float64)
    if ids.shape != values.shape:
        raise ValueError("product_ids and scores must have the same length")
    columns = (
        Product.id,
        Product.marketplace,
        Product.brand,
        Product.category,
        Product.stock,
        Product.status,
    )
    query = select(*columns).order_by(Product.id)
    if len(ids) <= 1000:  # a short list: fetch just those; otherwise one scan beats a huge IN list
        query = query.where(Product.id.in_(ids.tolist()))
    rows = session.execute(query).all()
    catalog_ids = np.fromiter((row.id for row in rows), dtype=np.int64, count=len(rows))
    position = np.searchsorted(catalog_ids, ids)
    found = position < len(catalog_ids)
    found[found] = catalog_ids[position[found]] == ids[found]
    keep = position[found]
    in_stock = np.fromiter(
        (row.status is ListingStatus.active and (row.stock is None or row.stock > 0) for row in rows),
        dtype=np.bool_,
        count=len(rows),
    )
    return Candidates.from_labels(
        ids[found],
        values[found],
        marketplaces=[rows[i].marketplace.value for i in keep.tolist()],
        brands=[rows[i].brand for i in keep.tolist()],
        categories=[rows[i].category for i in keep.tolist()],
        in_stock=in_stock[keep],
    )


def check_rule(session: Session, values: dict[str, Any]) -> None:
    """The checks a rule must pass, with a clear message each; `values` holds every field."""
    kind, scope = RuleKind(values["kind"]), RuleScope(values["scope"])
    scope_value = str(values["scope_value"]).strip()
    if not scope_value:
        raise Unprocessable("scope_value must not be empty")
    if kind is RuleKind.pin:
        if scope is not RuleScope.product:
            raise Unprocessable("a pin applies to one product: use scope 'product'")
        if values.get("position") is None:
            raise Unprocessable("a pin needs a position (1 is the top)")
    elif values.get("position") is not None:
        raise Unprocessable("only pins have a position")
    if kind in (RuleKind.boost, RuleKind.demote):
        strength = values.get("strength")
        if strength is None or not 0 < strength <= MAX_STRENGTH:
            raise Unprocessable(f"a {kind.value} needs a strength with 0 < strength <= {MAX_STRENGTH:g}")
    elif values.get("strength") is not None:
        raise Unprocessable("only boosts and demotes have a strength")
    valid_from, valid_until = values.get("valid_from"), values.get("valid_until")
    if valid_from is not None and valid_until is not None and valid_until <= valid_from:
        raise Unprocessable("valid_until must be after valid_from")
    if scope is RuleScope.product:
        if not scope_value.isdigit():
            raise Unprocessable("a product rule's scope_value is the product id")
        if session.get(Product, int(scope_value)) is None:
            raise Unprocessable(f"product {scope_value} does not exist")
    elif scope is RuleScope.marketplace and scope_value.casefold() not in MARKETPLACES:
        raise Unprocessable(f"unknown marketplace {scope_value!r}: use one of {', '.join(MARKETPLACES)}")
    elif scope is RuleScope.category and not normalise_category(scope_value):
        raise Unprocessable('a category is a path such as "Ethnic Wear > Kurtas"')


def with_defaults(values: dict[str, Any]) -> dict[str, Any]:
    """A new rule's values with the defaults filled in: a pin without a position goes to the top."""
    if RuleKind(values["kind"]) is RuleKind.pin and values.get("position") is None:
        return {**values, "position": 1}
    return values


def _normalised(values: dict[str, Any]) -> dict[str, Any]:
    values = dict(values)
    values["scope_value"] = str(values["scope_value"]).strip()
    if RuleScope(values["scope"]) is RuleScope.product:
        values["scope_value"] = str(int(values["scope_value"]))
    return values


def create_rule(session: Session, actor: Actor, values: dict[str, Any], created_by: int | None) -> Rule:
    values = with_defaults(values)
    check_rule(session, values)
    if values.get("valid_until") is not None and values["valid_until"] <= utcnow():
        raise Unprocessable("valid_until is in the past: the rule would never apply")
    rule = Rule(**_normalised(values), created_by=created_by)
    session.add(rule)
    session.flush()
    record(session, actor, "rule.created", "rule", rule.id, new=snapshot(rule))
    return rule


def get_rule(session: Session, rule_id: int) -> Rule:
    rule = session.get(Rule, rule_id)
    if rule is None:
        raise NotFound(f"rule {rule_id} not found")
    return rule


def update_rule(session: Session, actor: Actor, rule_id: int, changes: dict[str, Any]) -> Rule:
    rule = get_rule(session, rule_id)
    before = snapshot(rule)
    unknown = set(changes) - set(_EDITABLE)
    if unknown:
        raise Unprocessable(f"these fields cannot change: {', '.join(sorted(unknown))}")
    for name in ("enabled", "priority", "reason"):
        if name in changes and changes[name] is None:
            raise Unprocessable(f"{name} cannot be null")
    merged = {**before, **changes}
    check_rule(session, merged)
    for name, value in changes.items():
        setattr(rule, name, value)
    rule.updated_at = utcnow()
    session.flush()
    record(session, actor, "rule.updated", "rule", rule.id, old=before, new=snapshot(rule))
    return rule


def delete_rule(session: Session, actor: Actor, rule_id: int) -> Rule:
    rule = get_rule(session, rule_id)
    before = snapshot(rule)
    session.delete(rule)
    session.flush()
    record(session, actor, "rule.deleted", "rule", rule_id, old=before)
    return rule


def list_rules(
    session: Session,
    *,
    now: dt.datetime,
    kind: RuleKind | None,
    scope: RuleScope | None,
    scope_value: str | None,
    enabled: bool | None,
    active: bool | None,
    before_id: int | None,
    limit: int,
) -> Sequence[Rule]:
    """Newest first."""
    query = select(Rule)
    if kind is not None:
        query = query.where(Rule.kind == kind)
    if scope is not None:
        query = query.where(Rule.scope == scope)
    if scope_value is not None:
        query = query.where(Rule.scope_value == scope_value)
    if enabled is not None:
        query = query.where(Rule.enabled.is_(enabled))
    if active is not None:
        query = query.where(active_condition(now) if active else ~active_condition(now))
    if before_id is not None:
        query = query.where(Rule.id < before_id)
    return session.scalars(query.order_by(Rule.id.desc()).limit(limit)).all()
