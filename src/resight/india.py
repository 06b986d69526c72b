"""Indian conventions: rupees and paise, IST, and ₹ with lakh/crore digit grouping."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

IST = ZoneInfo("Asia/Kolkata")
PAISE_PER_RUPEE = 100
_PAISA = Decimal("0.01")


def paise_to_rupees(paise: int) -> Decimal:
    return (Decimal(paise) / PAISE_PER_RUPEE).quantize(_PAISA)


def rupees_to_paise(rupees: Decimal | int | str) -> int:
    """Exact conversion; a value with fractions of a paisa is rounded half-up to the paisa."""
    try:
        value = Decimal(str(rupees)) if not isinstance(rupees, Decimal) else rupees
    except InvalidOperation as exc:
        raise ValueError(f"not an amount in rupees: {rupees!r}") from exc
    if not value.is_finite():
        raise ValueError(f"not a finite amount: {rupees!r}")
    return int((value * PAISE_PER_RUPEE).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def group_indian(digits: str) -> str:
    """'12345678' -> '1,23,45,678': the last three digits, then groups of two."""
    if len(digits) <= 3:
        return digits
    head, tail = digits[:-3], digits[-3:]
    groups: list[str] = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    if head:
        groups.insert(0, head)
    return ",".join([*groups, tail])


def format_inr(paise: int, *, with_paise: bool = True) -> str:
    sign = "-" if paise < 0 else ""
    rupees, rest = divmod(abs(paise), PAISE_PER_RUPEE)
    text = f"{sign}₹{group_indian(str(rupees))}"
    return f"{text}.{rest:02d}" if with_paise else text


def to_ist(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(IST)
