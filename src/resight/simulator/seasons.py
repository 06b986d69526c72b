"""The simulated calendar, as data: festive sale windows and the IST daily and weekly cycles."""

from __future__ import annotations

from typing import Final, TypedDict


class FestiveWindow(TypedDict):
    name: str
    start: str  # first IST day, inclusive (YYYY-MM-DD)
    end: str  # last IST day, inclusive
    platforms: tuple[str, ...]  # empty: every marketplace
    traffic: float  # views multiplier
    conversion: float  # add-to-cart -> order multiplier
    categories: dict[str, float]  # extra traffic multiplier for top-level categories


# Traffic by IST hour of day (0 = midnight to 1 am); normalised to mean 1 when used.
HOURLY_TRAFFIC: Final[tuple[float, ...]] = (
    0.40, 0.25, 0.15, 0.10, 0.09, 0.12, 0.25, 0.45, 0.65, 0.80, 0.90, 0.95,
    1.00, 1.05, 0.95, 0.90, 0.92, 1.00, 1.15, 1.35, 1.60, 1.75, 1.55, 0.95,
)  # fmt: skip

# Traffic by IST day of week, Monday first; normalised to mean 1 when used.
WEEKDAY_TRAFFIC: Final[tuple[float, ...]] = (0.95, 0.93, 0.95, 0.97, 1.02, 1.08, 1.10)

FESTIVE_CALENDAR: Final[tuple[FestiveWindow, ...]] = (
    {"name": "Republic Day sale", "start": "2025-01-17", "end": "2025-01-21", "platforms": (),
     "traffic": 1.4, "conversion": 1.265, "categories": {}},
    {"name": "End of Reason Sale-style (summer)", "start": "2025-06-13", "end": "2025-06-18",
     "platforms": ("myntra",), "traffic": 1.8, "conversion": 1.322, "categories": {}},
    {"name": "Prime Day-style sale", "start": "2025-07-12", "end": "2025-07-14", "platforms": ("amazon",),
     "traffic": 1.7, "conversion": 1.322, "categories": {"Electronics": 1.2}},
    {"name": "Mega Blockbuster-style sale", "start": "2025-09-19", "end": "2025-09-27",
     "platforms": ("meesho",), "traffic": 1.9, "conversion": 1.38, "categories": {}},
    {"name": "Big Fashion Festival-style sale", "start": "2025-09-22", "end": "2025-10-02",
     "platforms": ("myntra",), "traffic": 2.0, "conversion": 1.38, "categories": {}},
    {"name": "Great Indian Festival-style sale", "start": "2025-09-23", "end": "2025-10-16",
     "platforms": ("amazon",), "traffic": 1.8, "conversion": 1.38, "categories": {"Electronics": 1.2}},
    {"name": "Diwali week", "start": "2025-10-14", "end": "2025-10-20", "platforms": (),
     "traffic": 1.5, "conversion": 1.265, "categories": {"Ethnic Wear": 1.3, "Home & Kitchen": 1.3}},
    {"name": "End of Reason Sale-style (winter)", "start": "2025-12-12", "end": "2025-12-16",
     "platforms": ("myntra",), "traffic": 1.8, "conversion": 1.322, "categories": {}},
    {"name": "Republic Day sale", "start": "2026-01-16", "end": "2026-01-20", "platforms": (),
     "traffic": 1.4, "conversion": 1.265, "categories": {}},
    {"name": "End of Reason Sale-style (summer)", "start": "2026-06-12", "end": "2026-06-17",
     "platforms": ("myntra",), "traffic": 1.8, "conversion": 1.322, "categories": {}},
    {"name": "Prime Day-style sale", "start": "2026-07-11", "end": "2026-07-13", "platforms": ("amazon",),
     "traffic": 1.7, "conversion": 1.322, "categories": {"Electronics": 1.2}},
    {"name": "Independence Day sale", "start": "2026-08-07", "end": "2026-08-11", "platforms": (),
     "traffic": 1.3, "conversion": 1.208, "categories": {}},
    {"name": "Mega Blockbuster-style sale", "start": "2026-09-30", "end": "2026-10-07",
     "platforms": ("meesho",), "traffic": 1.9, "conversion": 1.38, "categories": {}},
    {"name": "Big Fashion Festival-style sale", "start": "2026-10-02", "end": "2026-10-11",
     "platforms": ("myntra",), "traffic": 2.0, "conversion": 1.38, "categories": {}},
    {"name": "Great Indian Festival-style sale", "start": "2026-10-01", "end": "2026-10-22",
     "platforms": ("amazon",), "traffic": 1.8, "conversion": 1.38, "categories": {"Electronics": 1.2}},
    {"name": "Diwali week", "start": "2026-11-02", "end": "2026-11-08", "platforms": (),
     "traffic": 1.5, "conversion": 1.265, "categories": {"Ethnic Wear": 1.3, "Home & Kitchen": 1.3}},
    {"name": "Black Friday-style weekend", "start": "2026-11-27", "end": "2026-11-30",
     "platforms": ("amazon", "myntra"), "traffic": 1.3, "conversion": 1.208, "categories": {}},
    {"name": "End of Reason Sale-style (winter)", "start": "2026-12-11", "end": "2026-12-15",
     "platforms": ("myntra",), "traffic": 1.8, "conversion": 1.322, "categories": {}},
    {"name": "Republic Day sale", "start": "2027-01-15", "end": "2027-01-19", "platforms": (),
     "traffic": 1.4, "conversion": 1.265, "categories": {}},
    {"name": "End of Reason Sale-style (summer)", "start": "2027-06-11", "end": "2027-06-16",
     "platforms": ("myntra",), "traffic": 1.8, "conversion": 1.322, "categories": {}},
    {"name": "Prime Day-style sale", "start": "2027-07-10", "end": "2027-07-12", "platforms": ("amazon",),
     "traffic": 1.7, "conversion": 1.322, "categories": {"Electronics": 1.2}},
    {"name": "Independence Day sale", "start": "2027-08-06", "end": "2027-08-10", "platforms": (),
     "traffic": 1.3, "conversion": 1.208, "categories": {}},
    {"name": "Mega Blockbuster-style sale", "start": "2027-09-22", "end": "2027-09-29",
     "platforms": ("meesho",), "traffic": 1.9, "conversion": 1.38, "categories": {}},
    {"name": "Great Indian Festival-style sale", "start": "2027-09-23", "end": "2027-10-14",
     "platforms": ("amazon",), "traffic": 1.8, "conversion": 1.38, "categories": {"Electronics": 1.2}},
    {"name": "Big Fashion Festival-style sale", "start": "2027-09-24", "end": "2027-10-03",
     "platforms": ("myntra",), "traffic": 2.0, "conversion": 1.38, "categories": {}},
    {"name": "Diwali week", "start": "2027-10-25", "end": "2027-10-31", "platforms": (),
     "traffic": 1.5, "conversion": 1.265, "categories": {"Ethnic Wear": 1.3, "Home & Kitchen": 1.3}},
    {"name": "Black Friday-style weekend", "start": "2027-11-26", "end": "2027-11-29",
     "platforms": ("amazon", "myntra"), "traffic": 1.3, "conversion": 1.208, "categories": {}},
    {"name": "End of Reason Sale-style (winter)", "start": "2027-12-10", "end": "2027-12-14",
     "platforms": ("myntra",), "traffic": 1.8, "conversion": 1.322, "categories": {}},
    {"name": "Republic Day sale", "start": "2028-01-14", "end": "2028-01-18", "platforms": (),
     "traffic": 1.4, "conversion": 1.265, "categories": {}},
)  # fmt: skip
