"""Reading the stored state into `RawFrame`s: the present (products + rollups, for scoring) and
the past (product history + rollups, for training) — each moment sees only data from before it.

Everything is fetched column-wise in a few statements and handled with numpy; times come out of
the database as integer epoch seconds so no row is touched by Python.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import BigInteger, ColumnElement, Integer, case, cast, func, select
from sqlalchemy.orm import Session

from resight.catalog.models import HistoryField, ListingStatus, Product, ProductHistory
from resight.events import rollups
from resight.events.models import ProductHourlyMetrics
from resight.ml.features import (
    WINDOWS,
    ActivityIndex,
    FieldHistory,
    Floats,
    Ints,
    RawFrame,
    Strings,
)

ACTIVE = ListingStatus.active.value
LONGEST_WINDOW = max(seconds for _, seconds in WINDOWS)
LABEL_SECONDS = 86_400  # the label: orders in the next 24 hours


def bucket_geometry() -> tuple[int, int]:
    """(bucket length, offset) of the rollups, read from the events domain rather than assumed."""
    seconds = int(rollups.BUCKET.total_seconds())
    origin = rollups.bucket_start(dt.datetime(2000, 1, 1, 12, tzinfo=dt.UTC))
    return seconds, int(origin.timestamp()) % seconds


def bucket_floor(moment: dt.datetime) -> dt.datetime:
    return rollups.bucket_start(moment)


def epoch(session: Session, column: Any) -> ColumnElement[int]:
    """Whole epoch seconds (floored) of a stored UTC timestamp, computed by the database."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.floor(func.extract("epoch", column)), BigInteger)
    return cast(func.strftime("%s", column), Integer)


def fetch_raw(session: Session, query: Any) -> list[tuple[Any, ...]]:
    """Rows as the driver returns them, skipping SQLAlchemy's per-row type processing (the queries
    here select plain numbers and strings; times are converted to epoch seconds in SQL)."""
    result = session.connection().execute(query)
    cursor = result.cursor
    try:
        rows: list[tuple[Any, ...]] = list(cursor.fetchall())
    finally:
        result.close()
    return rows


def _floats(values: Sequence[Any]) -> Floats:
    return np.array(values, dtype=np.float64) if len(values) else np.empty(0, dtype=np.float64)


def _strings(values: npt.NDArray[Any]) -> Strings:
    out: Strings = np.asarray(values, dtype=object).copy()
    out[np.equal(out, None)] = ""  # type: ignore[call-overload]
    return out


def _table(rows: list[tuple[Any, ...]], width: int) -> npt.NDArray[np.object_]:
    """Rows as a 2-D object array: one C-level pass, where zip(*rows) costs a Python tuple per
    column and row. Numeric columns then convert with astype (None becomes NaN)."""
    table: npt.NDArray[np.object_] = np.empty((len(rows), width), dtype=object)
    if rows:
        table[:] = rows
    return table


@dataclass(frozen=True)
class Catalogue:
    """Current product rows, column-wise (prices in ₹, NaN when unknown)."""

    product_id: Ints
    created: Floats
    price: Floats
    mrp: Floats
    stock: Floats
    rating: Floats
    rating_count: Floats
    buybox: Floats
    competitor: Floats
    marketplace: Strings
    category: Strings
    brand: Strings
    status: Strings


