"""Alerts: one open alert per condition (its open_key), resolved when the condition clears.

`evaluate_alerts` checks the conditions it owns (alert_checks.py) against rollups, products,
scores and the inbox; other domains raise and resolve their own conditions with `raise_alert` /
`resolve_alert` (the ML domain: scoring failing, a model promoted).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from resight.audit.service import SYSTEM, Actor, AuditEntry, record, record_many
from resight.config import Settings
from resight.db import utcnow
from resight.dialect import upsert_insert
from resight.errors import Conflict, NotFound
from resight.events.alert_checks import EVALUATED_KINDS, Condition, holding_conditions
from resight.events.models import Alert, AlertStatus


def _snapshot(alert: Alert) -> dict[str, Any]:
    return {
        "kind": alert.kind,
        "status": alert.status.value,
        "open_key": alert.open_key,
        "message": alert.message,
    }


def raise_alert(
    session: Session,
    kind: str,
    open_key: str,
    message: str,
    details: dict[str, Any] | None = None,
    *,
    severity: str = "warning",
    subject_type: str | None = None,
    subject_id: str | None = None,
    actor: Actor = SYSTEM,
) -> Alert | None:
    """Open an alert for a condition unless one is already open for `open_key`.

    Returns the new alert, or None when the condition already has an open (or acknowledged) alert.
    Safe under concurrency: the unique open_key decides, never a read-then-insert race.
    """
    statement = upsert_insert(session, Alert.__table__)  # type: ignore[arg-type]
    statement = statement.on_conflict_do_nothing(index_elements=["open_key"]).returning(Alert.__table__.c.id)
    new_id = session.execute(
        statement,
        {
            "kind": kind,
            "severity": severity,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "message": message,
            "details": details or {},
            "status": AlertStatus.open,
            "open_key": open_key,
            "created_at": utcnow(),
        },
    ).scalar_one_or_none()
    if new_id is None:
        return None
    alert = session.get_one(Alert, new_id)
    record(
        session, actor, "alert.raise", "alert", alert.id, new={**_snapshot(alert), "details": details or {}}
    )
    return alert


def resolve_alert(session: Session, open_key: str, *, actor: Actor = SYSTEM) -> Alert | None:
    """Resolve the open alert for `open_key`, if any; the condition may then alert again later."""
    alert = session.scalars(select(Alert).where(Alert.open_key == open_key).with_for_update()).one_or_none()
    if alert is None:
        return None
    old = _snapshot(alert)
    alert.status = AlertStatus.resolved
    alert.open_key = None
    alert.resolved_at = utcnow()
    session.flush()
    record(session, actor, "alert.resolve", "alert", alert.id, old=old, new=_snapshot(alert))
    return alert


def acknowledge(session: Session, alert_id: int, user_id: int, actor: Actor) -> Alert:
    """Mark an alert seen; it stays open for its condition (no duplicate) until resolved."""
    alert = session.get(Alert, alert_id, with_for_update=True)
    if alert is None:
        raise NotFound(f"alert {alert_id} not found")
    if alert.status is AlertStatus.resolved:
        raise Conflict(f"alert {alert_id} is already resolved")
    if alert.status is AlertStatus.acknowledged:
        return alert
    old = _snapshot(alert)
    alert.status = AlertStatus.acknowledged
    alert.acknowledged_at = utcnow()
    alert.acknowledged_by = user_id
    session.flush()
    record(session, actor, "alert.acknowledge", "alert", alert.id, old=old, new=_snapshot(alert))
    return alert


def list_alerts(
    session: Session, *, status: AlertStatus | None, kind: str | None, before_id: int | None, limit: int
) -> list[Alert]:
    """Newest first."""
    query = select(Alert).order_by(Alert.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Alert.status == status)
    if kind is not None:
        query = query.where(Alert.kind == kind)
    if before_id is not None:
        query = query.where(Alert.id < before_id)
    return list(session.scalars(query))


@dataclass(frozen=True)
class Evaluation:
    raised: list[int]
    resolved: list[int]


_CHUNK = 5_000  # keys per IN (...) list, well under every backend's parameter limit


def _resolve_many(session: Session, open_keys: list[str]) -> list[int]:
    """Resolve the open alerts of these keys with one UPDATE per chunk and one audit append."""
    resolved: list[int] = []
    entries: list[AuditEntry] = []
    now = utcnow()
    for start in range(0, len(open_keys), _CHUNK):
        chunk = open_keys[start : start + _CHUNK]
        rows = session.execute(
            select(Alert.id, Alert.kind, Alert.status, Alert.open_key, Alert.message)
            .where(Alert.open_key.in_(chunk))
            .order_by(Alert.id)
            .with_for_update()
        ).all()
        if not rows:
            continue
        ids = [row.id for row in rows]
        session.execute(
            update(Alert)
            .where(Alert.id.in_(ids))
            .values(status=AlertStatus.resolved, open_key=None, resolved_at=now)
        )
        for row in rows:
            old = {
                "kind": row.kind,
                "status": row.status.value,
                "open_key": row.open_key,
                "message": row.message,
            }
            new = {**old, "status": AlertStatus.resolved.value, "open_key": None}
            entries.append(AuditEntry(SYSTEM, "alert.resolve", "alert", row.id, old=old, new=new))
        resolved.extend(ids)
    record_many(session, entries)
    return resolved


def _raise_many(session: Session, conditions: list[Condition]) -> list[int]:
    """Open alerts for these conditions with one INSERT per chunk (a key opened meanwhile by
    another transaction is skipped by the unique open_key) and one audit append."""
    raised: list[int] = []
    entries: list[AuditEntry] = []
    created_at = utcnow()
    table = Alert.__table__
    statement = upsert_insert(session, table)  # type: ignore[arg-type]
    statement = statement.on_conflict_do_nothing(index_elements=["open_key"]).returning(
        table.c.id, table.c.open_key
    )
    by_key = {condition.open_key: condition for condition in conditions}
    for start in range(0, len(conditions), _CHUNK):
        rows = [
            {
                "kind": c.kind,
                "severity": c.severity,
                "subject_type": c.subject_type,
                "subject_id": c.subject_id,
                "message": c.message,
                "details": c.details,
                "status": AlertStatus.open,
                "open_key": c.open_key,
                "created_at": created_at,
            }
            for c in conditions[start : start + _CHUNK]
        ]
        for alert_id, open_key in session.execute(statement, rows).all():
            c = by_key[open_key]
            new = {"kind": c.kind, "status": "open", "open_key": c.open_key, "message": c.message}
            entries.append(
                AuditEntry(SYSTEM, "alert.raise", "alert", alert_id, new={**new, "details": c.details})
            )
            raised.append(alert_id)
    entries.sort(key=lambda entry: int(str(entry.entity_id)))
    record_many(session, entries)
    return sorted(raised)


def evaluate_alerts(session: Session, settings: Settings, now: dt.datetime) -> Evaluation:
    """Raise alerts for conditions that hold and resolve those that cleared (rollups, not events).

    Set-based: the conditions come from a few SQL queries, are compared with the open alerts by
    key, and only the differences are written (bulk). Call after ingestion and after scoring, in
    that work's transaction; it only flushes.
    """
    holding = holding_conditions(session, settings, now)
    open_keys = {
        key
        for key in session.scalars(
            select(Alert.open_key).where(Alert.kind.in_(EVALUATED_KINDS), Alert.open_key.is_not(None))
        )
        if key is not None
    }
    resolved = _resolve_many(session, sorted(open_keys - holding.keys()))
    new_conditions = [build() for key, build in holding.items() if key not in open_keys]
    raised = _raise_many(session, new_conditions)
    return Evaluation(raised=raised, resolved=resolved)
