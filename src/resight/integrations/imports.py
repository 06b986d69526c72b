"""Seller-panel report files (CSV) -> normalised records, line by line.

Three reports: the Myntra orders report (columns named like our Myntra webhook fields), the Meesho
supplier-panel orders file (its exact headers, including the "Commision" misspelling), and a
generic catalogue file for any platform. Good lines become records, bad lines are reported with
their line number (the header is line 1) and a reason naming the column. Whole-file problems
(not text, unknown report, a required column missing) raise ReportError.

Order rows reuse the webhook adapters' models, so a row and a webhook message mean the same thing.
A report carries no time for a status change, so a cancellation or return is dated at the order.
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import io
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, model_validator

from resight.catalog.models import Platform
from resight.integrations import meesho, myntra
from resight.integrations.fields import (
    Identifier,
    Name,
    Rupees,
    Sku,
    Stock,
    Text,
    problems,
    report_time_to_utc,
)
from resight.integrations.messages import ListingState
from resight.integrations.records import Normalized, ProductUpdate

MAX_REJECTIONS_LISTED = 1000  # a file of nothing but bad lines would otherwise make a huge response


class ReportKind(enum.StrEnum):
    myntra_orders = "myntra_orders"
    meesho_orders = "meesho_orders"
    catalogue = "catalogue"


class ReportError(ValueError):
    """The file as a whole cannot be read as the report it claims to be."""


@dataclass(frozen=True, slots=True)
class Rejection:
    line: int
    reason: str


@dataclass(slots=True)
class ParsedReport:
    kind: ReportKind
    rows: int = 0
    accepted: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    rejected_count: int = 0
    normalized: Normalized = field(default_factory=Normalized)

    def reject(self, line: int, reason: str) -> None:
        self.rejected_count += 1
        if len(self.rejected) < MAX_REJECTIONS_LISTED:
            self.rejected.append(Rejection(line, reason))


def header_key(text: str) -> str:
    """'Sub Order No' -> 'sub_order_no'; 'Supplier Listed Price (Incl. GST + Commission)' ->
    'supplier_listed_price_incl_gst_commission'."""
    return re.sub(r"[^a-z0-9]+", "_", text.strip().lower()).strip("_")


@dataclass(frozen=True, slots=True)
class Layout:
    """How a report's columns map to model fields."""

    columns: Mapping[str, str | None]  # header key -> field (None: a known column we ignore)
    required: tuple[str, ...]  # fields whose column must be present
    time_fields: tuple[str, ...]  # fields holding report dates (day-first formats allowed)
    defaults: Mapping[str, str] = field(default_factory=dict)  # for columns a file may leave out


MEESHO_ORDERS = Layout(
    columns={
        "reason_for_credit_entry": "order_status",
        "sub_order_no": "sub_order_no",
        "order_date": "order_date",
        "customer_state": "customer_state",
        "product_name": "product_name",
        "sku": "sku",
        "catalog_id": "catalog_id",
        "size": "size",
        "quantity": "quantity",
        "supplier_listed_price_incl_gst_commission": "supplier_listed_price",
        "supplier_discounted_price_incl_gst_and_commision": "supplier_discounted_price",
        "supplier_discounted_price_incl_gst_and_commission": "supplier_discounted_price",
        "packet_id": None,
    },
    required=("order_status", "sub_order_no", "order_date", "sku", "quantity", "supplier_discounted_price"),
    time_fields=("order_date",),
)
_MYNTRA_FIELDS = (
    "style_id seller_sku_code sku_id style_name brand article_type size order_id order_line_id "
    "order_status quantity total_mrp discount final_amount created_on state"
).split()
MYNTRA_ORDERS = Layout(
    columns={name: name for name in _MYNTRA_FIELDS},
    required=("order_id", "order_line_id", "seller_sku_code", "order_status", "final_amount", "created_on"),
    time_fields=("created_on",),
    defaults={"quantity": "1"},  # the report has one unit per line when it has no quantity column
)
CATALOGUE = Layout(
    columns={
        **{name: name for name in "sku external_id title brand category mrp price stock status".split()},
        "updated_at": "updated_at",
        "seller_sku_code": "sku",
        "asin": "external_id",
        "style_id": "external_id",
        "catalog_id": "external_id",
        "product_name": "title",
        "style_name": "title",
        "article_type": "category",
        "selling_price": "price",
        "inventory": "stock",
        "inventory_count": "stock",
        "listing_status": "status",
    },
    required=("sku",),
    time_fields=("updated_at",),
)
LAYOUTS = {
    ReportKind.myntra_orders: MYNTRA_ORDERS,
    ReportKind.meesho_orders: MEESHO_ORDERS,
    ReportKind.catalogue: CATALOGUE,
}
PLATFORM_OF = {ReportKind.myntra_orders: Platform.myntra, ReportKind.meesho_orders: Platform.meesho}


