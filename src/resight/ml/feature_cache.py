"""The long-lived scorer's feature state: the scoring frame kept in memory and brought up to date
from what changed, instead of re-reading the whole catalogue and a week of rollups every cycle.

`FeatureCache.frame(session, now)` returns exactly what `present.current_frame(session, now)`
returns (bit for bit, same row order: active products by id), under the assumptions below.

What it keeps: the active products' catalogue columns (sorted by id), each product's integer
sums over the trailing windows (1h, 24h, 7d of rollup buckets ending at the bucket start
`bucket_floor(now)`), the `updated_at` it last read for each product, and the frame built from them.

Each cycle:
1. Bucket closed (the frame's moment moved from m_old to m_new): read only the rollup hours
   entering the windows ([m_old, m_new)) and leaving them ([m_old - w, m_new - w) per window) and
   add / subtract. Counters are integers (revenue in paise), so the sums are exact.
2. Just after a close, until `m_new + lookback`: re-read the hour that closed and apply the
   difference, for events of that hour whose transactions committed after the close read.
3. Products: re-read the rows with `updated_at >= watermark - lookback` (the watermark is this
   process's clock taken before the previous read) or with an id above the highest seen. Their
   catalogue columns are replaced (a product that is no longer active leaves, one that is new or
   active again joins); a product whose `updated_at` differs from the one last read (or that is
   new to the state) has its windows recomputed from its own rollup rows — that is how a late
   event, for an hour that had already closed, arrives: ingestion sets the product's
   `updated_at` in the same transaction (integrations/apply.py).

`FeatureCache.encoded(session, now, spec)` also keeps the last matrix `encode(frame, spec)`: a
row's encoding depends on that row and the spec alone, so only the rows touched since are encoded
again; a different spec object or a bucket close (the time features move) encodes every row.

Assumptions (the reasons for `lookback`, RESIGHT_SCORING_CHANGE_LOOKBACK_SECONDS, 300 s):
- every writer of products sets `updated_at` to its current time, and a write transaction
  commits within `lookback` of that time (clock differences between hosts included);
- an event for a bucket that started before the bucket of its write time bumps its product's
  `updated_at` (ingestion does); an event of the bucket that was current when written commits
  within `lookback` of the bucket's end.
Writers that break them (bulk loads: `resight demo-data`, events/rebuild.py, hand-written SQL)
are absorbed by a rolling resync: each cycle also re-reads, whatever their `updated_at`, the next
slice of product ids — catalogue row and windows recomputed from its own rollups — sized so that
every id is re-read once per RESIGHT_SCORING_RESYNC_HOURS (3 h) of cycle time. That spreads over
~360 cycles what a periodic full reload would do in one (a 15 s cycle at 1,000,000 products).
The full reload — every active product, and every product's window sums from its rollup rows
(present.read_active) — is left for when there is no state (a new lock holding
gets a new ScoringState), when time went backwards, when more than 24 h of buckets were skipped
and when a quarter of the catalogue changed at once. A new model needs no reload: the frame does
not depend on it (its spec only changes the matrix).
See docs/decisions/0601-incremental-scorer-features.md.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from resight.catalog.models import Product
from resight.config import Settings
from resight.db import utcnow
from resight.events.models import ProductHourlyMetrics
from resight.ml.feature_arrays import (
    COUNTERS,
    add_sums,
    align,
    build_frame,
    concat_rows,
    identical,
    replace_rows,
    take_rows,
)
from resight.ml.features import WINDOWS, FeatureSpec, Floats, Ints, RawFrame, encode
from resight.ml.present import read_active
from resight.ml.snapshots import (
    ACTIVE,
    LISTED,
    Catalogue,
    bucket_floor,
    fetch_raw,
    load_catalogue,
    window_sums,
)

Objects = npt.NDArray[np.object_]
SHORTEST = dt.timedelta(seconds=WINDOWS[0][1])  # one bucket: the hour that closed last
MAX_GAP = dt.timedelta(hours=24)  # more buckets skipped than this: reload
RELOAD_SHARE = 0.25  # more products changed at once than this share: a reload is cheaper
CHUNK = LISTED  # ids per IN (...) list
DEFAULT_LOOKBACK = dt.timedelta(minutes=5)
DEFAULT_RESYNC_EVERY = dt.timedelta(hours=3)
RESYNC_STEP = 0.02  # share of the ids the rolling resync re-reads in one cycle, at most


@dataclass
class CacheStats:
    """What the last call did (for tests and benchmarks)."""

    reload: str | None = None  # why it reloaded everything, or None
    advanced: bool = False  # a bucket closed and the windows moved
    rechecked: int = 0  # products whose just-closed hour changed after the close read
    reread: int = 0  # product rows re-read
    recomputed: int = 0  # products whose windows were recomputed from their rollups
    resynced: int = 0  # product ids re-read by the rolling resync, whatever their updated_at


@dataclass
class _State:
    moment: dt.datetime  # the bucket start the windows end at
    resync_base: int  # the rolling resync passes over the ids (resync_base, max_id]
    resynced: float  # share of the current pass done, 0 to 1
    resync_owed: float  # share of a pass the cycle time elapsed calls for, not re-read yet
    resynced_at: dt.datetime  # cycle time of its last step
    watermark: dt.datetime  # clock reading taken before the last read of changed products
    max_id: int
    catalogue: Catalogue  # active products, by id
    # Private, so changed in place; the catalogue's arrays are shared with frames: replaced instead.
    windows: Ints  # (products, len(WINDOWS), COUNTERS) integer sums
    seen: Objects  # updated_at as last read, as the driver returns it (None: not read yet)
    recheck_until: dt.datetime | None
    frame: RawFrame
    # Rows whose values may have changed since the frame was last encoded: these ids, or all.
    touched: list[Ints] = field(default_factory=list)
    touched_all: bool = True
    windows_moved: bool = False  # since the frame was built


@dataclass
class FeatureCache:
    lookback: dt.timedelta = DEFAULT_LOOKBACK
    resync_every: dt.timedelta = DEFAULT_RESYNC_EVERY
    resync_step: float = RESYNC_STEP
    clock: Callable[[], dt.datetime] = utcnow  # the writers' clock, for updated_at
    stats: CacheStats = field(default_factory=CacheStats)
    _state: _State | None = field(default=None, repr=False)
    _encoded: tuple[FeatureSpec, RawFrame, Floats] | None = field(default=None, repr=False)
    _spare: Floats | None = field(default=None, repr=False)  # the matrix returned two calls ago

    @staticmethod
    def from_settings(settings: Settings) -> FeatureCache:
        return FeatureCache(
            lookback=dt.timedelta(seconds=settings.scoring_change_lookback_seconds),
            resync_every=dt.timedelta(hours=settings.scoring_resync_hours),
        )

    def forget(self) -> None:
        self._state, self._encoded, self._spare = None, None, None

    def encoded(self, session: Session, now: dt.datetime, spec: FeatureSpec) -> tuple[RawFrame, Floats]:
        """(frame, encode(frame, spec)), encoding only rows that may differ from the last matrix:
        a row's encoding depends on that row and the spec alone.

        The matrix is valid until the next call but one: that call writes into it, because
        fresh memory for a large matrix costs more here (page faults) than filling it. Holders
        other than the cycle itself (warm.Predictions) keep only the latest one."""
        frame = self.frame(session, now)
        state, last = self._state, self._encoded
        assert state is not None
        if last is not None and last[0] is spec and last[1] is frame:
            return frame, last[2]
        if last is None or last[0] is not spec or state.touched_all:
            x = encode(frame, spec)
        else:
            _, old_frame, old_x = last
            position, found = align(old_frame.product_id, frame.product_id)
            touched = np.concatenate(state.touched) if state.touched else np.empty(0, dtype=np.int64)
            reuse = found & ~np.isin(frame.product_id, touched)
            spare = self._spare if self._spare is not None and len(self._spare) == len(frame) else None
            x = np.take(old_x, position, axis=0, out=spare, mode="clip")  # rows not reused: below
            redo = np.flatnonzero(~reuse)
            if len(redo):
                x[redo] = encode(frame.take(redo), spec)
        state.touched, state.touched_all = [], False
        self._spare = last[2] if last is not None and last[2].shape[1:] == x.shape[1:] else None
        self._encoded = (spec, frame, x)
        return frame, x

    def frame(self, session: Session, now: dt.datetime) -> RawFrame:
        """The active products' frame at `bucket_floor(now)`, as `current_frame` builds it."""
        moment = bucket_floor(now)
        self.stats = CacheStats()
        state = self._state
        reason = self._reload_reason(state, now, moment)
        if state is None or reason is not None:
            return self._reload(session, now, moment, reason or "no state")
        stamp = self.clock()
        changed = False
        if moment != state.moment:
            if state.recheck_until is not None:
                self._recheck(session, state)
            self._advance(session, state, moment)
            closes = moment + self.lookback
            state.recheck_until = closes if now < closes else None
            changed = True
        elif state.recheck_until is not None:
            changed = self._recheck(session, state)
            if now >= state.recheck_until:
                state.recheck_until = None
        refreshed = self._refresh_products(session, state, self._resync_slice(state, now))
        if refreshed is None:
            return self._reload(session, now, moment, "many products changed")
        state.watermark = stamp
        if changed or refreshed:
            same = state.frame.product_id is state.catalogue.product_id and not state.windows_moved
            state.frame = build_frame(
                state.catalogue, state.windows, state.moment, state.frame if same else None
            )
            state.windows_moved = False
        return state.frame

    def _reload_reason(self, state: _State | None, now: dt.datetime, moment: dt.datetime) -> str | None:
        if state is None:
            return "no state"
        if moment < state.moment or now < state.resynced_at:
            return "time went backwards"
        if moment - state.moment > MAX_GAP:
            return "buckets skipped"
        return None

    def _reload(self, session: Session, now: dt.datetime, moment: dt.datetime, reason: str) -> RawFrame:
        """Every active product, with its window sums from the database."""
        stamp = self.clock()
        catalogue, windows = read_active(session, moment)
        ids = catalogue.product_id
        closes = moment + self.lookback
        state = _State(
            moment=moment,
            resync_base=int(session.execute(select(func.min(Product.id))).scalar() or 1) - 1,
            resynced=0.0,
            resync_owed=0.0,
            resynced_at=now,
            watermark=stamp,
            max_id=int(ids.max()) if len(ids) else 0,
            catalogue=catalogue,
            windows=windows,
            seen=np.full(len(ids), None, dtype=object),
            recheck_until=closes if now < closes else None,
            frame=build_frame(catalogue, windows, moment),
        )
        self._state = state
        self.stats.reload = reason
        return state.frame

    def _advance(self, session: Session, state: _State, moment: dt.datetime) -> None:
        """Move every window's end from state.moment to `moment`: add the buckets entering, subtract
        the ones leaving. The 1h window is just the newest bucket: it is set, not updated."""
        ids = state.catalogue.product_id
        windows = state.windows  # private to the state: changed in place (the frame has its own copy)
        newest = _range_sums(session, moment - SHORTEST, moment)
        earlier = _range_sums(session, state.moment, moment - SHORTEST)  # only when buckets were skipped
        windows[:, 0, :] = 0
        add_sums(windows[:, 0, :], ids, *newest, sign=1)
        for w, (_, seconds) in enumerate(WINDOWS[1:], start=1):
            span = dt.timedelta(seconds=seconds)
            add_sums(windows[:, w, :], ids, *newest, sign=1)
            add_sums(windows[:, w, :], ids, *earlier, sign=1)
            add_sums(
                windows[:, w, :], ids, *_range_sums(session, state.moment - span, moment - span), sign=-1
            )
        state.windows, state.moment, state.touched_all, state.windows_moved = windows, moment, True, True
        self.stats.advanced = True

    def _recheck(self, session: Session, state: _State) -> bool:
        """Re-read the bucket that closed last; apply what changed since it was read. The 1h
        window holds exactly that bucket, so it is what the bucket was when last read."""
        ids = state.catalogue.product_id
        fresh = np.zeros((len(ids), COUNTERS), dtype=np.int64)
        add_sums(fresh, ids, *_range_sums(session, state.moment - SHORTEST, state.moment), sign=1)
        difference = fresh - state.windows[:, 0, :]
        moved = np.flatnonzero(difference.any(axis=1))
        state.touched.append(ids[moved])
        self.stats.rechecked += len(moved)
        if len(moved) == 0:
            return False
        state.windows[moved] += difference[moved][:, None, :]
        state.windows_moved = True
        return True

    def _resync_slice(self, state: _State, now: dt.datetime) -> tuple[int, int]:
        """The ids (first, last] the rolling resync re-reads in this cycle: it moves through the
        ids in proportion to the cycle time elapsed, a whole pass per resync period, but at most
        `resync_step` of them per cycle (after a pause it catches up over the next cycles)."""
        if state.resynced >= 1.0:
            state.resynced = 0.0  # a pass is complete: start the next one
        state.resync_owed += max((now - state.resynced_at) / self.resync_every, 0.0)
        step = min(state.resync_owed, self.resync_step, 1.0 - state.resynced)
        base, span = state.resync_base, max(state.max_id - state.resync_base, 0)
        first = base + math.floor(state.resynced * span)
        state.resynced, state.resync_owed, state.resynced_at = (
            state.resynced + step,
            state.resync_owed - step,
            now,
        )
        return (first, base + math.floor(state.resynced * span))

    def _refresh_products(self, session: Session, state: _State, resync: tuple[int, int]) -> bool | None:
        """Re-read changed products and the resync slice; False if none, None if so many that a
        reload is cheaper."""
        p = Product.__table__.c
        changes = select(p.id, p.updated_at)
        # Separate statements, each on its index: with OR, SQLite scans the table.
        rows = fetch_raw(session, changes.where(p.updated_at >= state.watermark - self.lookback))
        rows += fetch_raw(session, changes.where(p.id > state.max_id))
        self.stats.reread = len({row[0] for row in rows})
        if len(rows) > CHUNK and len(rows) > RELOAD_SHARE * len(state.catalogue.product_id):
            return None
        resynced = fetch_raw(session, changes.where(p.id > resync[0], p.id <= resync[1]))
        self.stats.resynced = len(resynced)
        rows += resynced
        if not rows:
            return False
        listed: Objects = np.empty((len(rows), 2), dtype=object)
        listed[:] = rows
        first = np.unique(listed[:, 0].astype(np.int64), return_index=True)[1]
        listed = listed[first]  # by id, each once
        changed_ids = listed[:, 0].astype(np.int64)
        fresh = concat_rows([load_catalogue(session, chunk.tolist()) for chunk in _chunks(changed_ids)])
        fresh_seen = listed[np.searchsorted(changed_ids, fresh.product_id), 1]
        state.max_id = max(state.max_id, int(changed_ids[-1]))
        state.touched.append(changed_ids)

        old_ids = state.catalogue.product_id
        position, found = align(old_ids, fresh.product_id)
        active = fresh.status == ACTIVE
        same_seen = found.copy()
        if found.any():
            same_seen[found] = np.equal(state.seen[position[found]], fresh_seen[found]).astype(bool)
        windows = np.zeros((len(fresh.product_id), len(WINDOWS), COUNTERS), dtype=np.int64)
        windows[found] = state.windows[position[found]]
        forced = np.isin(fresh.product_id, np.array([row[0] for row in resynced], dtype=np.int64))
        recompute = np.flatnonzero(active & (~same_seen | forced))
        if len(recompute):
            windows[recompute] = window_sums(session, fresh.product_id[recompute], state.moment)
        self.stats.recomputed = len(recompute)

        if len(fresh.product_id) == len(changed_ids) and bool(np.all(found & active)):
            at = position  # the same products, some values changed: replace them in copies
            state.catalogue = replace_rows(state.catalogue, at, fresh)
            state.windows_moved |= not identical(state.windows[at], windows)
            state.windows[at] = windows
            state.seen[at] = fresh_seen
            return True
        keep = ~np.isin(old_ids, changed_ids)
        joined = concat_rows([take_rows(state.catalogue, keep), take_rows(fresh, active)])
        all_windows = np.concatenate([state.windows[keep], windows[active]])
        all_seen = np.concatenate([state.seen[keep], fresh_seen[active]])
        if len(joined.product_id) > 1 and not bool(np.all(np.diff(joined.product_id) > 0)):
            order = np.argsort(joined.product_id, kind="stable")
            joined, all_windows, all_seen = take_rows(joined, order), all_windows[order], all_seen[order]
        state.catalogue, state.windows, state.seen = joined, all_windows, all_seen
        state.windows_moved = True
        return True


