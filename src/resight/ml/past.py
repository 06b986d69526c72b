"""The past, for training: every product's history of prices, stock and status and every rollup,
read once, so that any past moment's frame is rebuilt from data before that moment only (the
point-in-time rule tests/ml/test_features.py checks)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from resight.catalog.models import HistoryField, ProductHistory
from resight.ml.features import ActivityIndex, FieldHistory, Floats, RawFrame
from resight.ml.snapshots import (
    ACTIVE,
    Catalogue,
    epoch,
    fetch_raw,
    frame_from_catalogue,
    load_activity,
    load_catalogue,
    shared_strings,
)

LABEL_SECONDS = 86_400  # the label: orders in the next 24 hours


def _floats(values: Sequence[Any]) -> Floats:
    return np.array(values, dtype=np.float64) if len(values) else np.empty(0, dtype=np.float64)


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
    value_text = shared_strings(np.array(cols[3], dtype=object))
    fields: dict[str, FieldHistory] = {}
    for field, _, scale in _HISTORISED:
        mask = field_of == field.value
        fields[field.value] = FieldHistory.build(ids[mask], seconds[mask], value_int[mask] * scale)
    mask = field_of == HistoryField.status.value
    fields["status"] = FieldHistory.build(ids[mask], seconds[mask], value_text[mask])
    return History(catalogue=catalogue, fields=fields, activity=load_activity(session))
