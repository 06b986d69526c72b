"""Field parsing shared by our Myntra and Meesho formats and the report imports.

Amounts arrive as rupee strings ("1,299.50", "₹499") or JSON numbers and become integer paise
exactly (Decimal, never float). Times are ISO 8601; a time without an offset is taken as IST,
because that is what Indian seller panels mean. Every failure is a ValueError whose message
names the problem, so pydantic and the CSV importer can both report it against the field.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, StringConstraints, ValidationError, WithJsonSchema

from resight.india import IST, PAISE_PER_RUPEE

# ₹1 crore. Nothing a seller lists or sells in one line on these marketplaces comes near it;
# a bigger figure is a unit mistake (paise sent as rupees, a pasted phone number).
MAX_RUPEES = Decimal(10_000_000)
MAX_ORDER_QUANTITY = 10_000
MAX_STOCK = 10_000_000
MAX_TRAFFIC_COUNT = 1_000_000_000
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)

_AMOUNT_TEXT = re.compile(r"^(?:₹|rs\.?|inr)?\s*([0-9][0-9,]*(?:\.[0-9]+)?|\.[0-9]+)$", re.IGNORECASE)


_PLAIN_AMOUNT = re.compile(r"[0-9]{1,8}(?:\.[0-9]{1,2})?")  # "1299", "1299.5": most amounts
MAX_PAISE = int(MAX_RUPEES) * PAISE_PER_RUPEE


def to_paise(value: Any) -> int:
    """Rupees (string or number) -> integer paise; rejects NaN, infinity, negatives, sub-paisa
    fractions and amounts over ₹1 crore."""
    kind = type(value)
    if kind is int and 0 <= value <= MAX_RUPEES:
        return int(value) * PAISE_PER_RUPEE
    if kind is str and _PLAIN_AMOUNT.fullmatch(value):
        whole, _, fraction = value.partition(".")
        exact = int(whole) * PAISE_PER_RUPEE + int(fraction.ljust(2, "0") or "0")
        if exact <= MAX_PAISE:
            return exact
    if isinstance(value, bool):
        raise ValueError(f"not an amount in rupees: {value!r}")
    if isinstance(value, int | Decimal):
        amount = Decimal(value)
    elif isinstance(value, float):
        # Only reached when a caller parsed JSON without Decimal; repr() is the shortest exact text.
        amount = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        if text.startswith("-"):
            raise ValueError(f"amount must not be negative: {value!r}")
        match = _AMOUNT_TEXT.match(text)
        if match is None:
            raise ValueError(f"not an amount in rupees: {value!r}")
        digits = match.group(1)
        if "," in digits and not _well_grouped(digits.split(".")[0]):
            raise ValueError(f"misplaced thousands separator in {value!r}")
        try:
            amount = Decimal(digits.replace(",", ""))
        except InvalidOperation as exc:  # pragma: no cover - the pattern admits only digits
            raise ValueError(f"not an amount in rupees: {value!r}") from exc
    else:
        raise ValueError(f"not an amount in rupees: {value!r}")
    if not amount.is_finite():
        raise ValueError(f"not a finite amount: {value!r}")
    if amount < 0:
        raise ValueError(f"amount must not be negative: {value!r}")
    if amount > MAX_RUPEES:
        raise ValueError(f"amount {value!r} is over ₹1,00,00,000; send rupees, not paise")
    paise = amount * PAISE_PER_RUPEE
    if paise != paise.to_integral_value():
        raise ValueError(f"amount {value!r} has fractions of a paisa")
    return int(paise)


def _well_grouped(whole: str) -> bool:
    """'1,299' and '1,23,456' (lakh grouping) and '123,456' are fine; '12,34,5' is not."""
    groups = whole.split(",")
    if not groups[0] or any(not group for group in groups):
        return False
    tail = groups[-1]
    middle = groups[1:-1]
    return len(tail) == 3 and len(groups[0]) <= 3 and all(len(g) in (2, 3) for g in middle)


def to_count(value: Any, *, minimum: int, maximum: int) -> int:
    """A whole number in [minimum, maximum], from an int or a digit string ("1,200" allowed)."""
    if isinstance(value, bool):
        raise ValueError(f"not a whole number: {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, Decimal | float):
        if not Decimal(value).is_finite() or value != int(value):
            raise ValueError(f"not a whole number: {value!r}")
        number = int(value)
    elif isinstance(value, str) and re.fullmatch(r"-?[0-9][0-9,]*", value.strip()):
        number = int(value.strip().replace(",", ""))
    else:
        raise ValueError(f"not a whole number: {value!r}")
    if number < minimum:
        raise ValueError(f"must be at least {minimum}, got {number}")
    if number > maximum:
        raise ValueError(f"must be at most {maximum:,}, got {number:,}")
    return number


def to_utc(value: Any) -> dt.datetime:
    """ISO 8601 date-time -> aware UTC. Without an offset the time is IST."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        if len(text) <= 10:
            raise ValueError(f"needs a date and a time, e.g. 2026-11-28T10:15:00+05:30, got {value!r}")
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"not an ISO 8601 date-time: {value!r}") from exc
    else:
        raise ValueError(f"not an ISO 8601 date-time: {value!r}")
    return _checked(moment, value)


