from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime
from sqlalchemy import select

from resight.audit.models import AuditLog
from resight.audit.schemas import AuditLogOut
from resight.audit.service import audit_filters
from resight.deps import SessionDep, ViewerDep
from resight.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_id_cursor, page_of

router = APIRouter(tags=["audit"])


@router.get("/audit-logs", response_model=Page[AuditLogOut])
def list_audit_logs(
    session: SessionDep,
    _viewer: ViewerDep,
    actor: Annotated[
        str | None, Query(description='Actor type, optionally with its id: "user", "user:3", "store:1".')
    ] = None,
    action: str | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    since: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    until: Annotated[AwareDatetime | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[AuditLogOut]:
    """Newest first."""
    before_seq = decode_id_cursor(cursor)
    query = select(AuditLog).where(
        *audit_filters(
            actor=actor, action=action, entity_type=entity_type, entity_id=entity_id, since=since, until=until
        )
    )
    if before_seq is not None:
        query = query.where(AuditLog.seq < before_seq)
    rows = list(session.scalars(query.order_by(AuditLog.seq.desc()).limit(limit + 1)))
    rows, next_cursor = page_of(rows, limit, lambda row: [row.seq])
    return Page(items=[AuditLogOut.model_validate(row) for row in rows], next_cursor=next_cursor)
