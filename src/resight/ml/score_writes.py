"""Writing a cycle's ScoreTable (ml/warm.py) to ml_scores inside the cycle's transaction.

Only the rows that differ are written (all of them from scratch), by one of two paths chosen by
their number (docs/decisions/0602-score-writes.md):

- few rows (the scorer's usual cycles): an executemany upsert;
- many rows (a cycle from scratch, an hour bucket closing, ranks shifting after price changes):
  on SQLite the secondary indexes are dropped, the rows upserted in primary-key order and the
  indexes built again in one sorted pass each (3× less CPU than upserting through them); on
  PostgreSQL the rows are COPYed into a temporary table and upserted from it in one statement
  (dropping an index there would lock readers out until the commit).

Readers are never blocked: SQLite readers in WAL mode keep their snapshot until the commit, and
PostgreSQL readers see the old row versions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session
from sqlalchemy.schema import DropIndex

from resight.bulksql import Bulk
from resight.catalog.models import ListingStatus, Product
from resight.ml.models import MlScore
from resight.ml.warm import ScoreTable

# SQLite drops and rebuilds the indexes once a cycle writes at least this share of the rows (and
# at least MIN_REBUILD_ROWS): where rebuilding costs what upserting that many rows through the
# indexes costs, measured at 100,000 rows (~15 %) and 1,000,000 rows (~8 %).
REBUILD_SHARE = 0.1
MIN_REBUILD_ROWS = 10_000
# PostgreSQL's COPY path costs less than an executemany upsert from a couple of thousand rows on.
MIN_COPY_ROWS = 2_000

_VARYING = "product_id, score, rank, previous_rank, sort_key"
_COLUMNS = f"{_VARYING}, model_version, computed_at"
_INSERT = f"INSERT INTO ml_scores ({_COLUMNS}, rules_applied) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)"
_UPDATE_ALL = (
    "score = excluded.score, rank = excluded.rank, previous_rank = excluded.previous_rank, "
    "model_version = excluded.model_version, computed_at = excluded.computed_at, "
    "sort_key = excluded.sort_key, rules_applied = NULL"
)
_UPSERT = f"{_INSERT} ON CONFLICT (product_id) DO UPDATE SET {_UPDATE_ALL}"
_INCOMING = "ml_scores_incoming"  # PostgreSQL's temporary table for the COPY


def bulk_write(table: ScoreTable, write: npt.NDArray[np.bool_], sqlite: bool) -> bool:
    """Whether this cycle writes enough rows to take the bulk path."""
    count = int(write.sum())
    if not sqlite:
        return count >= MIN_COPY_ROWS
    return count >= MIN_REBUILD_ROWS and count >= REBUILD_SHARE * len(table)


def write_rows(session: Session, table: ScoreTable, write: npt.NDArray[np.bool_]) -> bool:
    """Upsert the selected rows in plain SQL (SQLAlchemy's per-row parameter processing cost more
    than the database), then set rules_applied on the few written rows that carry rules.
    Returns whether the bulk path was taken."""
    index = np.flatnonzero(write)
    if len(index) == 0:
        return False
    bulk = Bulk(session)
    many = bulk_write(table, write, bulk.sqlite)
    # Rows sorted by product id: the upsert walks the table in order.
    if not many:
        bulk.executemany(_UPSERT, _rows(bulk, table, index))
    elif bulk.sqlite:
        _upsert_around_indexes(session, bulk, table, index)
    else:
        _copy_upsert(session.connection().connection.driver_connection, _rows(bulk, table, index))
    ruled = np.array(sorted(table.rules), dtype=np.int64)
    at = np.minimum(np.searchsorted(table.product_ids, ruled), len(table) - 1)
    written = (table.product_ids[at] == ruled) & write[at]
    _set_rules(session, {pid: table.rules[pid] for pid in ruled[written].tolist()})
    return many


def delete_rows(session: Session, product_ids: list[int]) -> None:
    for start in range(0, len(product_ids), 10_000):  # below SQLite's limit on bound parameters
        chunk = product_ids[start : start + 10_000]
        session.execute(delete(MlScore).where(MlScore.product_id.in_(chunk)))


def delete_inactive(session: Session) -> None:
    """Products no longer active leave the ranking."""
    session.execute(
        delete(MlScore).where(
            MlScore.product_id.in_(select(Product.id).where(Product.status != ListingStatus.active))
        )
    )


def _rows(bulk: Bulk, table: ScoreTable, index: npt.NDArray[np.intp]) -> list[tuple[Any, ...]]:
    computed_at = bulk.time(table.computed_at)
    count = len(index)
    return list(zip(*_varying(table, index), [table.version] * count, [computed_at] * count, strict=True))


def _varying(table: ScoreTable, index: npt.NDArray[np.intp]) -> tuple[list[Any], ...]:
    """The columns that vary by row, in _VARYING's order (0 and NaN as NULL)."""
    ranks = [r or None for r in table.ranks[index].tolist()]
    previous = [r or None for r in table.previous[index].tolist()]
    keys = [None if k != k else k for k in table.sort_keys[index].tolist()]
    return table.product_ids[index].tolist(), table.scores[index].tolist(), ranks, previous, keys


