"""Reading the stored state into `RawFrame`s: the present (products + rollups, for scoring) and
the building blocks the past is read with (ml/past.py: product history + rollups, for training) —
each moment sees only data from before it.

Everything is fetched in a few statements and handled with numpy; times come out of the database
as integer epoch seconds so no row is touched by Python. Where a cycle reads every product, the
integers come as texts the database builds and numpy parses (`packed_columns`, `row_integers`):
a Python object per value read cost more than the database's own work
(docs/decisions/0601-incremental-scorer-features.md, "Cycles without memory").
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Text,
    case,
    cast,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from resight.catalog.models import ListingStatus, Product
from resight.events import rollups
from resight.events.models import ProductHourlyMetrics
from resight.ml.features import (
    WINDOWS,
    ActivityIndex,
    Floats,
    Ints,
    RawFrame,
    Strings,
)

ACTIVE = ListingStatus.active.value
LONGEST_WINDOW = max(seconds for _, seconds in WINDOWS)
# Separators and formats are written into the SQL: SQLite reads a bound one again for every row.
_COMMA: ColumnElement[str] = literal_column("','")
_NO_INTEGERS: Ints = np.empty(0, dtype=np.int64)
LISTED = 10_000  # ids per IN (...) list, below SQLite's limit on bound parameters


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
    if sqlite3.sqlite_version_info >= (3, 38):  # the same seconds at half the cost of strftime
        return func.unixepoch(column, type_=Integer)
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


def shared_strings(values: npt.NDArray[Any]) -> Strings:
    """Text values, None as "", each distinct value one shared object: its hash is computed once,
    so the dictionary lookups that encode and the rules make per product cost a third."""
    shared: dict[Any, Any] = {None: ""}
    items = np.asarray(values, dtype=object).tolist()
    out: Strings = np.empty(len(items), dtype=object)
    out[:] = list(map(shared.setdefault, items, items))
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


def row_integers(session: Session, columns: Sequence[Any]) -> ColumnElement[str]:
    """A row's integer `columns` (no NULLs) as one text "a,b,c" (read back by `unpack_rows`)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.concat_ws(_COMMA, *columns)
    return func.printf(literal_column("'" + ",".join(["%d"] * len(columns)) + "'"), *columns)


def unpack_rows(texts: list[str], width: int) -> Ints:
    """`row_integers`' texts as an int64 array (rows, width)."""
    values = np.fromstring(",".join(texts), dtype=np.int64, sep=",") if texts else _NO_INTEGERS
    if len(values) != len(texts) * width:
        raise ValueError(f"packed rows: {len(values)} values for {len(texts)} rows of {width}")
    return values.reshape(len(texts), width)


