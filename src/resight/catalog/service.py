from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from resight.catalog.models import Platform, Product
from resight.catalog.names import CATEGORY_SEPARATOR, normalise_category, normalise_key
from resight.dialect import escape_like
from resight.errors import NotFound


def get_product(session: Session, product_id: int) -> Product:
    product = session.get(Product, product_id)
    if product is None:
        raise NotFound(f"product {product_id} not found")
    return product


def distinct_values(session: Session, column: InstrumentedAttribute[str]) -> list[str]:
    """Every distinct value of an indexed column of products, in index order, found by one index
    seek per value (a loose index scan: the next value is the smallest above the last). SELECT
    DISTINCT would read every entry: 60 categories of 1,000,000 products cost ~60 seeks instead.
    The column must lead an index, or each seek becomes a scan."""
    seen = select(func.min(column).label("value")).cte("seen", recursive=True)
    above = select(func.min(column)).where(column > seen.c.value).scalar_subquery()
    seen = seen.union_all(select(above).where(seen.c.value.is_not(None)))
    return list(session.scalars(select(seen.c.value).where(seen.c.value.is_not(None))))


def categories_under(session: Session, path: str) -> list[str]:
    """The stored category strings at `path` or below it, compared as rules compare them (case and
    spacing around " > " ignored): found among the distinct categories, then matched exactly, so
    that a filter seeks the category index instead of testing every product (decision 0603)."""
    target = normalise_category(path)
    below = target + CATEGORY_SEPARATOR
    return [
        stored
        for stored in distinct_values(session, Product.category)
        if (normalised := normalise_category(stored)) == target or normalised.startswith(below)
    ]


def brands_named(session: Session, brand: str) -> list[str]:
    """The stored spellings of a brand (case and outer spaces ignored, as rules compare brands)."""
    wanted = normalise_key(brand)
    return [stored for stored in distinct_values(session, Product.brand) if normalise_key(stored) == wanted]


def list_products(
    session: Session,
    *,
    store_id: int | None = None,
    marketplace: Platform | None = None,
    sku: str | None = None,
    category: str | None = None,
    q: str | None = None,
    after_id: int | None = None,
    limit: int,
) -> list[Product]:
    """Products by id; `category` matches the category and its subcategories."""
    query = select(Product).order_by(Product.id).limit(limit)
    if store_id is not None:
        query = query.where(Product.store_id == store_id)
    if marketplace is not None:
        query = query.where(Product.marketplace == marketplace)
    if sku is not None:
        query = query.where(Product.sku == sku)
    if category is not None and normalise_category(category):
        query = query.where(Product.category.in_(categories_under(session, category)))
    if q:
        pattern = "%" + escape_like(q.lower()) + "%"
        query = query.where(
            or_(
                func.lower(Product.title).like(pattern, escape="\\"),
                func.lower(Product.brand).like(pattern, escape="\\"),
                func.lower(Product.sku).like(pattern, escape="\\"),
                func.lower(Product.external_id).like(pattern, escape="\\"),
            )
        )
    if after_id is not None:
        query = query.where(Product.id > after_id)
    return list(session.scalars(query))
