"""The hash chain: `verify_chain` and `resight audit verify` find an altered row, a row removed
from the middle and a row removed from the end, and name the first broken link (on SQLite, and on
PostgreSQL when RESIGHT_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from resight.audit.models import AuditChainHead, AuditLog
from resight.audit.service import (
    GENESIS_HASH,
    SYSTEM,
    Actor,
    AuditEntry,
    record,
    record_many,
    verify_chain,
)
from resight.cli import app
from resight.db import make_engine, make_session_factory, transaction
from tests.conftest import own_migrated_database

cli = CliRunner()


def _append(session: Session, count: int) -> list[int]:
    actor = Actor("user", "1", "asha", request_id="r1")
    rows = [
        record(session, actor if i % 2 else SYSTEM, "rule.updated", "rule", i, old={"p": i}, new={"p": i + 1})
        for i in range(count)
    ]
    return [row.seq for row in rows]


def test_an_untouched_chain_verifies(db: Session) -> None:
    _append(db, 5)
    assert verify_chain(db, batch_size=2) is None


def test_batched_appends_extend_the_same_chain(db: Session) -> None:
    _append(db, 2)
    record_many(db, [AuditEntry(SYSTEM, "delivery.processed", "delivery", i, new={"n": i}) for i in range(3)])
    _append(db, 1)
    assert verify_chain(db) is None
    last = db.scalars(select(AuditLog).order_by(AuditLog.seq.desc()).limit(1)).one()
    db.execute(update(AuditLog).where(AuditLog.seq == last.seq - 2).values(entity_id="forged"))
    broken = verify_chain(db)
    assert broken is not None
    assert broken.seq == last.seq - 2


def test_an_altered_row_breaks_the_chain_there(db: Session) -> None:
    seqs = _append(db, 5)
    db.execute(update(AuditLog).where(AuditLog.seq == seqs[2]).values(new_value={"p": 999}))
    broken = verify_chain(db, batch_size=2)
    assert broken is not None
    assert broken.seq == seqs[2]
    assert "altered" in broken.reason


def test_a_recomputed_hash_still_breaks_the_next_link(db: Session) -> None:
    seqs = _append(db, 4)
    # A forger who also rewrites the row's own hash breaks the following row's prev_hash.
    db.execute(update(AuditLog).where(AuditLog.seq == seqs[1]).values(hash="f" * 64))
    broken = verify_chain(db)
    assert broken is not None
    assert broken.seq == seqs[1]


def test_a_deleted_middle_row_is_named(db: Session) -> None:
    seqs = _append(db, 5)
    db.execute(delete(AuditLog).where(AuditLog.seq == seqs[2]))
    broken = verify_chain(db)
    assert broken is not None
    assert broken.seq == seqs[2]
    assert "missing" in broken.reason


def test_a_deleted_last_row_is_detected(db: Session) -> None:
    seqs = _append(db, 5)
    db.execute(delete(AuditLog).where(AuditLog.seq == seqs[-1]))
    broken = verify_chain(db)
    assert broken is not None
    assert broken.seq == seqs[-1]
    assert "missing" in broken.reason


@pytest.fixture(scope="module")
def cli_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database of this module's own (a trail committed by the tests must not reach
    the rest of the run): a SQLite file, or a fresh PostgreSQL database under
    RESIGHT_TEST_DATABASE_URL, so that `resight audit verify` is tested on both."""
    with own_migrated_database(tmp_path_factory.mktemp("cli") / "audit.db") as (url, _engine):
        yield url


@pytest.fixture
def cli_db(cli_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A fresh committed trail of 6 rows that the `resight` command reads through DATABASE_URL."""
    monkeypatch.setenv("DATABASE_URL", cli_url)
    monkeypatch.chdir(tmp_path)
    engine = make_engine(cli_url)
    with engine.begin() as conn:
        conn.execute(delete(AuditLog))
        conn.execute(update(AuditChainHead).values(seq=0, last_hash=GENESIS_HASH))
    with transaction(make_session_factory(engine)) as session:
        _append(session, 6)
    yield engine
    engine.dispose()


def _verify() -> tuple[int, str]:
    result = cli.invoke(app, ["audit", "verify"])
    return result.exit_code, result.output


def _tamper(engine: Engine, statement: object) -> None:
    with engine.begin() as conn:
        conn.execute(statement)  # type: ignore[call-overload]


def test_cli_verify_intact(cli_db: Engine) -> None:
    expected = "postgresql" if os.environ.get("RESIGHT_TEST_DATABASE_URL") else "sqlite"
    assert cli_db.dialect.name == expected
    code, output = _verify()
    assert code == 0, output
    assert "intact" in output


def test_cli_verify_altered_row(cli_db: Engine) -> None:
    _tamper(cli_db, update(AuditLog).where(AuditLog.seq == 3).values(actor_name="mallory"))
    code, output = _verify()
    assert code == 1
    assert "broken at seq 3" in output
    assert "altered" in output


def test_cli_verify_deleted_middle_row(cli_db: Engine) -> None:
    _tamper(cli_db, delete(AuditLog).where(AuditLog.seq == 4))
    code, output = _verify()
    assert code == 1
    assert "broken at seq 4" in output
    assert "missing" in output


def test_cli_verify_deleted_last_row(cli_db: Engine) -> None:
    _tamper(cli_db, delete(AuditLog).where(AuditLog.seq == 6))
    code, output = _verify()
    assert code == 1
    assert "broken at seq 6" in output
    assert "missing" in output
