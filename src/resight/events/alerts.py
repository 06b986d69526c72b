"""Alerts: one open alert per condition (its open_key), resolved when the condition clears.

`evaluate_alerts` checks the conditions it owns against rollups, products, scores and the inbox;
other domains raise and resolve their own conditions with `raise_alert` / `resolve_alert`
(the ML domain: scoring failing, a model promoted).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, select, union
from sqlalchemy.orm import Session

from resight.audit.service import SYSTEM, Actor, record
from resight.catalog.models import ListingStatus, Product, Store
from resight.config import Settings
from resight.db import utcnow
from resight.dialect import upsert_insert
from resight.errors import Conflict, NotFound
from resight.events import kpis
from resight.events.models import Alert, AlertStatus, ProductHourlyMetrics, SegmentHourlyMetrics
from resight.events.rollups import BUCKET, bucket_start
from resight.integrations.models import DeliveryStatus, WebhookDelivery
from resight.ml.models import MlScore

# The kinds evaluate_alerts owns: it raises them and resolves those whose condition cleared.
EVALUATED_KINDS = (
    "ctr_drop",
    "conversion_drop",
    "rank_drop",
    "low_stock",
    "top_product_out_of_stock",
    "deliveries_quarantined",
)


@dataclass(frozen=True)
class Condition:
    kind: str
    open_key: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    severity: str = "warning"
    subject_type: str | None = None
    subject_id: str | None = None


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


def _ratio_drops(session: Session, settings: Settings, now: dt.datetime) -> list[Condition]:
    """CTR and conversion per store: the last 24 complete IST hours against the 24 before."""
    end = bucket_start(now)
    start, before = end - 24 * BUCKET, end - 48 * BUCKET
    table = SegmentHourlyMetrics
    current = table.hour_start >= start

    def total(name: str, in_current: bool) -> Any:
        column = getattr(table, name)
        return func.sum(case((current if in_current else ~current, column), else_=0))

    rows = session.execute(
        select(
            table.store_id,
            total("views", True).label("views"),
            total("clicks", True).label("clicks"),
            total("orders", True).label("orders"),
            total("views", False).label("p_views"),
            total("clicks", False).label("p_clicks"),
            total("orders", False).label("p_orders"),
        )
        .where(table.hour_start >= before, table.hour_start < end)
        .group_by(table.store_id)
    )
    found = []
    for row in rows:
        if min(row.views, row.p_views) < settings.alert_min_views:
            continue  # too little traffic for a ratio to mean anything
        for kind, name, now_part, before_part in (
            ("ctr_drop", "CTR", row.clicks, row.p_clicks),
            ("conversion_drop", "conversion", row.orders, row.p_orders),
        ):
            value, previous = kpis.ratio(now_part, row.views), kpis.ratio(before_part, row.p_views)
            if value is None or previous is None or previous == 0:
                continue
            drop = (previous - value) * 100 / previous
            if drop >= Decimal(str(settings.alert_ratio_drop_pct)):
                found.append(
                    Condition(
                        kind,
                        f"{kind}:store:{row.store_id}",
                        f"{name} of store {row.store_id} fell {drop:.1f}% ({previous} -> {value}) "
                        "over the last 24 hours",
                        {"value": str(value), "previous": str(previous), "drop_pct": f"{drop:.2f}"},
                        subject_type="store",
                        subject_id=str(row.store_id),
                    )
                )
    return found


def _rank_drops(session: Session, settings: Settings) -> list[Condition]:
    rows = session.execute(
        select(MlScore.product_id, MlScore.rank, MlScore.previous_rank).where(
            MlScore.rank.is_not(None),
            MlScore.previous_rank.is_not(None),
            MlScore.rank - MlScore.previous_rank >= settings.alert_rank_drop,
        )
    )
    return [
        Condition(
            "rank_drop",
            f"rank_drop:product:{row.product_id}",
            f"product {row.product_id} fell {row.rank - row.previous_rank} ranks "
            f"({row.previous_rank} -> {row.rank})",
            {"rank": row.rank, "previous_rank": row.previous_rank},
            subject_type="product",
            subject_id=str(row.product_id),
        )
        for row in rows
    ]


def _low_stock(session: Session, settings: Settings, now: dt.datetime) -> list[Condition]:
    week = kpis.named_window(kpis.WindowName.d7, now)
    units = (
        select(ProductHourlyMetrics.product_id, func.sum(ProductHourlyMetrics.units).label("units"))
        .where(ProductHourlyMetrics.hour_start >= week.start, ProductHourlyMetrics.hour_start < week.end)
        .group_by(ProductHourlyMetrics.product_id)
        .subquery()
    )
    rows = session.execute(
        select(Product.id, Product.stock, units.c.units)
        .join(units, units.c.product_id == Product.id)
        .where(
            Product.status == ListingStatus.active,
            Product.stock > 0,
            units.c.units > 0,
            # days of cover = stock / (units / 7) < threshold
            Product.stock * 7 < settings.alert_low_stock_days * units.c.units,
        )
    )
    found = []
    for row in rows:
        cover = kpis.days_of_cover(row.stock, int(row.units))
        found.append(
            Condition(
                "low_stock",
                f"low_stock:product:{row.id}",
                f"product {row.id} has {cover} days of stock left ({row.stock} units, "
                f"{row.units} sold in the last 7 days)",
                {"stock": row.stock, "units_last_7d": int(row.units), "days_of_cover": str(cover)},
                subject_type="product",
                subject_id=str(row.id),
            )
        )
    return found


def _top_out_of_stock(session: Session, settings: Settings, now: dt.datetime) -> list[Condition]:
    week = kpis.named_window(kpis.WindowName.d7, now)
    by_rank = select(MlScore.product_id).where(MlScore.rank <= settings.alert_top_k)
    by_gmv = (
        select(ProductHourlyMetrics.product_id)
        .where(ProductHourlyMetrics.hour_start >= week.start, ProductHourlyMetrics.hour_start < week.end)
        .group_by(ProductHourlyMetrics.product_id)
        .having(func.sum(ProductHourlyMetrics.gmv_paise) > 0)
        .order_by(func.sum(ProductHourlyMetrics.gmv_paise).desc(), ProductHourlyMetrics.product_id)
        .limit(settings.alert_top_k)
    )
    top = union(by_rank, select(by_gmv.subquery().c.product_id)).subquery()
    rows = session.execute(
        select(Product.id, Product.stock)
        .join(top, top.c.product_id == Product.id)
        .where(and_(Product.status != ListingStatus.deleted, Product.stock <= 0))
    )
    return [
        Condition(
            "top_product_out_of_stock",
            f"top_product_out_of_stock:product:{row.id}",
            f"product {row.id}, one of the top {settings.alert_top_k}, is out of stock",
            {"stock": row.stock},
            severity="critical",
            subject_type="product",
            subject_id=str(row.id),
        )
        for row in rows
    ]


def _quarantined(session: Session) -> list[Condition]:
    # Per store (and storeless), so the (store_id, status) index answers without a table scan.
    in_quarantine = WebhookDelivery.status == DeliveryStatus.quarantined
    count = sum(
        session.scalar(select(func.count()).select_from(WebhookDelivery).where(in_quarantine, where)) or 0
        for where in (WebhookDelivery.store_id.in_(select(Store.id)), WebhookDelivery.store_id.is_(None))
    )
    if not count:
        return []
    return [
        Condition(
            "deliveries_quarantined",
            "deliveries_quarantined",
            f"{count} deliveries are in quarantine: inspect and replay them",
            {"count": count},
        )
    ]


@dataclass(frozen=True)
class Evaluation:
    raised: list[int]
    resolved: list[int]


def evaluate_alerts(session: Session, settings: Settings, now: dt.datetime) -> Evaluation:
    """Raise alerts for conditions that hold and resolve those that cleared (rollups, not events).

    Call after ingestion and after scoring, in that work's transaction; it only flushes.
    """
    conditions = [
        *_ratio_drops(session, settings, now),
        *_rank_drops(session, settings),
        *_low_stock(session, settings, now),
        *_top_out_of_stock(session, settings, now),
        *_quarantined(session),
    ]
    holding = {condition.open_key for condition in conditions}
    resolved = []
    open_keys = session.scalars(
        select(Alert.open_key).where(Alert.kind.in_(EVALUATED_KINDS), Alert.open_key.is_not(None))
    ).all()
    for key in sorted(k for k in open_keys if k is not None and k not in holding):
        alert = resolve_alert(session, key)
        if alert is not None:
            resolved.append(alert.id)
    raised = []
    already_open = set(open_keys)
    for condition in conditions:
        if condition.open_key in already_open:
            continue  # still holds, still open: nothing to write
        alert = raise_alert(
            session,
            condition.kind,
            condition.open_key,
            condition.message,
            condition.details,
            severity=condition.severity,
            subject_type=condition.subject_type,
            subject_id=condition.subject_id,
        )
        if alert is not None:
            raised.append(alert.id)
    return Evaluation(raised=raised, resolved=resolved)
