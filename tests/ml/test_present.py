"""Reading every active product and its window sums (ml/present.py): with the rollups read on a
second connection beside the products, or after them on one, the arrays are the same; a session
that has written reads alone, so it sees its own writes."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session, sessionmaker

from resight.catalog.models import Product, Store
from resight.db import make_engine, make_session_factory, reader_beside, transaction
from resight.events.alerts import resolve_alert
from resight.events.models import ProductHourlyMetrics
from resight.ml import present
from resight.ml.registry import serving_row
from resight.ml.snapshots import Catalogue, bucket_floor
from resight.ml.worker import MODEL_KEY
from tests.conftest import own_migrated_database
from tests.factories import make_product
from tests.ml.world import build_world

HOUR = dt.timedelta(hours=1)


@dataclasses.dataclass
class Committed:
    engine: Engine
    factory: sessionmaker[Session]
    moment: dt.datetime


@pytest.fixture
def committed(tmp_path: Path) -> Iterator[Committed]:
    """A world committed to a database of its own: a second connection sees it."""
    with own_migrated_database(tmp_path / "present.db") as (_url, engine):
        factory = make_session_factory(engine)
        with transaction(factory) as session:
            world = build_world(session, n=40)
        yield Committed(engine, factory, bucket_floor(world.end + 20 * dt.timedelta(minutes=1)))


def _read(factory: sessionmaker[Session], moment: dt.datetime) -> tuple[Catalogue, np.ndarray]:
    with factory() as session:
        return present.read_active(session, moment)


def _same(left: tuple[Catalogue, np.ndarray], right: tuple[Catalogue, np.ndarray]) -> None:
    for field in dataclasses.fields(Catalogue):
        a, b = getattr(left[0], field.name), getattr(right[0], field.name)
        if a.dtype.kind == "f":
            assert np.array_equal(a, b, equal_nan=True), field.name
        else:
            assert a.tolist() == b.tolist(), field.name
    assert np.array_equal(left[1], right[1])


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each read_active got a reader beside it."""
    used: list[bool] = []

    def spying(session: Session) -> Session | None:
        reader = reader_beside(session)
        used.append(reader is not None)
        return reader

    monkeypatch.setattr(present, "reader_beside", spying)
    return used


def test_reading_beside_gives_what_reading_after_gives(
    committed: Committed, monkeypatch: pytest.MonkeyPatch
) -> None:
    used = _spy(monkeypatch)
    after = _read(committed.factory, committed.moment)  # 40 products: under BESIDE_FROM
    monkeypatch.setattr(present, "BESIDE_FROM", 1)
    beside = _read(committed.factory, committed.moment)
    assert used == [True]  # the small catalogue did not ask for a reader
    assert len(after[0].product_id) == 40
    assert after[1][:, -1].sum() > 0  # a week of activity
    _same(beside, after)


def test_a_product_added_between_the_two_reads_gets_its_own_sums(
    committed: Committed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rollups are read for the id range known before the products are read; a product
    committed in between lies past it and is summed from its own rows."""
    monkeypatch.setattr(present, "BESIDE_FROM", 1)
    used = _spy(monkeypatch)
    real_load = present.load_catalogue
    added: list[int] = []

    def load_after_a_commit(session: Session, *args: Any, **kwargs: Any) -> Catalogue:
        with transaction(committed.factory) as other:
            store = other.scalars(select(Store)).first()
            product = make_product(other, store)
            other.execute(
                insert(ProductHourlyMetrics),
                [
                    {"product_id": product.id, "hour_start": committed.moment - n * HOUR, "views": 7 * n}
                    for n in (1, 3, 30)
                ],
            )
            added.append(product.id)
        return real_load(session, *args, **kwargs)

    monkeypatch.setattr(present, "load_catalogue", load_after_a_commit)
    beside = _read(committed.factory, committed.moment)
    monkeypatch.setattr(present, "load_catalogue", real_load)
    monkeypatch.setattr(present, "BESIDE_FROM", 10**9)
    after = _read(committed.factory, committed.moment)
    assert used == [True]  # the second read did not ask for a reader
    assert beside[0].product_id[-1] == added[0]
    assert beside[1][-1, :, 0].tolist() == [7, 28, 238]  # views over 1 h, 24 h, 7 d
    _same(beside, after)


def test_a_session_that_wrote_reads_alone_and_sees_its_writes(
    committed: Committed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(present, "BESIDE_FROM", 1)
    used = _spy(monkeypatch)
    with committed.factory() as session:
        product = make_product(session, session.scalars(select(Store)).first())  # flushed, not committed
        session.execute(
            insert(ProductHourlyMetrics),
            [{"product_id": product.id, "hour_start": committed.moment - HOUR, "views": 5}],
        )
        frame = present.current_frame(session, committed.moment)
        assert frame.product_id[-1] == product.id
        session.rollback()
    assert used == [False]
    with committed.factory() as session:
        assert session.get(Product, product.id) is None


def test_reader_beside_is_a_connection_of_its_own(committed: Committed) -> None:
    with committed.factory() as session:
        reader = reader_beside(session)
        assert reader is not None
        with reader:
            assert reader.connection().connection.dbapi_connection is not (
                session.connection().connection.dbapi_connection
            )
            assert reader.scalar(select(Product.id).limit(1)) is not None
        session.add(Product(store_id=1, marketplace="amazon", sku="x", title="t", brand="b", category="c"))
        assert reader_beside(session) is None  # pending, not yet flushed


def test_the_scorers_steps_before_a_cycle_leave_reading_beside_possible(committed: Committed) -> None:
    """The worker reads the serving model and resolves its model alert (none open) in the cycle's
    transaction before the features: neither writes, so its reload still reads beside."""
    with committed.factory() as session:
        assert serving_row(session) is None
        assert resolve_alert(session, MODEL_KEY) is None
        reader = reader_beside(session)
        assert reader is not None
        reader.close()


def test_no_reader_beside_on_an_in_memory_database() -> None:
    engine = make_engine("sqlite://")
    try:
        with make_session_factory(engine)() as session:
            assert reader_beside(session) is None
    finally:
        engine.dispose()
