"""Reading Amazon SP-API notification fields whatever their key case (PascalCase or camelCase)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from resight.india import rupees_to_paise
from resight.integrations.records import NormalizationError

AMAZON_IN = "A21TJRUUN4KGV"
MAX_SKU = 200
MAX_EXTERNAL_ID = 100


# Key shapes remembered per Keys, each of at most _SHAPE_KEYS_MAX keys (Amazon's objects have a
# dozen), so that odd senders cannot grow them without end; others are worked out each time.
_SHAPES_MAX = 1024
_SHAPE_KEYS_MAX = 64


class Keys(dict[tuple[str, ...], tuple[str | None, ...]]):
    """Where a few fields are in JSON objects, whatever the case of their keys: `of(value, what)`
    gives, for each lower-case field name, the key as sent (None when absent), so that
    `value.get(key)` reads the field whatever the case of its key, without a lower-cased copy of
    each object. Worked out once per key shape (the keys in order): the objects of one kind of
    notification come in a handful of shapes. Of two keys differing only in case, the last one
    wins. Hot paths index it directly, `keys[tuple(value)]`, once they have checked that `value`
    is a dict (`if type(value) is not dict: require_object(value, what)`)."""

    __slots__ = ("_names",)

    def __init__(self, *names: str) -> None:
        super().__init__()
        self._names = names

    def __missing__(self, shape: tuple[str, ...]) -> tuple[str | None, ...]:
        as_sent = {key.lower(): key for key in shape}  # JSON object keys are strings
        found = tuple([as_sent.get(name) for name in self._names])
        if len(self) < _SHAPES_MAX and len(shape) <= _SHAPE_KEYS_MAX:
            self[shape] = found
        return found

    def of(self, value: Any, what: str) -> tuple[str | None, ...]:
        if type(value) is not dict:
            require_object(value, what)
        return self[tuple(value)]


def require_object(value: Any, what: str) -> None:
    """NormalizationError for anything but a JSON object (a dict, perhaps a subclass of it)."""
    if not isinstance(value, dict):
        raise NormalizationError(f"{what} must be a JSON object")


def array(value: Any, what: str) -> list[dict[Any, Any]]:
    """A JSON array of objects (None: empty), the entries as sent: each is read through a Keys.
    Every entry is checked before any is read, so a wrong one is reported first, by its index."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise NormalizationError(f"{what} must be a JSON array")
    for index, entry in enumerate(value):
        if type(entry) is not dict and not isinstance(entry, dict):
            raise NormalizationError(f"{what}[{index}] must be a JSON object")
    return value


def text(value: Any, what: str, *, limit: int = MAX_SKU) -> str:
    if type(value) is str and 0 < len(value) <= limit and value.strip() is value:
        return value  # the usual case, checked at the cost of one strip()
    if not isinstance(value, str) or not value.strip():
        raise NormalizationError(f"{what} is missing or not a string")
    stripped: str = value.strip()
    if len(stripped) > limit:
        raise NormalizationError(f"{what} is longer than {limit} characters")
    return stripped


def opt_text(value: Any, what: str, *, limit: int = MAX_EXTERNAL_ID) -> str | None:
    return None if value is None or value == "" else text(value, what, limit=limit)


_from_iso = dt.datetime.fromisoformat
_UTC = dt.UTC


def time(value: Any, what: str) -> dt.datetime:
    if type(value) is not str and not isinstance(value, str):
        raise NormalizationError(f"{what} is missing or not an ISO 8601 date-time")
    try:
        moment = _from_iso(value)
    except ValueError as exc:
        raise NormalizationError(f"{what} is not an ISO 8601 date-time: {value!r}") from exc
    zone = moment.tzinfo
    if zone is not _UTC:
        if zone is None:
            raise NormalizationError(f"{what} has no time zone: {value!r}")
        moment = moment.astimezone(_UTC)
    return moment


def opt_time(value: Any, what: str) -> dt.datetime | None:
    return None if value is None else time(value, what)


def integer(value: Any, what: str, *, minimum: int = 0) -> int:
    if type(value) is int and value >= minimum:
        return value  # the usual case (bool, a subclass of int, is not)
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise NormalizationError(f"{what} is missing or not a whole number")
    if isinstance(value, Decimal) and value != value.to_integral_value():
        raise NormalizationError(f"{what} is not a whole number: {value}")
    number = int(value)
    if number < minimum:
        raise NormalizationError(f"{what} must be at least {minimum}, got {number}")
    return number


_FAST_RUPEES = 10**12  # amounts below this take the fast paths of amount_paise


def amount_paise(value: Any, what: str) -> int:
    """A number in major units (rupees) to integer minor units (paise), exactly."""
    if type(value) is int and 0 <= value < _FAST_RUPEES:
        return value * 100  # whole rupees, the usual case (bool, a subclass of int, is not)
    if type(value) is Decimal and value.is_finite() and 0 <= value < _FAST_RUPEES:
        # Scaled and compared, not `as_integer_ratio` (half the cost, but a sender's amount with
        # a million digits would make a million-digit integer: a minute of CPU; decision 0303).
        scaled = value.scaleb(2)  # exact: only the exponent changes
        if scaled == scaled.to_integral_value():
            return int(scaled)  # whole paise, the usual case; fractions of a paisa are rounded below
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float | str):
        raise NormalizationError(f"{what} is not an amount")
    try:
        paise = rupees_to_paise(value if not isinstance(value, float) else repr(value))
    except ValueError as exc:
        raise NormalizationError(f"{what}: {exc}") from exc
    if paise < 0:
        raise NormalizationError(f"{what} is negative")
    return paise


def money_paise(value: Any, what: str) -> int | None:
    """Amazon money `{Amount, CurrencyCode}` to paise. ReSight does no currency conversion: amounts
    are taken in the store's marketplace currency (INR on Amazon.in)."""
    if value is None:
        return None
    if type(value) is not dict:
        require_object(value, what)
    (key,) = _MONEY[tuple(value)]
    amount = value.get(key)
    if amount is None:
        return None
    if type(amount) is int and 0 <= amount < _FAST_RUPEES:
        return amount * 100  # as amount_paise, without writing the field's path
    return amount_paise(amount, f"{what}.Amount")


_MONEY = Keys("amount")
