"""Product state counts across real commits: many products of one segment in one transaction,
reads inside the writing transaction, rollbacks and savepoints.
On PostgreSQL the products trigger appends deltas that are folded once per transaction (migration
events_0006); on SQLite it updates the counts in place. Either way the counts are exact."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from resight.catalog.models import ListingStatus, Platform, Product
from resight.db import make_session_factory
from resight.events.models import ProductStateChanges, ProductStateCountDelta, ProductStateCounts
from resight.events.segment_reads import Filters, product_counts
from tests.conftest import own_migrated_database
from tests.events.test_product_counts import _counted
from tests.factories import make_product, make_store

MANY = 1_500


@pytest.fixture
def committing(tmp_path: Path) -> Iterator[Engine]:
    with own_migrated_database(tmp_path / "counts.db") as (_url, engine):
        yield engine


def _stored(session: Session, store_id: int) -> tuple[int, int]:
    """What product_state_counts holds, read as it is (no fold)."""
    row = session.execute(
        select(
            func.coalesce(func.sum(ProductStateCounts.active), 0),
            func.coalesce(func.sum(ProductStateCounts.out_of_stock), 0),
        ).where(ProductStateCounts.store_id == store_id)
    ).one()
    return int(row[0]), int(row[1])


def _pending(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(ProductStateCountDelta)) or 0)


def test_many_products_in_one_transaction_leave_exact_counts_and_history(committing: Engine) -> None:
    factory = make_session_factory(committing)
    with factory() as session:
        store = make_store(session, Platform.myntra)
        for i in range(MANY):
            make_product(session, store, category="Women > Kurtas", stock=i % 3)
        filters = Filters(store_id=store.id)
        # Read inside the writing transaction, then write more, then read again.
        assert product_counts(session, filters) == _counted(session, filters) == (MANY, MANY // 3)
        session.execute(
            update(Product).where(Product.store_id == store.id, Product.stock == 1).values(stock=0)
        )
        session.execute(
            update(Product)
            .where(Product.store_id == store.id, Product.stock == 2)
            .values(status=ListingStatus.deleted)
        )
        assert product_counts(session, filters) == _counted(session, filters)
        expected = _counted(session, filters)
        session.commit()
        store_id = store.id
    with factory() as session:
        assert _pending(session) == 0  # folded at commit
        assert _stored(session, store_id) == expected == product_counts(session, Filters(store_id=store_id))
        # The history of the counts adds up to them: every change of this transaction recorded.
        changes = session.execute(
            select(func.sum(ProductStateChanges.active), func.sum(ProductStateChanges.out_of_stock)).where(
                ProductStateChanges.store_id == store_id
            )
        ).one()
        assert (int(changes[0]), int(changes[1])) == expected


def test_rollbacks_and_savepoints_leave_no_trace(committing: Engine) -> None:
    factory = make_session_factory(committing)
    with factory() as session:
        store = make_store(session, Platform.amazon)
        for _ in range(10):
            make_product(session, store, category="Footwear", stock=0)
        session.commit()
        store_id = store.id
    with factory() as session:
        for _ in range(50):
            make_product(session, session.get_one(type(store), store_id), category="Footwear", stock=0)
        assert product_counts(session, Filters(store_id=store_id)) == (60, 60)
        session.rollback()
    with factory() as session:
        assert _pending(session) == 0
        assert _stored(session, store_id) == (10, 10)
        saved = session.begin_nested()
        session.execute(update(Product).where(Product.store_id == store_id).values(stock=5))
        assert product_counts(session, Filters(store_id=store_id)) == (10, 0)  # folded in the savepoint
        saved.rollback()
        make_product(session, session.get_one(type(store), store_id), category="Footwear", stock=3)
        session.commit()
    with factory() as session:
        assert _pending(session) == 0
        assert _stored(session, store_id) == (11, 10) == _counted(session, Filters(store_id=store_id))