def load_catalogue(
    session: Session, product_ids: Iterable[int] | None = None, active_only: bool = False
) -> Catalogue:
    p = Product.__table__.c
    query = select(
        p.id,
        epoch(session, p.created_at),
        p.price_paise,
        p.mrp_paise,
        p.stock,
        p.rating,
        p.rating_count,
        p.buybox_price_paise,
        p.lowest_competitor_price_paise,
        p.marketplace,
        p.category,
        p.brand,
        p.status,
    ).order_by(p.id)
    if product_ids is not None:
        query = query.where(p.id.in_(list(product_ids)))
    if active_only:
        query = query.where(p.status == ACTIVE)
    table = _table(fetch_raw(session, query), 13)

    def floats(k: int, scale: float = 1.0) -> Floats:
        column: Floats = table[:, k].astype(np.float64)
        return column / scale if scale != 1.0 else column

    return Catalogue(
        product_id=table[:, 0].astype(np.int64),
        created=floats(1),
        price=floats(2, 100.0),
        mrp=floats(3, 100.0),
        stock=floats(4),
        rating=floats(5),
        rating_count=floats(6),
        buybox=floats(7, 100.0),
        competitor=floats(8, 100.0),
        marketplace=_strings(table[:, 9]),
        category=_strings(table[:, 10]),
        brand=_strings(table[:, 11]),
        status=_strings(table[:, 12]),
    )


def load_activity(
    session: Session, since: dt.datetime | None = None, product_ids: Iterable[int] | None = None
) -> ActivityIndex:
    m = ProductHourlyMetrics.__table__.c
    query = select(
        m.product_id,
        epoch(session, m.hour_start),
        m.views,
        m.clicks,
        m.add_to_carts,
        m.orders,
        m.gmv_paise,
        m.units,
    )
    if since is not None:
        query = query.where(m.hour_start >= since)
    if product_ids is not None:
        query = query.where(m.product_id.in_(list(product_ids)))
    rows = fetch_raw(session, query)
    data = np.array(rows, dtype=np.int64).reshape(len(rows), 8)
    seconds, offset = bucket_geometry()
    return ActivityIndex.build(data[:, 0], data[:, 1], data[:, 2:], seconds, offset)


def load_window_sums(
    session: Session, moment: dt.datetime, product_ids: Iterable[int] | None = None
) -> tuple[Ints, Ints]:
    """(product ids ascending, their integer sums over each trailing window ending at `moment`):
    shape (products, len(WINDOWS), 6), the counters views, clicks, add_to_carts, orders,
    gmv_paise, units — what ActivityIndex.trailing sums, summed by the database instead.

    One row per product with activity, where `load_activity` returns a row per product-hour: on a
    live catalogue a week holds up to 168 of them per product, each a Python tuple."""
    m = ProductHourlyMetrics.__table__.c
    counters = (m.views, m.clicks, m.add_to_carts, m.orders, m.gmv_paise, m.units)
    sums: list[Any] = []
    for _, seconds in WINDOWS:
        begin = moment - dt.timedelta(seconds=seconds)
        for counter in counters:
            value = counter if seconds == LONGEST_WINDOW else case((m.hour_start >= begin, counter), else_=0)
            sums.append(cast(func.sum(value), BigInteger))  # PostgreSQL's sum(bigint) is numeric
    query = (
        select(m.product_id, *sums)
        .where(m.hour_start >= moment - dt.timedelta(seconds=LONGEST_WINDOW), m.hour_start < moment)
        .group_by(m.product_id)
        .order_by(m.product_id)
    )
    if product_ids is not None:
        query = query.where(m.product_id.in_(list(product_ids)))
    rows = fetch_raw(session, query)
    data = np.array(rows, dtype=np.int64).reshape(len(rows), 1 + len(sums))
    return data[:, 0].copy(), data[:, 1:].reshape(len(rows), len(WINDOWS), len(counters))


def frame_from_catalogue(catalogue: Catalogue, index: Any, at: float, activity: ActivityIndex) -> RawFrame:
    ids = catalogue.product_id[index]
    moments = np.full(len(ids), float(at))
    trailing, units_7d = activity.trailing(ids, moments)
    return RawFrame(
        product_id=ids,
        at=moments,
        price=catalogue.price[index],
        mrp=catalogue.mrp[index],
        stock=catalogue.stock[index],
        rating=catalogue.rating[index],
        rating_count=catalogue.rating_count[index],
        buybox=catalogue.buybox[index],
        competitor=catalogue.competitor[index],
        created=catalogue.created[index],
        marketplace=catalogue.marketplace[index],
        category=catalogue.category[index],
        brand=catalogue.brand[index],
        activity=trailing,
        units_7d=units_7d,
    )