def _chunks(ids: Ints) -> list[Ints]:
    return [ids[start : start + CHUNK] for start in range(0, len(ids), CHUNK)]


def _range_sums(session: Session, begin: dt.datetime, end: dt.datetime) -> tuple[Ints, Ints]:
    """(product ids ascending, counters summed over their buckets starting in [begin, end))."""
    m = ProductHourlyMetrics.__table__.c
    if begin >= end:
        return np.empty(0, dtype=np.int64), np.empty((0, COUNTERS), dtype=np.int64)
    rows = fetch_raw(
        session,
        select(m.product_id, m.views, m.clicks, m.add_to_carts, m.orders, m.gmv_paise, m.units).where(
            m.hour_start >= begin, m.hour_start < end
        ),
    )
    data = np.array(rows, dtype=np.int64).reshape(len(rows), COUNTERS + 1)
    data = data[np.argsort(data[:, 0], kind="stable")]
    starts = np.flatnonzero(np.r_[True, data[1:, 0] != data[:-1, 0]]) if len(data) else np.empty(0, np.int64)
    if len(starts) == len(data):  # one bucket per product: nothing to add up
        return data[:, 0].copy(), data[:, 1:].copy()
    return data[starts, 0], np.add.reduceat(data[:, 1:], starts, axis=0)
