"""An uploaded seller-panel report, end to end: the inbox row, the records, one audit row.

The whole file is one inbox delivery of kind "import" whose id is the SHA-256 of its bytes, so
uploading the same file again is stored as a duplicate and has no effect. Good lines are applied
through the same applier as webhooks; bad lines are reported, not stored as records. A file that
cannot be read as a report at all answers 422 and stores nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from pydantic import BaseModel, Field
from sqlalchemy import insert, select, update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from resight.audit.service import Actor, record
from resight.catalog.models import Platform, Store
from resight.db import utcnow
from resight.dialect import upsert_insert
from resight.errors import BadRequest, NotFound, PayloadTooLarge, Unprocessable
from resight.integrations.apply import Applied, apply_normalized
from resight.integrations.imports import ParsedReport, ReportError, ReportKind, parse_report
from resight.integrations.models import DeliveryStatus, WebhookDelivery
from resight.integrations.pipeline import content_hash
from resight.integrations.records import StoreRef

SUMMARY_LINES = 5
FORM_OVERHEAD = 64 * 1024  # multipart boundaries and part headers around the file


class RejectedLine(BaseModel):
    line: int = Field(description="Line number in the file; the header is line 1.")
    reason: str


class ImportResult(BaseModel):
    id: int = Field(description="The inbox row of this upload.")
    delivery_id: str = Field(description="sha256 of the file: the same file again is a duplicate.")
    status: DeliveryStatus = Field(description="processed, or duplicate (an earlier upload of this file).")
    store_id: int
    report: ReportKind
    rows: int = Field(description="Data lines in the file (blank lines not counted).")
    accepted: int
    rejected_count: int
    rejected: list[RejectedLine] = Field(description="The first 1,000 rejected lines.")
    counts: dict[str, int] = Field(description="What applying the accepted lines changed (0 on a duplicate).")


def resolve_store(session: Session, platform: Platform, store_id: int | None) -> StoreRef:
    if store_id is None:
        ids = list(session.scalars(select(Store.id).where(Store.platform == platform).limit(2)))
        if len(ids) != 1:
            raise BadRequest(f"name the store: ?store=<id> (there is not exactly one {platform.value} store)")
        store_id = ids[0]
    store = session.get(Store, store_id)
    if store is None or store.platform is not platform:
        raise NotFound(f"no {platform.value} store {store_id}")
    return StoreRef(id=store.id, platform=store.platform, name=store.name, seller_id=store.seller_id)


def import_report(
    session: Session,
    actor: Actor,
    platform: Platform,
    store_id: int | None,
    raw: bytes,
    *,
    filename: str | None,
    kind: ReportKind | None = None,
) -> ImportResult:
    """Parse, store and apply one report file in the caller's transaction (flushes only)."""
    store = resolve_store(session, platform, store_id)
    now = utcnow()
    try:
        parsed = parse_report(raw, platform, received_at=now, kind=kind)
    except ReportError as exc:
        raise Unprocessable(str(exc)) from exc
    delivery_id = content_hash(raw)
    row: dict[str, Any] = {
        "store_id": store.id,
        "platform": platform,
        "kind": "import",
        "delivery_id": delivery_id,
        "dedupe_key": f"{store.id}:{delivery_id}",
        "status": DeliveryStatus.received,
        "notification_type": parsed.normalized.notification_type,
        "body": raw,
        "headers": {"filename": filename, "report": parsed.kind.value},
        "received_at": now,
        "attempts": 1,
        "records_applied": 0,
    }
    statement = upsert_insert(session, WebhookDelivery.__table__)  # type: ignore[arg-type]
    statement = statement.on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(WebhookDelivery.id)
    row_id = session.execute(statement, row).scalar()
    if row_id is None:
        row.update(dedupe_key=None, status=DeliveryStatus.duplicate, processed_at=now)
        row_id = session.execute(insert(WebhookDelivery).returning(WebhookDelivery.id), row).scalar_one()
        result = _result(row_id, delivery_id, DeliveryStatus.duplicate, store, parsed, Applied())
        _audit(session, actor, result, filename)
        return result

    try:
        with session.begin_nested():
            applied = apply_normalized(session, store, parsed.normalized, delivery_id=row_id)
    except (IntegrityError, DataError) as exc:
        raise Unprocessable(f"the file could not be applied: {exc.orig}") from exc
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == row_id)
        .values(
            status=DeliveryStatus.processed,
            processed_at=utcnow(),
            records_applied=len(parsed.normalized.products) + len(parsed.normalized.events),
            error=_summary(parsed),
        )
    )
    result = _result(row_id, delivery_id, DeliveryStatus.processed, store, parsed, applied)
    _audit(session, actor, result, filename)
    return result


def _result(
    row_id: int,
    delivery_id: str,
    status: DeliveryStatus,
    store: StoreRef,
    parsed: ParsedReport,
    applied: Applied,
) -> ImportResult:
    return ImportResult(
        id=row_id,
        delivery_id=delivery_id,
        status=status,
        store_id=store.id,
        report=parsed.kind,
        rows=parsed.rows,
        accepted=parsed.accepted,
        rejected_count=parsed.rejected_count,
        rejected=[RejectedLine(line=r.line, reason=r.reason) for r in parsed.rejected],
        counts=applied.counts(),
    )


def _summary(parsed: ParsedReport) -> str | None:
    """Kept on the inbox row, so GET /integrations/deliveries shows what an import left out."""
    if not parsed.rejected_count:
        return None
    shown = "; ".join(f"line {r.line}: {r.reason}" for r in parsed.rejected[:SUMMARY_LINES])
    more = parsed.rejected_count - min(len(parsed.rejected), SUMMARY_LINES)
    tail = f"; and {more} more" if more > 0 else ""
    return f"{parsed.rejected_count} of {parsed.rows} lines rejected: {shown}{tail}"[:2000]


def _audit(session: Session, actor: Actor, result: ImportResult, filename: str | None) -> None:
    record(
        session,
        actor,
        f"import.{result.status.value}",
        "webhook_delivery",
        result.id,
        new={
            "delivery_id": result.delivery_id,
            "kind": "import",
            "store_id": result.store_id,
            "report": result.report.value,
            "filename": filename,
            "rows": result.rows,
            "accepted": result.accepted,
            "rejected": result.rejected_count,
            **result.counts,
        },
    )


async def read_upload(request: Request, limit: int) -> tuple[str | None, bytes]:
    """The file in the multipart field `file`: 413 past `limit` bytes, before reading further."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise Unprocessable('send the report as multipart/form-data, the file in the field "file"')
    body_limit = limit + FORM_OVERHEAD
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > body_limit:
        raise PayloadTooLarge(f"upload of {declared} bytes is over the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > body_limit:
            raise PayloadTooLarge(f"upload is over the limit of {limit} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)

    async def stream() -> AsyncIterator[bytes]:
        yield body

    parser = MultiPartParser(request.headers, stream(), max_files=1, max_fields=10)  # type: ignore[arg-type]
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise BadRequest(f"malformed multipart body: {exc.message}") from exc
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise Unprocessable('no file in the form field "file"')
        data = await upload.read()
        filename = upload.filename
    finally:
        await form.close()
    if len(data) > limit:
        raise PayloadTooLarge(f"file of {len(data)} bytes is over the limit of {limit} bytes")
    return filename, data
