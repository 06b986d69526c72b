from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from resight.catalog import stores
from resight.catalog.models import Platform
from resight.deps import AdminDep, RequestIdDep, SessionDep, SettingsDep
from resight.integrations import deliveries, inbox, receiver, uploads
from resight.integrations.api_schemas import (
    DeliveryOut,
    DeliveryReceipt,
    StoreCreate,
    StoreOut,
    StoreWithSecret,
)
from resight.integrations.imports import ReportKind
from resight.integrations.models import DeliveryStatus
from resight.integrations.signatures import fernet_for
from resight.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_id_cursor, page_of
from resight.realtime.feeds import announce_ingested

router = APIRouter(tags=["integrations"])
LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


@router.post(
    "/integrations/{platform}/webhook",
    response_model=DeliveryReceipt,
    responses={
        400: {"description": "Body is not JSON, or the store is ambiguous (pass ?store=)."},
        401: {
            "description": "Unknown store, or missing, forged, stale or expired credentials. Nothing stored."
        },
        413: {"description": "Body over the configured size limit. Nothing stored."},
        429: {
            "description": "Over RESIGHT_WEBHOOK_REQUESTS_PER_MINUTE for this store or source address; "
            "retry after Retry-After seconds. Nothing stored."
        },
        422: {"description": "Body is JSON but neither an object nor the batch form."},
    },
    summary="Receive a marketplace delivery (one event, or the batch form)",
)
async def webhook(
    platform: Platform,
    request: Request,
    store: Annotated[
        int | None, Query(description="Store id; optional if the platform has one store.")
    ] = None,
) -> Response:
    """Public: authenticated by the store's Standard Webhooks signature or X-Api-Key.

    2xx means the delivery is stored and applied (status processed), stored as a repeat with no
    effect (duplicate), stored with nothing for us (ignored), or stored for a fix and a replay
    (quarantined). See docs/integrations/README.md.
    """
    # Most deliveries never reach this function: webhook_asgi.WebhookFastPath answers them before
    # routing with the same receiver code (docs/decisions/0302). This endpoint documents the API
    # and serves the query strings the direct path leaves to FastAPI's validation.
    receipt = await receiver.receive(request, platform, store)
    # Encoded here, not through the response model: on the hottest path FastAPI's validate-then-
    # serialise of DeliveryReceipt cost more than the JSON itself. The model still documents it.
    return Response(receiver.receipt_json(receipt), media_type="application/json")


@router.post("/stores", response_model=StoreWithSecret, status_code=201, tags=["stores"])
def create_store(
    payload: StoreCreate, request: Request, session: SessionDep, admin: AdminDep, request_id: RequestIdDep
) -> StoreWithSecret:
    """Create a store; its webhook secret (or API key) is in the response and never shown again."""
    store, secret = stores.create_store(
        session,
        admin.actor(request_id),
        fernet_for(request.app.state.secret_key),
        platform=payload.platform,
        name=payload.name,
        seller_id=payload.seller_id,
        auth=payload.auth,
    )
    receiver.ingestion(request.app).cache.invalidate()
    return StoreWithSecret(store=StoreOut.of(store, deliveries.DeliveryStats()), webhook_secret=secret)