def load_catalogue(
    session: Session, product_ids: Iterable[int] | None = None, active_only: bool = False
) -> Catalogue:
    """Product rows by id. The integer columns come as one text per row (`row_integers`, with a
    bit mask of the NULL ones), parsed by numpy: 8 Python objects fewer per product."""
    p = Product.__table__.c
    nullable = (
        p.price_paise,
        p.mrp_paise,
        p.stock,
        p.rating_count,
        p.buybox_price_paise,
        p.lowest_competitor_price_paise,
    )
    nulls = sum((cast(column.is_(None), Integer) * (1 << k) for k, column in enumerate(nullable)), literal(0))
    integers = (p.id, epoch(session, p.created_at), *(func.coalesce(c, 0) for c in nullable), nulls)
    status = () if active_only else (p.status,)  # active_only: every row's status is ACTIVE
    query = select(row_integers(session, integers), p.rating, p.marketplace, p.category, p.brand, *status)
    query = query.order_by(p.id)
    if product_ids is not None:
        query = query.where(p.id.in_(list(product_ids)))
    if active_only:
        query = query.where(p.status == ACTIVE)
    table = _table(fetch_raw(session, query), 5 + len(status))
    numbers = unpack_rows(table[:, 0].tolist(), len(integers))
    missing = numbers[:, -1]

    def floats(k: int, scale: float = 1.0) -> Floats:
        column: Floats = numbers[:, 2 + k].astype(np.float64)
        column[(missing >> k) & 1 == 1] = np.nan
        return column / scale if scale != 1.0 else column

    count = len(numbers)
    return Catalogue(
        product_id=numbers[:, 0].copy(),
        created=numbers[:, 1].astype(np.float64),
        price=floats(0, 100.0),
        mrp=floats(1, 100.0),
        stock=floats(2),
        rating=table[:, 1].astype(np.float64),
        rating_count=floats(3),
        buybox=floats(4, 100.0),
        competitor=floats(5, 100.0),
        marketplace=shared_strings(table[:, 2]),
        category=shared_strings(table[:, 3]),
        brand=shared_strings(table[:, 4]),
        status=shared_strings(table[:, 5]) if status else np.full(count, ACTIVE, dtype=object),
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


def packed_columns(session: Session, columns: Sequence[Any]) -> list[ColumnElement[str]]:
    """Aggregates: each of the integer `columns` (no NULLs) of a group's rows as one text "a,b,c",
    every text listing the rows in the same order (PostgreSQL: by the first column).

    Read back with `unpack_columns`: numpy parses the texts in C, where fetching the same values
    as rows costs a Python object per value (~0.1 µs each: most of reading 100,000 products'
    rollups). A text per column, rather than one per row made with printf, halves what the
    database spends formatting. Integers only: their text is exact and holds no separator."""
    if session.get_bind().dialect.name == "postgresql":
        order = aggregate_order_by(_COMMA, columns[0])
        return [func.string_agg(cast(column, Text), order) for column in columns]
    return [func.group_concat(column, _COMMA) for column in columns]


def unpack_columns(texts: Sequence[str | None]) -> Ints:
    """`packed_columns`' texts as an int64 array (rows, columns)."""
    parsed = [np.fromstring(text, dtype=np.int64, sep=",") if text else _NO_INTEGERS for text in texts]
    if any(len(column) != len(parsed[0]) for column in parsed):
        raise ValueError("packed columns of different lengths")
    table: Ints = np.empty((len(parsed[0]), len(parsed)), dtype=np.int64)
    for k, column in enumerate(parsed):
        table[:, k] = column
    return table


def window_sums(session: Session, product_ids: Ints, moment: dt.datetime, restrict: bool = True) -> Ints:
    """Integer sums over each trailing window ending at `moment` (WINDOWS: 1h, 24h, 7d of rollup
    buckets starting in [moment - window, moment)) for the products `product_ids` (ascending):
    shape (products, len(WINDOWS), 6) — views, clicks, add_to_carts, orders, gmv_paise, units;
    zeros for a product without activity. What ActivityIndex.trailing sums, for one moment.

    One statement: a group per bucket (in `hour_start` order, from its index), its rows packed
    into a text per column (`packed_columns`) and added to the narrowest window holding the
    bucket; the windows are nested, so a running sum over them gives each window. Memory holds
    one bucket's texts at a time, however many buckets a week of a live catalogue has (up to 168
    per product). `restrict`: read only these products' rows (IN lists of at most LISTED ids,
    `_listed_window_sums`) rather than every product's rows of the week (rows of other products
    are ignored)."""
    m = ProductHourlyMetrics.__table__.c
    counters = (m.views, m.clicks, m.add_to_carts, m.orders, m.gmv_paise, m.units)
    if restrict:
        parts = [
            _listed_window_sums(session, product_ids[start : start + LISTED], moment, counters)
            for start in range(0, len(product_ids), LISTED)
        ]
        if not parts:
            return np.zeros((0, len(WINDOWS), len(counters)), dtype=np.int64)
        return np.concatenate(parts)
    windows: Ints = np.zeros((len(product_ids), len(WINDOWS), len(counters)), dtype=np.int64)
    query = (
        select(epoch(session, m.hour_start), *packed_columns(session, (m.product_id, *counters)))
        .where(m.hour_start >= moment - dt.timedelta(seconds=LONGEST_WINDOW), m.hour_start < moment)
        .group_by(m.hour_start)
    )
    end = int(moment.timestamp())
    bounds = np.array([seconds for _, seconds in WINDOWS], dtype=np.int64)
    result = session.connection().execute(query)
    cursor = result.cursor
    try:
        for start, *texts in iter(cursor.fetchone, None):
            rows = unpack_columns(texts)
            if len(product_ids) == 0 or len(rows) == 0:
                continue
            narrowest = int(np.searchsorted(bounds, end - int(start)))  # a bucket starts in [end - w, end)
            position = np.minimum(np.searchsorted(product_ids, rows[:, 0]), len(product_ids) - 1)
            found = product_ids[position] == rows[:, 0]
            # One row per product and bucket (the primary key), so no position repeats.
            windows[position[found], narrowest] += rows[found, 1:]
    finally:
        result.close()
    for w in range(1, len(WINDOWS)):  # each window's buckets so far are the ones it alone holds
        windows[:, w] += windows[:, w - 1]
    return windows


def _listed_window_sums(session: Session, product_ids: Ints, moment: dt.datetime, counters: Any) -> Ints:
    """`window_sums` of a list of products: summed by the database, a row per product, through
    the primary key (product_id, hour_start). Grouped by bucket instead, SQLite would scan the
    whole week by `hour_start` and filter the list (5× the CPU for 10,000 of 1,000,000 products)."""
    m = ProductHourlyMetrics.__table__.c
    sums: list[Any] = []
    for _, seconds in WINDOWS:
        begin = moment - dt.timedelta(seconds=seconds)
        for counter in counters:
            value = counter if seconds == LONGEST_WINDOW else case((m.hour_start >= begin, counter), else_=0)
            sums.append(cast(func.sum(value), BigInteger))  # PostgreSQL's sum(bigint) is numeric
    query = (
        select(m.product_id, *sums)
        .where(m.hour_start >= moment - dt.timedelta(seconds=LONGEST_WINDOW), m.hour_start < moment)
        .where(m.product_id.in_(product_ids.tolist()))
        .group_by(m.product_id)
    )
    rows = fetch_raw(session, query)
    data = np.array(rows, dtype=np.int64).reshape(len(rows), 1 + len(sums))
    windows: Ints = np.zeros((len(product_ids), len(WINDOWS), len(counters)), dtype=np.int64)
    if len(data) and len(product_ids):
        position = np.minimum(np.searchsorted(product_ids, data[:, 0]), len(product_ids) - 1)
        found = product_ids[position] == data[:, 0]
        windows[position[found]] = data[found, 1:].reshape(-1, len(WINDOWS), len(counters))
    return windows


def catalogue_frame(catalogue: Catalogue, at: Floats, activity: Floats, units_7d: Floats) -> RawFrame:
    """The frame of every product in `catalogue` at the moments `at`, with its trailing activity."""
    return RawFrame(
        product_id=catalogue.product_id,
        at=at,
        price=catalogue.price,
        mrp=catalogue.mrp,
        stock=catalogue.stock,
        rating=catalogue.rating,
        rating_count=catalogue.rating_count,
        buybox=catalogue.buybox,
        competitor=catalogue.competitor,
        created=catalogue.created,
        marketplace=catalogue.marketplace,
        category=catalogue.category,
        brand=catalogue.brand,
        activity=activity,
        units_7d=units_7d,
    )


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