def _upsert_around_indexes(
    session: Session, bulk: Bulk, table: ScoreTable, index: npt.NDArray[np.intp]
) -> None:
    """SQLite: drop the secondary indexes, upsert, build them again (each in one sorted pass).

    The model version and computed_at, the same in every row, are written into the statement as
    literals rather than bound for each row (a sixth of the upsert's CPU at 100,000 rows)."""
    connection = session.connection()
    version, computed_at = _sqlite_text(table.version), _sqlite_text(bulk.time(table.computed_at))
    upsert = (
        f"INSERT INTO ml_scores ({_VARYING}, model_version, computed_at, rules_applied) "
        f"VALUES (?, ?, ?, ?, ?, {version}, {computed_at}, NULL) "
        f"ON CONFLICT (product_id) DO UPDATE SET {_UPDATE_ALL}"
    )
    rows = list(zip(*_varying(table, index), strict=True))
    # The metadata's Index objects rather than names spelled here: the ones the migrations
    # create (tests/test_migrations.py compares them), so a rebuild cannot change the schema.
    indexes = sorted(MlScore.metadata.tables[MlScore.__tablename__].indexes, key=lambda ix: str(ix.name))
    for sql_index in indexes:
        connection.execute(DropIndex(sql_index, if_exists=True))
    bulk.executemany(upsert, rows)
    for sql_index in indexes:
        sql_index.create(connection)


def _sqlite_text(value: str) -> str:
    """A string literal for SQLite (a quote doubled inside it)."""
    return "'" + value.replace("'", "''") + "'"


def _copy_upsert(driver: Any, rows: list[tuple[Any, ...]]) -> None:
    """PostgreSQL: COPY into a temporary table, then one INSERT … ON CONFLICT from it (half the
    time of an executemany upsert at 100,000 rows, a third of its client CPU)."""
    with driver.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {_INCOMING} (LIKE ml_scores INCLUDING DEFAULTS) ON COMMIT DROP"
        )
        with cursor.copy(f"COPY {_INCOMING} ({_COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO ml_scores ({_COLUMNS}) SELECT {_COLUMNS} FROM {_INCOMING} "
            f"ORDER BY product_id ON CONFLICT (product_id) DO UPDATE SET {_UPDATE_ALL}"
        )
        # Dropped now, not at the commit: a test's transaction (savepoints) may run more cycles.
        cursor.execute(f"DROP TABLE {_INCOMING}")


def _set_rules(session: Session, rules: dict[int, list[int]]) -> None:
    if not rules:
        return
    columns = MlScore.__table__.c
    session.execute(
        update(MlScore.__table__)  # type: ignore[arg-type]
        .where(columns.product_id == bindparam("pid"))
        .values(rules_applied=bindparam("ids")),
        [{"pid": pid, "ids": ids} for pid, ids in rules.items()],
    )
