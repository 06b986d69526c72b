"""The least a scoring cycle that changes every score can spend writing them on SQLite.

A cycle from scratch, and the scorer's cycle when an IST hour closes (the hour is a feature, so every
prediction moves), change every product's score, and ml_scores must then hold the new rows. The floor
here is a table of ml_scores' columns with only the index POST /rank pages by (rank) — no history,
no other index, no rules, no foreign key — written with the project's SQLite settings (db.py) by
plain executemany in one transaction, committed. Whatever ReSight's own write costs on top is its
overhead; this part is SQLite's (docs/decisions/0604-scoring-cycle-floor.md).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from resight.db import make_engine

_COLUMNS = (
    "product_id INTEGER PRIMARY KEY, score REAL, rank INTEGER, previous_rank INTEGER, "
    "sort_key REAL, model_version TEXT, computed_at TEXT"
)


def persist_floor(products: int, workdir: Path) -> tuple[float, float]:
    """(seconds to write every row into an empty table, seconds to rewrite every row of a full
    one), each with the rank index built and the transaction committed."""
    engine = make_engine(f"sqlite:///{workdir / f'floor{products}.db'}")
    raw = engine.raw_connection()
    try:
        connection = raw.driver_connection
        connection.isolation_level = None  # explicit BEGIN / COMMIT below
        connection.execute(f"CREATE TABLE scores ({_COLUMNS})")
        rng = np.random.default_rng(products)
        scores = rng.random(products)
        ranks = np.empty(products, dtype=np.int64)
        ranks[np.argsort(-scores, kind="stable")] = np.arange(1, products + 1)
        ids = range(1, products + 1)
        rows = list(zip(ids, scores.tolist(), ranks.tolist(), ranks.tolist(), scores.tolist(), strict=True))

        started = time.perf_counter()
        connection.execute("BEGIN")
        connection.executemany(
            "INSERT INTO scores VALUES (?, ?, ?, ?, ?, 'v1', '2026-11-29 04:00:00.000000')", rows
        )
        connection.execute("CREATE INDEX ix_scores_rank ON scores (rank)")
        connection.execute("COMMIT")
        insert_seconds = time.perf_counter() - started

        moved = (scores * 1.01).tolist()
        updates = list(zip(moved, ranks.tolist(), moved, ids, strict=True))
        started = time.perf_counter()
        connection.execute("BEGIN")
        # As score_writes does for many rows: the index dropped, rows rewritten, the index built.
        connection.execute("DROP INDEX ix_scores_rank")
        connection.executemany(
            "UPDATE scores SET score = ?, previous_rank = rank, rank = ?, sort_key = ?, "
            "computed_at = '2026-11-29 05:00:00.000000' WHERE product_id = ?",
            updates,
        )
        connection.execute("CREATE INDEX ix_scores_rank ON scores (rank)")
        connection.execute("COMMIT")
        rewrite_seconds = time.perf_counter() - started
        (count,) = connection.execute(
            "SELECT count(*) FROM scores WHERE computed_at = '2026-11-29 05:00:00.000000'"
        ).fetchone()
        assert count == products, (count, products)
    finally:
        raw.close()
        engine.dispose()
    return insert_seconds, rewrite_seconds
