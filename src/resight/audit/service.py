"""The audit trail: one row per state change, written in the change's own transaction,
chained by SHA-256 so that an edited or deleted row is detectable."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import BigInteger, ColumnElement, Table, bindparam, select, update
from sqlalchemy.orm import Session

from resight.audit.models import AuditChainHead, AuditLog
from resight.bulksql import Bulk
from resight.db import utcnow

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class Actor:
    """Who did it: a user (via a session or API token), a store (a delivery), or the system."""

    type: str
    id: str | None
    name: str | None = None
    request_id: str | None = None


SYSTEM = Actor(type="system", id=None, name="resight")


def _encode_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    return str(value)


def _jsonable(value: Any) -> Any:
    """The value exactly as the JSON column will give it back, so the hash can be recomputed."""
    if value is None:
        return None
    return json.loads(json.dumps(value, default=_encode_default))


def row_hash(
    *,
    seq: int,
    prev_hash: str,
    actor_type: str,
    actor_id: str | None,
    actor_name: str | None,
    action: str,
    entity_type: str,
    entity_id: str | None,
    old_value: Any,
    new_value: Any,
    request_id: str | None,
    created_at: dt.datetime,
) -> str:
    content = {
        "seq": seq,
        "prev": prev_hash,
        "actor": [actor_type, actor_id, actor_name],
        "action": action,
        "entity": [entity_type, entity_id],
        "old": old_value,
        "new": new_value,
        "request_id": request_id,
        "at": created_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
    }
    encoded = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode()).hexdigest()


def record(
    session: Session,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: str | int | None,
    *,
    old: Any = None,
    new: Any = None,
) -> AuditLog:
    # Bumping the head row takes its lock (a row lock on PostgreSQL, the write lock on SQLite)
    # until commit, so concurrent appenders queue and each sees its predecessor's hash.
    session.execute(update(AuditChainHead).where(AuditChainHead.id == 1).values(seq=AuditChainHead.seq + 1))
    head = session.execute(
        select(AuditChainHead.seq, AuditChainHead.last_hash).where(AuditChainHead.id == 1)
    ).one()
    created_at = utcnow()
    old_value, new_value = _jsonable(old), _jsonable(new)
    entity = None if entity_id is None else str(entity_id)
    digest = row_hash(
        seq=head.seq,
        prev_hash=head.last_hash,
        actor_type=actor.type,
        actor_id=actor.id,
        actor_name=actor.name,
        action=action,
        entity_type=entity_type,
        entity_id=entity,
        old_value=old_value,
        new_value=new_value,
        request_id=actor.request_id,
        created_at=created_at,
    )
    row = AuditLog(
        seq=head.seq,
        actor_type=actor.type,
        actor_id=actor.id,
        actor_name=actor.name,
        action=action,
        entity_type=entity_type,
        entity_id=entity,
        old_value=old_value,
        new_value=new_value,
        request_id=actor.request_id,
        created_at=created_at,
        prev_hash=head.last_hash,
        hash=digest,
    )
    session.add(row)
    session.execute(update(AuditChainHead).where(AuditChainHead.id == 1).values(last_hash=digest))
    session.flush()
    return row


@dataclass(frozen=True)
class AuditEntry:
    actor: Actor
    action: str
    entity_type: str
    entity_id: str | int | None
    old: Any = None
    new: Any = None


# Built once (record_many runs on the ingestion hot path). Bumping the head takes its lock.
_HEAD = cast(Table, AuditChainHead.__table__)
_BUMP_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == 1)
    .values(seq=_HEAD.c.seq + bindparam("n", type_=BigInteger))
    .returning(_HEAD.c.seq, _HEAD.c.last_hash)
)
_SET_LAST_HASH = update(_HEAD).where(_HEAD.c.id == 1).values(last_hash=bindparam("last_hash"))


_INSERT_COLUMNS = (
    "seq",
    "actor_type",
    "actor_id",
    "actor_name",
    "action",
    "entity_type",
    "entity_id",
    "old_value",
    "new_value",
    "request_id",
    "created_at",
    "prev_hash",
    "hash",
)


def _insert_sql(sqlite: bool) -> str:
    json_value = "?" if sqlite else "CAST(? AS json)"  # PostgreSQL: JSON text into a json column
    slots = [json_value if name in ("old_value", "new_value") else "?" for name in _INSERT_COLUMNS]
    return f"INSERT INTO audit_logs ({', '.join(_INSERT_COLUMNS)}) VALUES ({', '.join(slots)})"


def record_many(session: Session, entries: Sequence[AuditEntry]) -> None:
    """Append several rows with one chain-head update and one insert (high-volume writers such as
    the webhook inbox); the chain is exactly what `record` called once per entry would write.

    The insert is plain SQL (resight/bulksql.py): on the webhook path SQLAlchemy's per-row JSON
    and time processing cost more than the rest of the audit row. Each value is encoded once and
    stored as that text, as the JSON column would store it.
    """
    if not entries:
        return
    head = session.execute(_BUMP_HEAD, {"n": len(entries)}).one()
    created_at = utcnow()
    prev_hash = head.last_hash
    bulk = Bulk(session)
    stored_at = bulk.time(created_at)
    rows: list[tuple[Any, ...]] = []
    for offset, entry in enumerate(entries):
        seq = head.seq - len(entries) + 1 + offset
        old_text, new_text = _encoded(entry.old), _encoded(entry.new)
        entity = None if entry.entity_id is None else str(entry.entity_id)
        digest = row_hash(
            seq=seq,
            prev_hash=prev_hash,
            actor_type=entry.actor.type,
            actor_id=entry.actor.id,
            actor_name=entry.actor.name,
            action=entry.action,
            entity_type=entry.entity_type,
            entity_id=entity,
            old_value=json.loads(old_text),  # the values exactly as the column gives them back
            new_value=json.loads(new_text),
            request_id=entry.actor.request_id,
            created_at=created_at,
        )
        rows.append(
            (
                seq,
                entry.actor.type,
                entry.actor.id,
                entry.actor.name,
                entry.action,
                entry.entity_type,
                entity,
                old_text,
                new_text,
                entry.actor.request_id,
                stored_at,
                prev_hash,
                digest,
            )
        )
        prev_hash = digest
    bulk.executemany(_insert_sql(bulk.sqlite), rows)
    session.execute(_SET_LAST_HASH, {"last_hash": prev_hash})


def _encoded(value: Any) -> str:
    """The JSON text the column stores for a value (None as JSON null, as SQLAlchemy's JSON type
    stores it by default)."""
    return json.dumps(value, default=_encode_default)


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    reason: str


def verify_chain(session: Session, batch_size: int = 5000) -> ChainBreak | None:
    """The first broken link of the chain, or None if every row is intact and none is missing."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    last_seq = 0
    while True:
        rows: Sequence[AuditLog] = session.scalars(
            select(AuditLog).where(AuditLog.seq > last_seq).order_by(AuditLog.seq).limit(batch_size)
        ).all()
        if not rows:
            break
        for row in rows:
            if row.seq != expected_seq:
                return ChainBreak(expected_seq, f"row {expected_seq} is missing")
            if row.prev_hash != expected_prev:
                return ChainBreak(row.seq, "previous-hash link does not match the row before")
            digest = row_hash(
                seq=row.seq,
                prev_hash=row.prev_hash,
                actor_type=row.actor_type,
                actor_id=row.actor_id,
                actor_name=row.actor_name,
                action=row.action,
                entity_type=row.entity_type,
                entity_id=row.entity_id,
                old_value=row.old_value,
                new_value=row.new_value,
                request_id=row.request_id,
                created_at=row.created_at,
            )
            if digest != row.hash:
                return ChainBreak(row.seq, "content does not match its hash (row altered)")
            expected_prev = row.hash
            expected_seq += 1
            last_seq = row.seq
        session.expunge_all()
    head = session.execute(select(AuditChainHead.seq, AuditChainHead.last_hash)).one()
    if head.seq != expected_seq - 1 or head.last_hash != expected_prev:
        return ChainBreak(expected_seq, f"rows after {expected_seq - 1} are missing (head is {head.seq})")
    return None


def audit_filters(
    *,
    actor: str | None,
    action: str | None,
    entity_type: str | None,
    entity_id: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if actor is not None:
        actor_type, _, actor_id = actor.partition(":")
        conditions.append(AuditLog.actor_type == actor_type)
        if actor_id:
            conditions.append(AuditLog.actor_id == actor_id)
    if action is not None:
        conditions.append(AuditLog.action == action)
    if entity_type is not None:
        conditions.append(AuditLog.entity_type == entity_type)
    if entity_id is not None:
        conditions.append(AuditLog.entity_id == entity_id)
    if since is not None:
        conditions.append(AuditLog.created_at >= since)
    if until is not None:
        conditions.append(AuditLog.created_at < until)
    return conditions
