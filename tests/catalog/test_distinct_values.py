"""The loose index scan behind POST /rank's category and brand filters."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from resight.catalog.models import Product
from resight.catalog.service import distinct_values
from tests.factories import make_product


def test_distinct_values_lists_each_stored_value_once_in_index_order(db: Session) -> None:
    before = set(distinct_values(db, Product.category))
    for category in ("Home > Lamps", "home > lamps", "Home > Lamps", "", "Apparel", "Apparel > Tops"):
        make_product(db, category=category)
    db.flush()
    found = distinct_values(db, Product.category)
    assert len(found) == len(set(found))  # each once, case variants apart, the empty one too
    assert {"Home > Lamps", "home > lamps", "", "Apparel", "Apparel > Tops"} <= set(found)
    assert set(found) == before | {"Home > Lamps", "home > lamps", "", "Apparel", "Apparel > Tops"}
    assert set(found) == set(db.scalars(select(Product.category).distinct()))
