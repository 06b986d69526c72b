from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, case, delete, func, select, update
from sqlalchemy.orm import Session

from resight.catalog.models import ListingStatus, Platform, Product
from resight.db import utcnow
from resight.events import kpis
from resight.events.models import ProductStateCounts
from resight.events.segment_reads import Filters, product_counts, product_counts_at
from tests.factories import make_product, make_store


def _counted(session: Session, filters: Filters) -> tuple[int, int]:
    """The definition, counted from products directly."""
    active = func.coalesce(func.sum(case((Product.status == ListingStatus.active, 1), else_=0)), 0)
    oos = func.coalesce(
        func.sum(case((and_(Product.status != ListingStatus.deleted, Product.stock <= 0), 1), else_=0)), 0
    )
    query = select(active, oos)
    if filters.store_id is not None:
        query = query.where(Product.store_id == filters.store_id)
    if filters.marketplace is not None:
        query = query.where(Product.marketplace == filters.marketplace)
    row = session.execute(query).one()
    return int(row[0]), int(row[1])


def test_counts_follow_every_kind_of_product_write(db: Session) -> None:
    amazon, meesho = make_store(db, Platform.amazon), make_store(db, Platform.meesho)
    a = make_product(db, amazon, stock=0)
    b = make_product(db, amazon, stock=None)  # unknown stock is not out of stock
    c = make_product(db, meesho, stock=3, status=ListingStatus.inactive)
    filters = [Filters(store_id=amazon.id), Filters(store_id=meesho.id), Filters(marketplace=Platform.meesho)]

    before_the_test = kpis.ist_midnight(utcnow()) - dt.timedelta(days=2)

    def check() -> None:
        db.flush()
        db.expire_all()
        for f in filters:
            assert product_counts(db, f) == _counted(db, f), f
            # The state history accounts for every change: before the test there was nothing.
            assert product_counts_at(db, f, before_the_test) == (0, 0), f

    check()
    assert product_counts(db, Filters(store_id=amazon.id)) == (2, 1)
    a.stock = 5  # back in stock (ORM update)
    c.stock = -1  # oversold, inactive but listed
    check()
    db.execute(
        update(Product).where(Product.id == b.id).values(status=ListingStatus.deleted, stock=0)
    )  # bulk SQL
    check()
    db.execute(
        update(Product).where(Product.id == a.id).values(store_id=meesho.id, marketplace=Platform.meesho)
    )
    check()
    assert product_counts(db, Filters(store_id=meesho.id)) == (1, 1)
    db.execute(delete(Product).where(Product.id == c.id))
    check()
    assert product_counts(db, Filters(store_id=meesho.id)) == (1, 0)
    a.category = "Footwear"
    check()
    assert product_counts(db, Filters(store_id=meesho.id, category="Footwear")) == (1, 0)
    rows = db.scalars(select(ProductStateCounts).where(ProductStateCounts.store_id == meesho.id)).all()
    assert {row.category for row in rows} >= {"Footwear"}