@router.get("/stores", response_model=Page[StoreOut], tags=["stores"])
def list_stores(
    session: SessionDep,
    _admin: AdminDep,
    platform: Platform | None = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[StoreOut]:
    rows = stores.list_stores(session, platform=platform, after_id=decode_id_cursor(cursor), limit=limit + 1)
    rows, next_cursor = page_of(rows, limit, lambda store: [store.id])
    stats = deliveries.delivery_stats(session, [store.id for store in rows])
    return Page(items=[StoreOut.of(store, stats[store.id]) for store in rows], next_cursor=next_cursor)


@router.get("/stores/{store_id}", response_model=StoreOut, tags=["stores"])
def get_store(store_id: int, session: SessionDep, _admin: AdminDep) -> StoreOut:
    store = stores.get_store(session, store_id)
    return StoreOut.of(store, deliveries.delivery_stats(session, [store.id])[store.id])


@router.post("/stores/{store_id}/rotate-secret", response_model=StoreWithSecret, tags=["stores"])
def rotate_secret(
    store_id: int,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminDep,
    request_id: RequestIdDep,
) -> StoreWithSecret:
    """Issue a new secret; the previous ones stay valid for the grace period (default 24 h)."""
    store, secret, grace_until = stores.rotate_secret(
        session,
        admin.actor(request_id),
        fernet_for(request.app.state.secret_key),
        store_id,
        grace=dt.timedelta(hours=settings.webhook_secret_grace_hours),
    )
    receiver.ingestion(request.app).cache.invalidate(store.id)
    stats = deliveries.delivery_stats(session, [store.id])[store.id]
    return StoreWithSecret(
        store=StoreOut.of(store, stats), webhook_secret=secret, old_credentials_expire_at=grace_until
    )


@router.get("/integrations/deliveries", response_model=Page[DeliveryOut])
def list_deliveries(
    session: SessionDep,
    _admin: AdminDep,
    status: DeliveryStatus | None = None,
    store: int | None = None,
    delivery_id: Annotated[str | None, Query(max_length=200)] = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[DeliveryOut]:
    """The inbox, newest first."""
    rows = deliveries.list_deliveries(
        session,
        status=status,
        store_id=store,
        delivery_id=delivery_id,
        before_id=decode_id_cursor(cursor),
        limit=limit + 1,
    )
    rows, next_cursor = page_of(rows, limit, lambda row: [row.id])
    return Page(items=[DeliveryOut.of(row) for row in rows], next_cursor=next_cursor)


@router.post(
    "/integrations/deliveries/{delivery_row_id}/replay",
    response_model=DeliveryReceipt,
    responses={409: {"description": "The delivery is not quarantined."}},
)
def replay_delivery(
    delivery_row_id: int, session: SessionDep, admin: AdminDep, request_id: RequestIdDep, request: Request
) -> DeliveryReceipt:
    """Normalise and apply a quarantined delivery again (after a fix). It may be quarantined again."""
    receipt = inbox.replay(session, admin.actor(request_id), delivery_row_id)
    announce_ingested(request.app, session)  # live KPIs once the session commits
    return DeliveryReceipt.of(receipt)


_UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {"type": "string", "format": "binary", "description": "The CSV report."}
                },
            }
        }
    },
}


@router.post(
    "/integrations/{platform}/import",
    response_model=uploads.ImportResult,
    openapi_extra={"requestBody": _UPLOAD_BODY},
    responses={
        400: {"description": "Malformed multipart body, or the store is ambiguous (pass ?store=)."},
        404: {"description": "No store of this platform with that id."},
        413: {
            "description": "File over the configured size limit (RESIGHT_MAX_IMPORT_BYTES). Nothing stored."
        },
        422: {"description": "Not a multipart upload, or not a report we can read. Nothing stored."},
    },
    summary="Import a seller-panel report (CSV): accepted lines, and rejected lines with reasons",
)
async def import_report(
    platform: Platform,
    request: Request,
    settings: SettingsDep,
    admin: AdminDep,
    request_id: RequestIdDep,
    store: Annotated[
        int | None, Query(description="Store id; optional if the platform has one store.")
    ] = None,
    report: Annotated[
        ReportKind | None, Query(description="Which report; by default told from the header line.")
    ] = None,
) -> uploads.ImportResult:
    """The Myntra orders report, the Meesho orders file, or a catalogue file for any platform.

    Good lines are applied, bad lines are listed with their line number and reason. The file is one
    inbox delivery (kind import, id = its SHA-256): uploading it again has no second effect. See
    docs/integrations/imports.md.
    """
    filename, raw = await uploads.read_upload(request, settings.max_import_bytes)
    writer = receiver.ingestion(request.app)
    actor = admin.actor(request_id)
    result = await run_in_threadpool(
        writer.write,
        lambda session: uploads.import_report(
            session, actor, platform, store, raw, filename=filename, kind=report
        ),
    )
    announce_ingested(request.app)  # committed: live KPIs for dashboards (debounced)
    return result
