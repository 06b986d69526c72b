from __future__ import annotations

import datetime as dt
from typing import Annotated, TypeVar

from fastapi import APIRouter, Query, Request

from resight.catalog.models import Platform
from resight.db import utcnow
from resight.deps import MerchandiserDep, RequestIdDep, SessionDep, ViewerDep
from resight.errors import BadRequest
from resight.events import alerts, kpis
from resight.events import metrics_service as service
from resight.events.kpis import Window, WindowName
from resight.events.metrics_service import Dimension, Direction, Filters, Granularity, MoverMetric
from resight.events.models import AlertStatus
from resight.events.schemas import AlertOut, BreakdownRow, MetricsOut, MoverOut, TimeseriesOut
from resight.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, decode_id_cursor, encode_cursor
from resight.realtime.feeds import announce_alerts_changed

router = APIRouter(tags=["metrics"])
T = TypeVar("T")

WindowQuery = Annotated[
    WindowName,
    Query(description="today (the IST day so far), or the last 24h / 7d / 30d ending with this IST hour."),
]
FromQuery = Annotated[
    dt.datetime | None,
    Query(alias="from", description="With `to`: a custom window; timezone-aware, on a whole IST hour."),
]
ToQuery = Annotated[dt.datetime | None, Query(description="Exclusive end of a custom window.")]
CategoryQuery = Annotated[
    str | None,
    Query(
        description="Matches the category and its subcategories; case and spaces around ' > ' are "
        "ignored, as in rules. Blank: no filter."
    ),
]
LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


def _window(window: WindowName, start: dt.datetime | None, end: dt.datetime | None) -> Window:
    if start is None and end is None:
        return kpis.named_window(window, utcnow())
    if start is None or end is None:
        raise BadRequest("give both from and to for a custom window (or neither)")
    try:
        return kpis.custom_window(start, end)
    except kpis.WindowError as exc:
        raise BadRequest(str(exc)) from exc


def _offset(cursor: str | None) -> int:
    key = decode_cursor(cursor, 1)
    if key is None:
        return 0
    if not isinstance(key[0], int) or isinstance(key[0], bool) or key[0] < 0:
        raise BadRequest("invalid cursor: pass back the next_cursor of the previous page")
    return key[0]


def _page(rows: list[T], offset: int, limit: int) -> Page[T]:
    if len(rows) <= limit:
        return Page(items=rows, next_cursor=None)
    return Page(items=rows[:limit], next_cursor=encode_cursor([offset + limit]))


@router.get("/metrics", response_model=MetricsOut)
def get_metrics(
    session: SessionDep,
    _viewer: ViewerDep,
    window: WindowQuery = WindowName.today,
    from_: FromQuery = None,
    to: ToQuery = None,
    marketplace: Platform | None = None,
    store: int | None = None,
    category: CategoryQuery = None,
) -> MetricsOut:
    """KPIs for a window, each with the previous equal window's value and the change."""
    filters = Filters(marketplace=marketplace, store_id=store, category=category)
    return service.metrics(session, filters, _window(window, from_, to))


@router.get("/metrics/timeseries", response_model=TimeseriesOut)
def get_timeseries(
    session: SessionDep,
    _viewer: ViewerDep,
    window: WindowQuery = WindowName.today,
    from_: FromQuery = None,
    to: ToQuery = None,
    granularity: Granularity = Granularity.hour,
    marketplace: Platform | None = None,
    store: int | None = None,
    category: CategoryQuery = None,
) -> TimeseriesOut:
    """Totals per IST hour or IST day of the window, every bucket present (zeros included)."""
    filters = Filters(marketplace=marketplace, store_id=store, category=category)
    return service.timeseries(session, filters, _window(window, from_, to), granularity)


@router.get("/metrics/breakdown", response_model=Page[BreakdownRow])
def get_breakdown(
    session: SessionDep,
    _viewer: ViewerDep,
    by: Dimension,
    window: WindowQuery = WindowName.today,
    from_: FromQuery = None,
    to: ToQuery = None,
    marketplace: Platform | None = None,
    store: int | None = None,
    category: CategoryQuery = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[BreakdownRow]:
    """KPIs per marketplace, category or brand, largest GMV first."""
    filters = Filters(marketplace=marketplace, store_id=store, category=category)
    offset = _offset(cursor)
    rows = service.breakdown(session, filters, _window(window, from_, to), by, offset, limit + 1)
    return _page(rows, offset, limit)


@router.get("/metrics/movers", response_model=Page[MoverOut])
def get_movers(
    session: SessionDep,
    _viewer: ViewerDep,
    metric: MoverMetric = MoverMetric.gmv,
    direction: Direction = Direction.up,
    window: WindowQuery = WindowName.d7,
    from_: FromQuery = None,
    to: ToQuery = None,
    marketplace: Platform | None = None,
    store: int | None = None,
    category: CategoryQuery = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[MoverOut]:
    """Products whose GMV or views rose (direction=up) or fell (down) most against the previous window."""
    filters = Filters(marketplace=marketplace, store_id=store, category=category)
    offset = _offset(cursor)
    rows = service.movers(session, filters, _window(window, from_, to), metric, direction, offset, limit + 1)
    return _page(rows, offset, limit)


@router.get("/alerts", response_model=Page[AlertOut])
def list_alerts(
    session: SessionDep,
    _viewer: ViewerDep,
    status: AlertStatus | None = None,
    kind: str | None = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[AlertOut]:
    """Alerts, newest first."""
    rows = alerts.list_alerts(
        session, status=status, kind=kind, before_id=decode_id_cursor(cursor), limit=limit + 1
    )
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1].id])
    else:
        next_cursor = None
    return Page(items=[AlertOut.of(row) for row in rows], next_cursor=next_cursor)


@router.post("/alerts/{alert_id}/ack", response_model=AlertOut)
def acknowledge_alert(
    alert_id: int, session: SessionDep, principal: MerchandiserDep, request_id: RequestIdDep, request: Request
) -> AlertOut:
    """Acknowledge an alert (merchandiser or above); it stays until its condition clears."""
    alert = alerts.acknowledge(session, alert_id, principal.user_id, principal.actor(request_id))
    announce_alerts_changed(request, session)  # live dashboards, once committed
    return AlertOut.of(alert)
