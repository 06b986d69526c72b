"""Callbacks that run once a session's transaction commits, and never if it rolls back: what the
realtime hub announces (an ingested delivery, a changed rule) must be stored first."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

_PENDING_KEY = "resight.realtime.after_commit"
_listen_lock = threading.Lock()


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once the session's current transaction commits; forget it on rollback."""
    with _listen_lock:
        pending: list[Callable[[], None]] | None = session.info.get(_PENDING_KEY)
        if pending is None:
            pending = session.info[_PENDING_KEY] = []
            event.listen(session, "after_commit", _run_pending)
            event.listen(session, "after_soft_rollback", _forget_pending)
        pending.append(callback)


def _run_pending(session: Session) -> None:
    callbacks = session.info.get(_PENDING_KEY) or []
    session.info[_PENDING_KEY] = []
    for callback in callbacks:
        callback()


def _forget_pending(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is None:  # the whole transaction, not a savepoint inside it
        session.info[_PENDING_KEY] = []
