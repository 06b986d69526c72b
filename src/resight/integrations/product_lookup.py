"""Finding the products a delivery names, and creating those it is the first to name.

A record names its product by SKU, or by the marketplace's id (ASIN) when the payload carries no
SKU (`by_external_id`). A product first seen by ASIN only is created with sku = ASIN (a
placeholder); a product update naming a SKU beside that ASIN adopts the placeholder, which learns
its SKU. States are dicts of the columns the delivery needs (integrations/product_state.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import compress
from operator import attrgetter, itemgetter, not_
from typing import Any

from sqlalchemy.orm import Session

from resight.bulksql import Bulk, placeholders
from resight.catalog.models import ListingStatus, Product
from resight.db import utcnow
from resight.dialect import upsert_insert
from resight.integrations.product_state import STATE_COLUMNS
from resight.integrations.records import EventRecord, ProductUpdate, StoreRef

CHUNK = 5000
_STATUS_BY_NAME = {status.name: status for status in ListingStatus}  # Enum[name] is slow per row
_SKU = attrgetter("sku")
_BY_EXTERNAL_ID = attrgetter("by_external_id")
_ID = itemgetter("id")
_FIRST = itemgetter(0)


def _product_select(columns: Sequence[str], column: str, count: int, sqlite: bool) -> str:
    # By external id, SQLite without ANALYZE statistics picks the (store_id, sku) index and scans
    # the whole store; `+store_id` keeps that term off the index so it probes external_id.
    store = "+store_id" if sqlite and column == "external_id" else "store_id"
    where = f"{store} = ? AND {column} IN ({placeholders(count)})"
    statement = f"SELECT {', '.join(columns)} FROM products WHERE {where}"
    # PostgreSQL locks the rows in id order, so concurrent deliveries for the same products apply
    # one after the other without deadlocking. SQLite has one writer; its rows are put in id order
    # in Python (Catalog._select), which costs a fraction of the temporary b-tree an ORDER BY
    # copies every column into.
    return statement if sqlite else statement + " ORDER BY id FOR UPDATE"


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


class Catalog:
    """The store's products named by one delivery, as mutable dicts keyed by SKU and by ASIN:
    `columns` of each (a subset of STATE_COLUMNS with at least product_state.BASE_COLUMNS)."""

    def __init__(self, session: Session, store: StoreRef, columns: Sequence[str] = STATE_COLUMNS) -> None:
        self.session = session
        self.store = store
        self.columns = tuple(columns)
        assert self.columns[0] == "id"  # rows are put in id order by their first value
        self.by_sku: dict[str, dict[str, Any]] = {}
        self.by_external: dict[str, dict[str, Any]] = {}
        self.created: dict[str, int] = {}  # sku -> id of products this delivery created
        self.bulk = Bulk(session)

    def _remember(self, rows: Iterable[Any]) -> None:
        # Time columns stay as read (product_state compares them in their stored form).
        statuses = _STATUS_BY_NAME if "status" in self.columns else None
        columns = self.columns
        for row in rows:
            state = dict(zip(columns, row))  # noqa: B905 (the SELECT lists these columns)
            if statuses is not None:
                state["status"] = statuses[state["status"]]
            state["_dirty"] = set()
            self.by_sku[state["sku"]] = state
            if state["external_id"] is not None:
                self.by_external.setdefault(state["external_id"], state)

    def _select(self, column: str, values: set[str]) -> None:
        for chunk in _chunks(sorted(values)):
            statement = _product_select(self.columns, column, len(chunk), self.bulk.sqlite)
            rows = self.bulk.query(statement, [self.store.id, *chunk])
            if self.bulk.sqlite:
                rows.sort(key=_FIRST)  # id order, as PostgreSQL's ORDER BY gives them (id is first)
            # In id order, the first of two products sharing an ASIN is the one an ASIN finds.
            self._remember(rows)

    def load(self, skus: set[str], external_ids: set[str]) -> None:
        if skus:
            self._select("sku", skus)
        missing = external_ids - self.by_external.keys()
        if missing:
            self._select("external_id", missing)

    def create(self, new: dict[str, str | None]) -> None:
        """Insert products first named by this delivery (sku -> external id), then load them."""
        if not new:
            return
        now = utcnow()
        rows = [
            {
                "store_id": self.store.id,
                "marketplace": self.store.platform,
                "sku": sku,
                "external_id": external_id,
                "created_at": now,
                "updated_at": now,
            }
            for sku, external_id in sorted(new.items())
        ]
        statement = upsert_insert(self.session, Product.__table__)  # type: ignore[arg-type]
        # A concurrent delivery may create the same SKU first: then we load and use its row.
        self.session.execute(statement.on_conflict_do_nothing(index_elements=["store_id", "sku"]), rows)
        before = set(self.by_sku)
        self._select("sku", set(new))
        self.created.update((sku, state["id"]) for sku, state in self.by_sku.items() if sku not in before)

    def find(self, sku: str, external_id: str | None, by_external_id: bool) -> dict[str, Any] | None:
        if by_external_id:
            return self.by_external.get(sku) or self.by_sku.get(sku)
        found = self.by_sku.get(sku)
        if found is None and external_id is not None:
            # A product first seen by ASIN only was created with sku = ASIN: it now learns its SKU.
            placeholder = self.by_sku.get(external_id)
            if placeholder is not None and placeholder["sku"] == placeholder["external_id"] == external_id:
                del self.by_sku[external_id]
                placeholder["sku"] = sku
                placeholder["_dirty"].add("sku")
                self.by_sku[sku] = placeholder
                found = placeholder
        return found

    def unique(self) -> dict[int, dict[str, Any]]:
        """Each product once (the state found by SKU first), by id in id order."""
        states = [*self.by_sku.values(), *self.by_external.values()]
        states.reverse()  # so that the first state of each id is the one kept
        by_id = dict(zip(map(_ID, states), states))  # noqa: B905 (same list)
        return dict(sorted(by_id.items()))


def resolve(catalog: Catalog, records: list[ProductUpdate | EventRecord]) -> dict[str, int]:
    """Load every product the records name, create the missing ones; which record named each
    product created (its index), by SKU."""
    adopting = adopting_records(records)
    if adopting:
        return resolve_in_order(catalog, records, adopting)
    return _resolve_by_sets(catalog, records)


def adopting_records(records: list[ProductUpdate | EventRecord]) -> dict[int, str]:
    """The product updates naming an ASIN beside their SKU (they may adopt the placeholder created
    for that ASIN), by index: their ASIN."""
    return {
        index: record.external_id
        for index, record in enumerate(records)
        if type(record) is ProductUpdate and not record.by_external_id and record.external_id is not None
    }


def _resolve_by_sets(catalog: Catalog, records: list[ProductUpdate | EventRecord]) -> dict[str, int]:
    """`resolve` when no record may adopt a placeholder: then finding a product has no side
    effect, so the keys named are looked up as sets (same result as resolve_in_order)."""
    skus = list(map(_SKU, records))
    by_external_id = list(map(_BY_EXTERNAL_ID, records))
    named_by_sku = list(compress(skus, map(not_, by_external_id)))
    named_by_external = list(compress(skus, by_external_id))
    external_ids = set(named_by_external)
    catalog.load(set(skus), external_ids)
    new_by_sku = set(named_by_sku) - catalog.by_sku.keys()
    new_by_external = external_ids - new_by_sku - catalog.by_external.keys() - catalog.by_sku.keys()
    new: dict[str, str | None] = dict.fromkeys(new_by_sku)
    new.update((external_id, external_id) for external_id in new_by_external)
    first: dict[str, int] = {}
    if new:
        # The first record (those naming a SKU first) that named each new product.
        indexes = range(len(records))
        for named, flags in (
            (named_by_external, by_external_id),
            (named_by_sku, list(map(not_, by_external_id))),
        ):
            positions = list(compress(indexes, flags))
            named.reverse()
            positions.reverse()
            first.update((sku, index) for sku, index in zip(named, positions) if sku in new)  # noqa: B905
    catalog.create(new)
    return first


def resolve_in_order(
    catalog: Catalog, records: list[ProductUpdate | EventRecord], adopting: dict[int, str]
) -> dict[str, int]:
    """`resolve` record by record, as if applied one after another (adoption changes what a SKU finds)."""
    skus = {record.sku for record in records}
    external_ids = {record.sku for record in records if record.by_external_id}
    skus.update(adopting.values())
    catalog.load(skus, external_ids)
    new: dict[str, str | None] = {}
    new_external_ids: set[str] = set()  # the values of `new`
    first: dict[str, int] = {}
    # Records naming a SKU first, so that an ASIN-only record of the same item uses that product.
    order = [index for index, record in enumerate(records) if not record.by_external_id]
    order.extend(index for index, record in enumerate(records) if record.by_external_id)
    # Finding a product has no side effect unless the record names an ASIN beside its SKU (it
    # may adopt a placeholder, which changes what a SKU finds): a run of the others looks each
    # (SKU, by ASIN) up once, and a record that may adopt starts a new run.
    looked_up: tuple[set[str], set[str]] = (set(), set())
    find = catalog.find
    for index in order:
        record = records[index]
        sku = record.sku
        by_external_id = record.by_external_id
        external_id: str | None = None
        if index in adopting:
            external_id = adopting[index]
            looked_up[0].clear()
            looked_up[1].clear()
        else:
            seen = looked_up[by_external_id]
            if sku in seen:
                continue
            seen.add(sku)
            if by_external_id:
                external_id = sku
                if external_id in new_external_ids:
                    continue
        if sku not in new and find(sku, external_id, by_external_id) is None:
            new[sku] = external_id
            if external_id is not None:
                new_external_ids.add(external_id)
            first[sku] = index
    catalog.create(new)
    return first
