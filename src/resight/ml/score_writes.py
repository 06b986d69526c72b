"""Writing a cycle's ScoreTable (ml/warm.py) to ml_scores inside the cycle's transaction.

Only the rows that differ are written: from the scorer's memory of what it wrote (ml/warm.py) or,
in a cycle without memory, from the stored rows read first (`stored_scores`: the same rows are
written either way). They go by one of two paths chosen by their number
(docs/decisions/0602-score-writes.md):

- few rows (the scorer's usual cycles): an executemany upsert;
- many rows (a cycle from scratch, an hour bucket closing, ranks shifting after price changes):
  on SQLite the secondary indexes are dropped, the rows upserted in primary-key order and the
  indexes built again in one sorted pass each (3× less CPU than upserting through them); on
  PostgreSQL the rows are COPYed into a temporary table and upserted from it in one statement
  (dropping an index there would lock readers out until the commit).

On SQLite, a cycle without memory updates the written rows stored with their rank and sort key
already in place instead (`_update_in_place`: those two indexes untouched), unless the other rows
take the bulk path: after a restart that is nearly every row written.

Readers are never blocked: SQLite readers in WAL mode keep their snapshot until the commit, and
PostgreSQL readers see the old row versions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Index, and_, bindparam, case, delete, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.schema import DropIndex

from resight.bulksql import Bulk
from resight.catalog.models import ListingStatus, Product
from resight.events import rollups
from resight.ml.features import Floats, Ints
from resight.ml.models import MlScore
from resight.ml.snapshots import bucket_floor, fetch_raw, packed_columns, unpack_columns
from resight.ml.warm import Bools, ScoreTable, align, same_floats

# SQLite drops and rebuilds the indexes once a cycle writes at least this share of the rows (and
# at least MIN_REBUILD_ROWS): where rebuilding costs what upserting that many rows through the
# indexes costs, measured at 100,000 rows (~15 %) and 1,000,000 rows (~8 %).
REBUILD_SHARE = 0.1
MIN_REBUILD_ROWS = 10_000
# Rows updated in place whose computed_at moves: its index alone is dropped and built again from
# this share of the table (and MIN_REBUILD_ROWS) on: at 1,000,000 rows moving an entry cost
# ~0.9 µs a row, building that index ~0.24 s.
MOMENT_REBUILD_SHARE = 0.3
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


@dataclass(frozen=True)
class StoredScores:
    """ml_scores as stored, sorted by product id, next to what a cycle without memory writes: its
    values, and per row whether model_version is this cycle's, and computed_at this cycle's bucket
    or this very moment. rules_applied only for the rows that have one (decoded)."""

    product_ids: Ints
    scores: Floats
    ranks: Ints  # 0: NULL
    previous: Ints  # 0: NULL
    sort_keys: Floats  # NaN: NULL
    same_version: Bools
    same_bucket: Bools
    same_moment: Bools
    rules: dict[int, Any]

    def compare(self, table: ScoreTable) -> Bools:
        """Per row of `table`: must it be written? Exactly when the scorer's memory would write it
        (ScoreTable.differs_from): a row missing, or any value, model version or bucket differs."""
        if not len(self.product_ids):
            return np.ones(len(table), dtype=bool)
        index, found = align(self.product_ids, table.product_ids)
        same = (
            self._placed(table, index, found)
            & self.same_version[index]
            & self.same_bucket[index]
            & (self.scores[index] == table.scores)
            & (self.previous[index] == table.previous)
        )
        ruled = set(self.rules) | set(table.rules)
        if ruled:
            ids = np.array(sorted(ruled), dtype=np.int64)
            stored = self.rules
            differ = [pid not in stored or stored[pid] != table.rules.get(pid) for pid in ids.tolist()]
            at = _rows_of(table, ids)
            same[at[(at >= 0) & np.array(differ, dtype=bool)]] = False
        write: Bools = ~same
        return write

    def placed(self, table: ScoreTable) -> Bools:
        """Per row of `table`: is it stored with the same rank and sort key already?"""
        if not len(self.product_ids):
            return np.zeros(len(table), dtype=bool)
        return self._placed(table, *align(self.product_ids, table.product_ids))

    def _placed(self, table: ScoreTable, index: npt.NDArray[np.intp], found: Bools) -> Bools:
        placed: Bools = (
            found & (self.ranks[index] == table.ranks) & same_floats(self.sort_keys[index], table.sort_keys)
        )
        return placed


def _rows_of(table: ScoreTable, ids: Ints) -> npt.NDArray[np.intp]:
    """Rows of `table` holding `ids` (ascending): -1 for an id it does not hold, so that indexing
    a mask with the result marks the last row for it; callers keep only rows found."""
    rows = np.minimum(np.searchsorted(table.product_ids, ids), max(len(table) - 1, 0))
    found = (table.product_ids[rows] == ids) if len(table) else np.zeros(len(ids), dtype=bool)
    return np.where(found, rows, -1)


def stored_scores(session: Session, version: str, now: dt.datetime) -> StoredScores | None:
    """Every ml_scores row (`StoredScores`); None if the table changed between the two reads.

    The integers come as packed texts (`snapshots.packed_columns`), the floats as rows (their text
    would not be exact). Only the scorer writes ml_scores, under its lock, so the two reads see
    the same rows; a different number of rows between them (a writer outside the lock) returns
    None and the caller writes every row."""
    c = MlScore.__table__.c
    start = bucket_floor(now)
    bucket = and_(c.computed_at >= start, c.computed_at < start + rollups.BUCKET)
    flags = (
        case((c.model_version == version, 1), else_=0)
        + case((bucket, 2), else_=0)
        + case((c.computed_at == now, 4), else_=0)
        + case((c.sort_key.is_(None), 8), else_=0)
    )
    # The flags ride in the previous rank's text (× 16): a text fewer to build and parse.
    integers = (c.product_id, func.coalesce(c.rank, 0), func.coalesce(c.previous_rank, 0) * 16 + flags)
    rows = fetch_raw(session, select(*packed_columns(session, integers)))
    data = unpack_columns(rows[0] if rows else (None,) * len(integers))
    if len(data) > 1 and not bool(np.all(data[1:, 0] > data[:-1, 0])):
        data = data[np.argsort(data[:, 0], kind="stable")]
    floats = fetch_raw(session, select(c.score, func.coalesce(c.sort_key, 0.0)).order_by(c.product_id))
    if len(floats) != len(data):
        return None
    values = np.fromiter(chain.from_iterable(floats), dtype=np.float64, count=2 * len(floats)).reshape(-1, 2)
    values[(data[:, 2] & 8) == 8, 1] = np.nan  # a NULL sort key
    ruled = session.execute(select(c.product_id, c.rules_applied).where(c.rules_applied.is_not(None)))
    return StoredScores(
        product_ids=data[:, 0].copy(),
        scores=values[:, 0].copy(),
        ranks=data[:, 1].copy(),
        previous=data[:, 2] >> 4,
        sort_keys=values[:, 1].copy(),
        same_version=(data[:, 2] & 1) == 1,
        same_bucket=(data[:, 2] & 2) == 2,
        same_moment=(data[:, 2] & 4) == 4,
        rules={int(pid): rules for pid, rules in ruled},
    )


def write_rows(
    session: Session, table: ScoreTable, write: npt.NDArray[np.bool_], stored: StoredScores | None = None
) -> bool:
    """Upsert the selected rows in plain SQL (SQLAlchemy's per-row parameter processing cost more
    than the database), then set rules_applied on the few written rows that carry rules.
    `stored` (a cycle without memory): ml_scores as read before; on SQLite, written rows stored
    with the same rank and sort key are updated in place (`_update_in_place`) unless the other
    rows take the bulk path. Returns whether the bulk path was taken."""
    index = np.flatnonzero(write)
    if len(index) == 0:
        return False
    bulk = Bulk(session)
    placed = write & stored.placed(table) if stored is not None and bulk.sqlite else None
    moved = write if placed is None else write & ~placed
    many = bulk_write(table, moved, bulk.sqlite)
    # Rows sorted by product id: the upsert walks the table in order.
    if not many:
        if placed is not None and stored is not None and placed.any():
            _update_in_place(session, bulk, table, placed, stored)
            index = np.flatnonzero(moved)
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


def _update_in_place(
    session: Session, bulk: Bulk, table: ScoreTable, rows: Bools, stored: StoredScores
) -> None:
    """SQLite: UPDATE the `rows`, stored with their rank and sort key already, setting every other
    column: each ends as the upsert leaves it, but the rank and sort-key indexes are not touched
    (SQLite rewrites an index entry for a column SET even to its own value). computed_at is set
    only where it moves, and its index dropped and built again when that is many rows.

    Rows whose score is stored too and that carry no rules need no value bound: their previous
    rank is the stored rank (`with_previous`), so runs of them in the table are updated by one
    `previous_rank = rank` statement per run of product ids (the table holds exactly the rows
    `stored` read: only the scorer writes it, under its lock)."""
    index, found = align(stored.product_ids, table.product_ids)
    moment_kept = found & stored.same_moment[index]
    carried = rows & (stored.scores[index] == table.scores)
    for ids in (
        np.array(sorted(stored.rules), dtype=np.int64),
        np.array(sorted(table.rules), dtype=np.int64),
    ):
        at = _rows_of(table, ids)
        carried[at[at >= 0]] = False
    version, computed_at = _sqlite_text(table.version), _sqlite_text(bulk.time(table.computed_at))
    for moves in (False, True):
        selected = rows & (moment_kept != moves)
        if not selected.any():
            continue
        set_at = f", computed_at = {computed_at}" if moves else ""
        count = int(selected.sum())
        many = moves and count >= MIN_REBUILD_ROWS and count >= MOMENT_REBUILD_SHARE * len(table)
        rebuild = {"computed_at"} if many else set()
        with _indexes_dropped(session, rebuild):
            bound = np.flatnonzero(selected & ~carried)
            previous = [r or None for r in table.previous[bound].tolist()]
            bulk.executemany(
                f"UPDATE ml_scores SET score = ?, previous_rank = ?, model_version = {version}, "
                f"rules_applied = NULL{set_at} WHERE product_id = ?",
                list(
                    zip(
                        table.scores[bound].tolist(), previous, table.product_ids[bound].tolist(), strict=True
                    )
                ),
            )
            bulk.executemany(
                f"UPDATE ml_scores SET previous_rank = rank, model_version = {version}, "
                f"rules_applied = NULL{set_at} WHERE product_id BETWEEN ? AND ?",
                _runs(stored.product_ids, index[selected & carried]),
            )


def _runs(ids: Ints, positions: npt.NDArray[np.intp]) -> list[tuple[int, int]]:
    """(first id, last id) of each run of consecutive `positions` in `ids`."""
    marked = np.zeros(len(ids) + 2, dtype=np.int8)
    marked[positions + 1] = 1
    edges = np.diff(marked)
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return list(zip(ids[starts].tolist(), ids[ends].tolist(), strict=True))


def _score_indexes(columns: set[str] | None = None) -> list[Index]:
    """The metadata's Index objects of ml_scores (all, or those on any of `columns`): the ones the
    migrations create (tests/test_migrations.py compares them), so a rebuild cannot change the
    schema."""
    indexes = MlScore.metadata.tables[MlScore.__tablename__].indexes
    chosen = [ix for ix in indexes if columns is None or columns & {c.name for c in ix.columns}]
    return sorted(chosen, key=lambda ix: str(ix.name))


@contextmanager
def _indexes_dropped(session: Session, columns: set[str] | None = None) -> Iterator[None]:
    """SQLite: drop the indexes (all, or on `columns`), then create them again, each in one sorted pass."""
    connection = session.connection()
    indexes = _score_indexes(columns)
    for sql_index in indexes:
        connection.execute(DropIndex(sql_index, if_exists=True))
    yield
    for sql_index in indexes:
        sql_index.create(connection)


def _upsert_around_indexes(
    session: Session, bulk: Bulk, table: ScoreTable, index: npt.NDArray[np.intp]
) -> None:
    """SQLite: drop the secondary indexes, upsert, build them again (each in one sorted pass).

    The model version and computed_at, the same in every row, are written into the statement as
    literals rather than bound for each row (a sixth of the upsert's CPU at 100,000 rows)."""
    version, computed_at = _sqlite_text(table.version), _sqlite_text(bulk.time(table.computed_at))
    upsert = (
        f"INSERT INTO ml_scores ({_VARYING}, model_version, computed_at, rules_applied) "
        f"VALUES (?, ?, ?, ?, ?, {version}, {computed_at}, NULL) "
        f"ON CONFLICT (product_id) DO UPDATE SET {_UPDATE_ALL}"
    )
    rows = list(zip(*_varying(table, index), strict=True))
    with _indexes_dropped(session):
        bulk.executemany(upsert, rows)


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