class CatalogueRow(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    sku: Sku
    external_id: Identifier | None = None
    title: Text | None = None
    brand: Name | None = None
    category: Name | None = None
    mrp: Rupees | None = None
    price: Rupees | None = None
    stock: Stock | None = None
    status: ListingState | None = None
    updated_at: dt.datetime | None = None

    @model_validator(mode="after")
    def _price_within_mrp(self) -> CatalogueRow:
        if self.mrp is not None and self.price is not None and self.price > self.mrp:
            raise ValueError("price must not exceed mrp")
        return self


CATALOGUE_ROW = TypeAdapter(CatalogueRow)


def decode_text(raw: bytes) -> str:
    """UTF-8 (a BOM is dropped); else Windows-1252, which is what Excel saves a CSV in."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise ReportError("the file is not text (expected a CSV in UTF-8)") from exc


def read_rows(text: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header and (line number, cells) of every non-blank row; quoted cells may hold commas
    and line breaks, lines may end in CRLF."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ReportError("the file is empty") from None
    except csv.Error as exc:
        raise ReportError(f"line 1: {exc}") from exc

    def rows() -> Iterator[tuple[int, list[str]]]:
        line = reader.line_num + 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise ReportError(f"line {line}: {exc}") from exc
            if any(cell.strip() for cell in cells):
                yield line, cells
            line = reader.line_num + 1

    return header, rows()


def detect(keys: set[str]) -> ReportKind:
    if "sub_order_no" in keys:
        return ReportKind.meesho_orders
    if "order_line_id" in keys:
        return ReportKind.myntra_orders
    if "sku" in keys or "seller_sku_code" in keys:
        return ReportKind.catalogue
    raise ReportError(
        "cannot tell which report this is: expected a Meesho orders file (Sub Order No, ...), "
        "a Myntra orders report (order_line_id, ...) or a catalogue file (sku, title, price, ...)"
    )


def parse_report(
    raw: bytes, platform: Platform, *, received_at: dt.datetime, kind: ReportKind | None = None
) -> ParsedReport:
    """A report file -> records from its good lines and a rejection for each bad line."""
    header, rows = read_rows(decode_text(raw))
    keys = [header_key(cell) for cell in header]
    kind = kind or detect(set(keys))
    expected = PLATFORM_OF.get(kind)
    if expected is not None and expected is not platform:
        raise ReportError(f"a {kind.value} file cannot be imported into a {platform.value} store")
    layout = LAYOUTS[kind]
    fields: list[str | None] = [layout.columns.get(key) for key in keys]
    labels = {name: header[i].strip() for i, name in reversed(list(enumerate(fields))) if name}
    missing = [name for name in layout.required if name not in labels]
    if missing:
        raise ReportError(f"the {kind.value} file lacks the column(s): {', '.join(missing)}")
    row_to_records = _ROW_PARSERS[kind]
    parsed = ParsedReport(kind=kind)
    for line, cells in rows:
        parsed.rows += 1
        if len(cells) > len(fields) and any(cell.strip() for cell in cells[len(fields) :]):
            parsed.reject(line, f"{len(cells)} cells but the header names {len(fields)} columns")
            continue
        values: dict[str, Any] = dict(layout.defaults)
        for name, cell in zip(fields, cells, strict=False):
            if name is not None and cell.strip():
                values[name] = cell.strip()
        try:
            for name in layout.time_fields:
                if name in values:
                    values[name] = _report_time(values[name], labels[name])
            records = row_to_records(values, received_at)
        except ValidationError as exc:
            parsed.reject(line, _reason(exc, labels))
            continue
        except ValueError as exc:
            parsed.reject(line, str(exc))
            continue
        parsed.accepted += 1
        parsed.normalized.products.extend(records.products)
        parsed.normalized.events.extend(records.events)
    parsed.normalized.notification_type = f"import:{kind.value}"
    return parsed


def _report_time(value: str, label: str) -> dt.datetime:
    try:
        return report_time_to_utc(value)
    except ValueError as exc:
        raise ValueError(f"{label}: {exc}") from exc


def _reason(error: ValidationError, labels: Mapping[str, str]) -> str:
    parts = []
    for location, reason in problems(error, tags=myntra.EVENT_TYPES):
        label = labels.get(location, location) or "row"
        if reason == "Field required":
            reason = "missing value"
        parts.append(f"{label}: {reason}")
    return "; ".join(parts)


def _myntra_order(values: dict[str, Any], _received_at: dt.datetime) -> Normalized:
    created = values.get("created_on")
    message = myntra.MESSAGE.validate_python({**values, "event_type": "order", "event_time": created})
    return myntra.normalize(message)


def _meesho_order(values: dict[str, Any], _received_at: dt.datetime) -> Normalized:
    ordered = values.get("order_date")
    message = meesho.MESSAGE.validate_python({**values, "event_type": "order", "event_time": ordered})
    return meesho.normalize(message)


def _catalogue(values: dict[str, Any], received_at: dt.datetime) -> Normalized:
    row = CATALOGUE_ROW.validate_python(values)
    update = ProductUpdate(
        sku=row.sku,
        event_time=row.updated_at or received_at,
        external_id=row.external_id,
        title=row.title,
        brand=row.brand,
        category=row.category,
        mrp_paise=row.mrp,
        price_paise=row.price,
        stock=row.stock,
        status=row.status,
    )
    return Normalized(products=[update])


_ROW_PARSERS: dict[ReportKind, Callable[[dict[str, Any], dt.datetime], Normalized]] = {
    ReportKind.myntra_orders: _myntra_order,
    ReportKind.meesho_orders: _meesho_order,
    ReportKind.catalogue: _catalogue,
}
