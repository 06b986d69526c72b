"""The present: every active product as it is now, with its trailing window sums — what a cycle
without memory scores (`current_frame`) and what the scorer's memory starts from
(feature_cache's reload).

The two reads are independent, and each is mostly the database's own work, which runs without
the GIL: the products' rows (formatting their integers) and the week's rollups (aggregating a
bucket's rows into texts). On a large catalogue the rollups are read on a second connection, on
another thread, while this one reads the products: the features stage of a cycle without memory
costs about the longer of the two instead of their sum (docs/decisions/0601, "Reading the two
at once").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from resight.catalog.models import Product
from resight.db import reader_beside
from resight.ml.features import Ints, RawFrame, window_activity
from resight.ml.snapshots import Catalogue, bucket_floor, catalogue_frame, load_catalogue, window_sums

# From this many products on, the rollups are read beside the products: a thread and a pooled
# connection cost about a millisecond, the two reads together ~8 µs per product.
BESIDE_FROM = 20_000
# The rollups read beside are summed into an array indexed by product id (the catalogue is not
# known yet); ids spread thinner than this over their range are read after the products instead.
DENSITY = 0.5


def current_frame(session: Session, now: dt.datetime, product_ids: Iterable[int] | None = None) -> RawFrame:
    """Active products as they are now, with trailing activity from complete rollup buckets.

    The frame's moment is the start of the bucket holding `now` — the moment the trailing windows
    end at, and the kind of moment every training snapshot is — so the time features (age, IST
    hour, weekday, festive) change when a bucket closes, not with every cycle. The window sums
    are the integers ActivityIndex.trailing would add up from the same rollup rows
    (`window_sums`), converted the same way (`features.window_activity`)."""
    moment = bucket_floor(now)
    if product_ids is None:
        catalogue, windows = read_active(session, moment)
    else:
        catalogue = load_catalogue(session, product_ids, active_only=True)
        windows = window_sums(session, catalogue.product_id, moment)
    at = np.full(len(catalogue.product_id), moment.timestamp())
    return catalogue_frame(catalogue, at, *window_activity(windows))


def read_active(session: Session, moment: dt.datetime) -> tuple[Catalogue, Ints]:
    """Every active product (`load_catalogue`) and its window sums at `moment` (`window_sums`):
    the same arrays whether the rollups are read beside the products or after them."""
    low, high, count = session.execute(select(func.min(Product.id), func.max(Product.id), func.count())).one()
    span = (high - low + 1) if count else 0
    reader = reader_beside(session) if count >= BESIDE_FROM and count >= DENSITY * span else None
    if reader is None:
        catalogue = load_catalogue(session, active_only=True)
        return catalogue, window_sums(session, catalogue.product_id, moment, restrict=False)
    with reader, ThreadPoolExecutor(max_workers=1, thread_name_prefix="resight-rollups") as pool:
        by_id = pool.submit(window_sums, reader, np.arange(low, high + 1), moment, restrict=False)
        catalogue = load_catalogue(session, active_only=True)
        dense = by_id.result()
    return catalogue, _take(session, catalogue.product_id, moment, dense, low)


def _take(session: Session, ids: Ints, moment: dt.datetime, dense: Ints, low: int) -> Ints:
    """The window sums of `ids` from `dense` (row k: product id low + k). A product added after
    the range was read (a commit between the two statements) is summed from its own rows."""
    inside = (ids >= low) & (ids < low + len(dense))
    windows: Ints = np.zeros((len(ids), *dense.shape[1:]), dtype=np.int64)
    windows[inside] = dense[ids[inside] - low]
    if not inside.all():
        windows[~inside] = window_sums(session, ids[~inside], moment)
    return windows
