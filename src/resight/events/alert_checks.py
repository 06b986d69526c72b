"""The conditions evaluate_alerts checks, each found with set-based SQL over rollups and products.

A check returns the open_key of every condition that holds, each with a function building its
alert's message and details: evaluation compares keys with the open alerts and builds only the
new ones, so a steady state costs the queries and a set difference.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import and_, case, func, select, union
from sqlalchemy.orm import Session

from resight.catalog.models import ListingStatus, Product, Store
from resight.config import Settings
from resight.events import kpis
from resight.events.models import ProductHourlyMetrics, SegmentHourlyMetrics
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


Found = dict[str, Callable[[], Condition]]  # open_key -> its condition, built on demand


def _itself(condition: Condition) -> Condition:
    return condition


def _known(conditions: list[Condition]) -> Found:
    return {condition.open_key: partial(_itself, condition) for condition in conditions}


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


def _rank_drops(session: Session, settings: Settings) -> Found:
    rows = session.execute(
        select(MlScore.product_id, MlScore.rank, MlScore.previous_rank).where(
            MlScore.rank.is_not(None),
            MlScore.previous_rank.is_not(None),
            MlScore.rank - MlScore.previous_rank >= settings.alert_rank_drop,
        )
    ).all()

    def condition(row: Any) -> Condition:
        return Condition(
            "rank_drop",
            f"rank_drop:product:{row.product_id}",
            f"product {row.product_id} fell {row.rank - row.previous_rank} ranks "
            f"({row.previous_rank} -> {row.rank})",
            {"rank": row.rank, "previous_rank": row.previous_rank},
            subject_type="product",
            subject_id=str(row.product_id),
        )

    return {f"rank_drop:product:{row.product_id}": partial(condition, row) for row in rows}


def _week_per_product(now: dt.datetime) -> Any:
    """Units and GMV per product over the last 7 days: one scan of the product rollups, shared."""
    week = kpis.named_window(kpis.WindowName.d7, now)
    hourly = ProductHourlyMetrics
    return (
        select(
            hourly.product_id,
            func.sum(hourly.units).label("units"),
            func.sum(hourly.gmv_paise).label("gmv_paise"),
        )
        # Only product-hours with orders add units or GMV: the partial index holds just those.
        .where(hourly.hour_start >= week.start, hourly.hour_start < week.end, hourly.orders > 0)
        .group_by(hourly.product_id)
        .cte("week")
        .prefix_with("MATERIALIZED")
    )


def _low_stock(session: Session, settings: Settings, week: Any) -> Found:
    rows = session.execute(
        select(Product.id, Product.stock, week.c.units)
        .join(week, week.c.product_id == Product.id)
        .where(
            Product.status == ListingStatus.active,
            Product.stock > 0,
            week.c.units > 0,
            # days of cover = stock / (units / 7) < threshold
            Product.stock * 7 < settings.alert_low_stock_days * week.c.units,
        )
    ).all()

    def condition(row: Any) -> Condition:
        cover = kpis.days_of_cover(row.stock, int(row.units))
        return Condition(
            "low_stock",
            f"low_stock:product:{row.id}",
            f"product {row.id} has {cover} days of stock left ({row.stock} units, "
            f"{row.units} sold in the last 7 days)",
            {"stock": row.stock, "units_last_7d": int(row.units), "days_of_cover": str(cover)},
            subject_type="product",
            subject_id=str(row.id),
        )

    return {f"low_stock:product:{row.id}": partial(condition, row) for row in rows}


def _top_out_of_stock(session: Session, settings: Settings, week: Any) -> Found:
    by_rank = select(MlScore.product_id).where(MlScore.rank <= settings.alert_top_k)
    by_gmv = (
        select(week.c.product_id)
        .where(week.c.gmv_paise > 0)
        .order_by(week.c.gmv_paise.desc(), week.c.product_id)
        .limit(settings.alert_top_k)
    )
    top = union(by_rank, select(by_gmv.subquery().c.product_id)).subquery()
    rows = session.execute(
        select(Product.id, Product.stock)
        .join(top, top.c.product_id == Product.id)
        .where(and_(Product.status != ListingStatus.deleted, Product.stock <= 0))
    ).all()

    def condition(row: Any) -> Condition:
        return Condition(
            "top_product_out_of_stock",
            f"top_product_out_of_stock:product:{row.id}",
            f"product {row.id}, one of the top {settings.alert_top_k}, is out of stock",
            {"stock": row.stock},
            severity="critical",
            subject_type="product",
            subject_id=str(row.id),
        )

    return {f"top_product_out_of_stock:product:{row.id}": partial(condition, row) for row in rows}


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


def holding_conditions(session: Session, settings: Settings, now: dt.datetime) -> Found:
    """Every condition of EVALUATED_KINDS that holds at `now`."""
    week = _week_per_product(now)
    return {
        **_known(_ratio_drops(session, settings, now)),
        **_rank_drops(session, settings),
        **_low_stock(session, settings, week),
        **_top_out_of_stock(session, settings, week),
        **_known(_quarantined(session)),
    }
