"""Indian festive sale windows (IST dates, inclusive), the `festive` feature's calendar.

The big marketplace sales cluster around Navratri–Diwali, Independence Day and Republic Day; the
exact dates move every year, so they are listed rather than computed.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt

from resight.india import IST

FESTIVE_WINDOWS: tuple[tuple[dt.date, dt.date], ...] = (
    (dt.date(2025, 1, 13), dt.date(2025, 1, 19)),  # Republic Day sales
    (dt.date(2025, 8, 8), dt.date(2025, 8, 15)),  # Independence Day sales
    (
        dt.date(2025, 9, 22),
        dt.date(2025, 10, 22),
    ),  # Navratri, Big Billion Days / Great Indian Festival, Diwali
    (dt.date(2025, 12, 20), dt.date(2025, 12, 31)),  # year-end sales
    (dt.date(2026, 1, 16), dt.date(2026, 1, 26)),
    (dt.date(2026, 8, 7), dt.date(2026, 8, 15)),
    (dt.date(2026, 10, 10), dt.date(2026, 11, 10)),  # Diwali falls on 8 November 2026
    (dt.date(2026, 12, 19), dt.date(2026, 12, 31)),
    (dt.date(2027, 1, 15), dt.date(2027, 1, 26)),
    (dt.date(2027, 8, 6), dt.date(2027, 8, 15)),
    (dt.date(2027, 10, 1), dt.date(2027, 10, 31)),  # Diwali falls on 29 October 2027
    (dt.date(2027, 12, 18), dt.date(2027, 12, 31)),
)


def _bounds() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    starts = [dt.datetime.combine(a, dt.time(), IST).timestamp() for a, _ in FESTIVE_WINDOWS]
    ends = [
        dt.datetime.combine(b + dt.timedelta(days=1), dt.time(), IST).timestamp() for _, b in FESTIVE_WINDOWS
    ]
    return np.asarray(starts, dtype=np.float64), np.asarray(ends, dtype=np.float64)


_STARTS, _ENDS = _bounds()


def festive_flag(epoch_seconds: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """1.0 where the moment falls inside a festive window, else 0.0 (windows do not overlap)."""
    index = np.searchsorted(_STARTS, epoch_seconds, side="right") - 1
    inside = (index >= 0) & (epoch_seconds < _ENDS[np.clip(index, 0, None)])
    return inside.astype(np.float64)
