"""Clearance stock and the boost that helps sell it.

A product is clearance stock when it is active, has stock, and either
- its days of cover (stock / average units sold per day over the trailing 7 days) is at least
  MIN_DAYS_OF_COVER, counting no sales in 7 days as unbounded cover; or
- its discount (MRP - price) / MRP is at least MIN_DISCOUNT_PCT.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from resight.audit.service import Actor
from resight.catalog.models import ListingStatus, Product
from resight.catalog.names import normalise_category
from resight.catalog.service import categories_under
from resight.errors import NotFound
from resight.events.models import ProductHourlyMetrics
from resight.rules.models import Rule, RuleKind, RuleScope
from resight.rules.service import active_condition, create_rule

MIN_DAYS_OF_COVER = 90
MIN_DISCOUNT_PCT = 40.0
TRAILING_DAYS = 7
MAX_RULES_PER_CALL = 500
REASON_PREFIX = "[clearance]"


@dataclass(frozen=True)
class ClearanceProduct:
    product_id: int
    stock: int
    units_last_7_days: int
    days_of_cover: float | None  # None: nothing sold, unbounded
    discount_pct: float | None

    def sort_key(self) -> tuple[float, float, int]:
        cover = float("inf") if self.days_of_cover is None else self.days_of_cover
        return (-cover, -(self.discount_pct or 0.0), self.product_id)


def clearance_products(session: Session, now: dt.datetime, category: str | None) -> list[ClearanceProduct]:
    """Clearance stock, most cover first, then deepest discount."""
    if category is not None and not normalise_category(category):
        raise NotFound("category must be a path such as 'Ethnic Wear > Kurtas'")
    since = now - dt.timedelta(days=TRAILING_DAYS)
    sold = (
        select(ProductHourlyMetrics.product_id, func.sum(ProductHourlyMetrics.units).label("units"))
        .where(ProductHourlyMetrics.hour_start >= since, ProductHourlyMetrics.hour_start < now)
        .group_by(ProductHourlyMetrics.product_id)
        .subquery()
    )
    query = (
        select(Product.id, Product.stock, Product.mrp_paise, Product.price_paise, sold.c.units)
        .outerjoin(sold, sold.c.product_id == Product.id)
        .where(Product.status == ListingStatus.active, Product.stock > 0)
    )
    if category is not None:
        stored = categories_under(session, category)  # as rules match categories
        if not stored:
            raise NotFound(f"no product in category {category!r}")
        query = query.where(Product.category.in_(stored))
    found: list[ClearanceProduct] = []
    for row in session.execute(query):
        units = int(row.units or 0)
        cover = None if units <= 0 else row.stock / (units / TRAILING_DAYS)
        discount = None
        if row.mrp_paise and row.price_paise is not None and row.mrp_paise > 0:
            discount = round((row.mrp_paise - row.price_paise) * 100 / row.mrp_paise, 1)
        if (cover is None or cover >= MIN_DAYS_OF_COVER) or (
            discount is not None and discount >= MIN_DISCOUNT_PCT
        ):
            found.append(ClearanceProduct(row.id, row.stock, units, cover, discount))
    found.sort(key=ClearanceProduct.sort_key)
    return found


def boost_clearance(
    session: Session,
    actor: Actor,
    *,
    now: dt.datetime,
    category: str | None,
    strength: float,
    valid_until: dt.datetime | None,
    reason: str,
    created_by: int | None,
) -> tuple[list[Rule], list[ClearanceProduct], list[int], bool]:
    """One product-scope boost per clearance product (at most MAX_RULES_PER_CALL, the most
    overstocked first), skipping products that already have an active clearance boost so that
    calling it twice does not stack boosts. Returns (rules, boosted items, skipped ids, truncated)."""
    products = clearance_products(session, now, category)
    already = set(
        int(value)
        for value in session.scalars(
            select(Rule.scope_value).where(
                Rule.kind == RuleKind.boost,
                Rule.scope == RuleScope.product,
                Rule.reason.startswith(REASON_PREFIX),
                active_condition(now),
            )
        )
    )
    skipped = [p.product_id for p in products if p.product_id in already]
    todo = [p for p in products if p.product_id not in already]
    truncated = len(todo) > MAX_RULES_PER_CALL
    todo = todo[:MAX_RULES_PER_CALL]
    text = f"{REASON_PREFIX} {reason}".strip()
    rules = [
        create_rule(
            session,
            actor,
            {
                "kind": RuleKind.boost,
                "scope": RuleScope.product,
                "scope_value": str(item.product_id),
                "strength": strength,
                "valid_until": valid_until,
                "reason": text,
            },
            created_by,
        )
        for item in todo
    ]
    return rules, todo, skipped, truncated