def current_frame(session: Session, now: dt.datetime, product_ids: Iterable[int] | None = None) -> RawFrame:
    """Active products as they are now, with trailing activity from complete rollup buckets.

    The frame's moment is the start of the bucket holding `now` — the moment the trailing windows
    end at, and the kind of moment every training snapshot is — so the time features (age, IST
    hour, weekday, festive) change when a bucket closes, not with every cycle. (Summing the
    windows in SQL instead of reading the bucket rows cost SQLite more CPU than it saved.)"""
    catalogue = load_catalogue(session, product_ids, active_only=True)
    moment = bucket_floor(now)
    since = moment - dt.timedelta(seconds=LONGEST_WINDOW)
    ids = None if product_ids is None else catalogue.product_id.tolist()
    activity = load_activity(session, since, ids)
    return frame_from_catalogue(catalogue, slice(None), moment.timestamp(), activity)


# Historised fields: (field, catalogue attribute, scale from the stored integer).
_HISTORISED = (
    (HistoryField.price, "price", 0.01),
    (HistoryField.mrp, "mrp", 0.01),
    (HistoryField.stock, "stock", 1.0),
    (HistoryField.buybox_price, "buybox", 0.01),
    (HistoryField.lowest_competitor_price, "competitor", 0.01),
)


@dataclass(frozen=True)
class History:
    """Everything needed to rebuild any past moment: product rows, their changes, all rollups."""

    catalogue: Catalogue
    fields: dict[str, FieldHistory]
    activity: ActivityIndex

    def frame_at(self, at: int) -> RawFrame:
        """Products listed and active just before `at` (epoch seconds), as they were then. Rating,
        title, brand and category are not historised, so they are taken as they are now."""
        cat = self.catalogue
        listed = np.flatnonzero(cat.created < at)
        ids = cat.product_id[listed]
        moments = np.full(len(ids), float(at))
        status = self.fields["status"].before(ids, moments, cat.status[listed], missing="")
        keep = listed[status == ACTIVE]
        ids, moments = cat.product_id[keep], moments[: len(keep)]
        frame = frame_from_catalogue(cat, keep, float(at), self.activity)
        values: dict[str, Floats] = {}
        for field, attribute, _ in _HISTORISED:
            current = getattr(cat, attribute)[keep]
            values[attribute] = self.fields[field.value].before(ids, moments, current, missing=np.nan)
        return RawFrame(**{**{name: getattr(frame, name) for name in frame.__dataclass_fields__}, **values})

    def orders_after(self, frame: RawFrame, seconds: int = LABEL_SECONDS) -> Floats:
        """The label: orders in [at, at + seconds), `at` being a bucket boundary."""
        begin = self.activity.complete_before(frame.at)
        return self.activity.orders_between(frame.product_id, begin, begin + seconds)


def load_history(session: Session) -> History:
    catalogue = load_catalogue(session)
    h = ProductHistory.__table__.c
    rows = fetch_raw(
        session,
        select(h.product_id, h.field, h.value_int, h.value_text, epoch(session, h.event_time)).order_by(
            h.product_id, h.event_time, h.id
        ),
    )
    cols: list[Sequence[Any]] = [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in range(5)]
    field_of = np.empty(len(rows), dtype=object)
    field_of[:] = cols[1]
    ids = np.array(cols[0], dtype=np.int64)
    seconds = np.array(cols[4], dtype=np.int64)
    value_int = _floats(cols[2])
    value_text = _strings(np.array(cols[3], dtype=object))
    fields: dict[str, FieldHistory] = {}
    for field, _, scale in _HISTORISED:
        mask = field_of == field.value
        fields[field.value] = FieldHistory.build(ids[mask], seconds[mask], value_int[mask] * scale)
    mask = field_of == HistoryField.status.value
    fields["status"] = FieldHistory.build(ids[mask], seconds[mask], value_text[mask])
    return History(catalogue=catalogue, fields=fields, activity=load_activity(session))