# Seller-panel exports write dates many ways; day-first, as Indian panels do.
_REPORT_FORMATS = (
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%d-%m-%Y",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%d-%b-%Y %H:%M:%S",
    "%d-%b-%Y",
    "%d %b %Y",
    "%d-%b-%y",
)


def report_time_to_utc(value: str) -> dt.datetime:
    """A report cell: ISO 8601 (date-only allowed) or a day-first Indian format; IST unless offset."""
    text = value.strip()
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        for pattern in _REPORT_FORMATS:
            try:
                moment = dt.datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
        else:
            raise ValueError(f"not a date we can read: {value!r} (use YYYY-MM-DD or DD-MM-YYYY)") from None
    return _checked(moment, value)


def _checked(moment: dt.datetime, original: Any) -> dt.datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=IST)
    moment = moment.astimezone(dt.UTC)
    if not EARLIEST <= moment < LATEST:
        raise ValueError(f"date-time out of range: {original!r}")
    return moment


def _to_text(value: Any) -> Any:
    # Ids often arrive as JSON numbers (style_id 1234567); they are identifiers, not quantities.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


_AMOUNT_SCHEMA = {
    "anyOf": [
        {"type": "number", "minimum": 0, "maximum": int(MAX_RUPEES)},
        {"type": "string", "pattern": r"^\s*(₹|Rs\.?|INR)?\s*[0-9][0-9,]*(\.[0-9]{1,2})?\s*$"},
    ],
    "description": 'Rupees: a number or a string such as "1299.50" or "₹1,299". Stored as integer paise.',
}
_TIME_SCHEMA = {
    "type": "string",
    "format": "date-time",
    "description": "ISO 8601 with an offset, e.g. 2026-11-28T10:15:00+05:30. Without an offset: IST.",
}

Rupees = Annotated[int, BeforeValidator(to_paise), WithJsonSchema(_AMOUNT_SCHEMA)]
Moment = Annotated[dt.datetime, BeforeValidator(to_utc), WithJsonSchema(_TIME_SCHEMA)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Sku = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Identifier = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    BeforeValidator(_to_text),
    WithJsonSchema({"anyOf": [{"type": "string", "minLength": 1, "maxLength": 100}, {"type": "integer"}]}),
]


def _counter(minimum: int, maximum: int) -> tuple[BeforeValidator, WithJsonSchema]:
    return (
        BeforeValidator(lambda value: to_count(value, minimum=minimum, maximum=maximum)),
        WithJsonSchema({"type": "integer", "minimum": minimum, "maximum": maximum}),
    )


_ORDER_QUANTITY = _counter(1, MAX_ORDER_QUANTITY)
_STOCK = _counter(0, MAX_STOCK)
_TRAFFIC = _counter(0, MAX_TRAFFIC_COUNT)
_MINUTES = _counter(1, 24 * 60)
OrderQuantity = Annotated[int, _ORDER_QUANTITY[0], _ORDER_QUANTITY[1]]
Stock = Annotated[int, _STOCK[0], _STOCK[1]]
TrafficCount = Annotated[int, _TRAFFIC[0], _TRAFFIC[1]]
BucketMinutes = Annotated[int, _MINUTES[0], _MINUTES[1]]


def problems(error: ValidationError, *, tags: Collection[str] = ()) -> list[tuple[str, str]]:
    """(location, reason) per problem, e.g. ("[2].final_amount", "not an amount in rupees: 'x'").

    `tags` are the discriminator values of a tagged union: pydantic puts the chosen branch in
    the error location, which is noise for the sender.
    """
    found = []
    for item in error.errors(include_url=False):
        location = ""
        for part in item["loc"]:
            if isinstance(part, int):
                location += f"[{part}]"
            elif part not in tags:
                location += f".{part}" if location else str(part)
        if item["type"] in ("union_tag_invalid", "union_tag_not_found"):
            location += ".event_type" if location else "event_type"
        found.append((location, item["msg"].removeprefix("Value error, ")))
    return found


def describe(error: ValidationError, *, tags: Collection[str] = ()) -> str:
    """A pydantic error as one readable line: `final_amount: reason; quantity: reason`."""
    return "; ".join(f"{location or 'body'}: {reason}" for location, reason in problems(error, tags=tags))
