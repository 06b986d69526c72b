"""Seller-panel report files: parsing line by line, then the upload endpoint end to end."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from resight.audit.models import AuditLog
from resight.catalog.models import ListingStatus, Platform, Product
from resight.events.models import EventType
from resight.integrations.imports import ReportError, ReportKind, parse_report
from resight.integrations.models import DeliveryStatus, WebhookDelivery
from tests.integrations.own_formats import events_of
from tests.integrations.support import admin, create_store

NOW = dt.datetime(2026, 11, 28, 6, 0, tzinfo=dt.UTC)
MEESHO_HEADER = (
    "Reason for Credit Entry,Sub Order No,Order Date,Customer State,Product Name,SKU,Size,Quantity,"
    "Supplier Listed Price (Incl. GST + Commission),"
    "Supplier Discounted Price (Incl GST and Commision),Packet Id"
)


def meesho_file(*rows: str, bom: bool = True, crlf: bool = True) -> bytes:
    text = "\n".join([MEESHO_HEADER, *rows]) + "\n\n\n"
    if crlf:
        text = text.replace("\n", "\r\n")
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


GOOD_MEESHO = meesho_file(
    'DELIVERED,1001_1,2026-11-20,Karnataka,"Saree, Red ""Banarasi""",S-1,Free Size,1,"₹1,049.00","₹1,000",P1',
    "RTO_COMPLETE,1002_1,21-11-2026,Kerala,Kurti,S-2,M,2,500,450.50,P2",
    'CANCELLED,1003_1,22/11/2026 10:00,Goa,"Kurti\nwith a line break",S-2,M,1,500,abc,P3',
    "Bogus,1004_1,2026-11-22,Goa,Kurti,S-2,M,1,500,400,P4",
    "SHIPPED,1005_1,2026-13-45,Goa,Kurti,S-2,M,1,500,400,P5",
    ",,,,,,,,,,",
    "PENDING,1006_1,2026-11-23,Goa,Kurti,,M,0,500,400,P6",
)


def test_meesho_orders_file_keeps_good_lines_and_reports_bad_ones() -> None:
    parsed = parse_report(GOOD_MEESHO, Platform.meesho, received_at=NOW)
    assert parsed.kind is ReportKind.meesho_orders
    assert (parsed.rows, parsed.accepted, parsed.rejected_count) == (6, 2, 4)
    assert [(r.line, r.reason) for r in parsed.rejected] == [
        (4, "Supplier Discounted Price (Incl GST and Commision): not an amount in rupees: 'abc'"),
        (6, "Reason for Credit Entry: unknown order status 'Bogus'; expected one of " + _MEESHO_STATUSES),
        (7, "Order Date: not a date we can read: '2026-13-45' (use YYYY-MM-DD or DD-MM-YYYY)"),
        (9, "SKU: missing value; Quantity: must be at least 1, got 0"),
    ]
    events = [
        (e.event_type, e.sku, e.external_id, e.quantity, e.revenue_paise, e.event_time)
        for e in parsed.normalized.events
    ]
    ist_midnight = dt.datetime(2026, 11, 19, 18, 30, tzinfo=dt.UTC)  # 2026-11-20 00:00 IST
    assert events == [
        (EventType.order, "S-1", "1001_1", 1, 100_000, ist_midnight),
        (EventType.order, "S-2", "1002_1", 2, 90_100, ist_midnight + dt.timedelta(days=1)),
        (EventType.return_, "S-2", "1002_1", 2, 90_100, ist_midnight + dt.timedelta(days=1)),
    ]
    titles = [(p.sku, p.title) for p in parsed.normalized.products]
    assert titles == [("S-1", 'Saree, Red "Banarasi"'), ("S-2", "Kurti")]


_MEESHO_STATUSES = (
    "PENDING, READY_TO_SHIP, HOLD, SHIPPED, OUT_FOR_DELIVERY, DELIVERED, DOOR_STEP_EXCHANGED, LOST, "
    "CANCELLED, CANCELED, RTO, RTO_INITIATED, RTO_LOCKED, RTO_OFD, RTO_COMPLETE, RETURN, RETURNED"
)


def test_plain_utf8_with_lf_reads_the_same() -> None:
    plain = GOOD_MEESHO.removeprefix(b"\xef\xbb\xbf").replace(b"\r\n", b"\n")
    a = parse_report(GOOD_MEESHO, Platform.meesho, received_at=NOW)
    b = parse_report(plain, Platform.meesho, received_at=NOW)
    assert (a.accepted, a.rejected, a.normalized.events) == (b.accepted, b.rejected, b.normalized.events)


def test_windows_1252_file_is_read() -> None:
    raw = "sku,title,price\r\nS1,Caf\xe9 mug,199\r\n".encode("cp1252")
    parsed = parse_report(raw, Platform.amazon, received_at=NOW)
    assert [p.title for p in parsed.normalized.products] == ["Café mug"]


@pytest.mark.parametrize(
    ("raw", "platform", "message"),
    [
        (b"", Platform.meesho, "the file is empty"),
        (b"name,colour\nA,red\n", Platform.meesho, "cannot tell which report this is"),
        (GOOD_MEESHO, Platform.myntra, "a meesho_orders file cannot be imported into a myntra store"),
        (b"Sub Order No,SKU\n1_1,S\n", Platform.meesho, "lacks the column(s): order_status, order_date"),
    ],
)
def test_whole_file_problems(raw: bytes, platform: Platform, message: str) -> None:
    with pytest.raises(ReportError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_report(raw, platform, received_at=NOW)


def test_catalogue_file_for_any_platform() -> None:
    raw = (
        "SKU,Title,Brand,Category,MRP,Selling Price,Inventory,Status,ASIN,Updated At\n"
        'K-1,Cotton Kurta,Biba,Ethnic Wear > Kurtas,"₹1,999",1299,25,active,B0ABC,2026-11-27 10:00\n'
        "K-2,,,,,,,,,\n"
        "K-3,Kurta,,,999,1299,,,,\n"
        "K-4,Kurta,,,,,-3,,,\n"
    ).encode()
    parsed = parse_report(raw, Platform.amazon, received_at=NOW)
    assert parsed.kind is ReportKind.catalogue
    first, second = parsed.normalized.products
    assert (first.sku, first.title, first.brand, first.category, first.external_id) == (
        "K-1",
        "Cotton Kurta",
        "Biba",
        "Ethnic Wear > Kurtas",
        "B0ABC",
    )
    assert (first.mrp_paise, first.price_paise, first.stock, first.status) == (
        199_900,
        129_900,
        25,
        ListingStatus.active,
    )
    assert first.event_time == dt.datetime(2026, 11, 27, 4, 30, tzinfo=dt.UTC)
    assert (second.sku, second.title, second.price_paise, second.event_time) == ("K-2", None, None, NOW)
    assert [(r.line, r.reason) for r in parsed.rejected] == [
        (4, "row: price must not exceed mrp"),
        (5, "Inventory: must be at least 0, got -3"),
    ]


MYNTRA_REPORT = (
    b"Order Id,Order Line Id,Seller SKU Code,Style Id,Style Name,Brand,Article Type,Size,Order Status,"
    b"Quantity,Total MRP,Discount,Final Amount,Created On,State\r\n"
    b"1203,5001,RGN-1,2445,Floral Kurta,Rangeen,Kurtas,M,DL,1,1999,700,1299,2026-11-20 14:02:11,Karnataka\r\n"
    b'1203,5002,RGN-2,2446,Plain Kurta,Rangeen,Kurtas,L,F,2,3998,1000,"2,998.00",20-11-2026 14:02,Kerala\r\n'
    b"1204,5003,RGN-1,2445,Floral Kurta,Rangeen,Kurtas,M,RTO,1,1999,700,,2026-11-21 09:00:00,Goa\r\n"
    b"1205,5004,RGN-1,2445,Floral Kurta,Rangeen,Kurtas,M,WP,1,1999,700,1299,not a date,Goa\r\n"
)


def upload(
    client: TestClient, headers: dict[str, str], platform: str, store: int, raw: bytes
) -> dict[str, object]:
    response = client.post(
        f"/integrations/{platform}/import?store={store}",
        files={"file": ("report.csv", raw, "text/csv")},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_myntra_report_upload_applies_good_lines_and_is_idempotent(client: TestClient, db: Session) -> None:
    headers = admin(db)
    store = create_store(client, db, "myntra", seller_id=None)
    first = upload(client, headers, "myntra", store.id, MYNTRA_REPORT)
    assert first["status"] == "processed"
    assert first["report"] == "myntra_orders"
    assert (first["rows"], first["accepted"], first["rejected_count"]) == (4, 2, 2)
    assert first["rejected"] == [
        {"line": 4, "reason": "Final Amount: missing value"},
        {
            "line": 5,
            "reason": "Created On: not a date we can read: 'not a date' (use YYYY-MM-DD or DD-MM-YYYY)",
        },
    ]
    expected_events = [
        (EventType.order, "5001", 1, 129_900),
        (EventType.order, "5002", 2, 299_800),
        (EventType.cancellation, "5002", 2, 299_800),
    ]
    assert events_of(db, store.id) == expected_events
    products = db.execute(
        select(Product.sku, Product.external_id, Product.title, Product.brand, Product.category)
        .where(Product.store_id == store.id)
        .order_by(Product.sku)
    ).all()
    assert [tuple(p) for p in products] == [
        ("RGN-1", "2445", "Floral Kurta", "Rangeen", "Kurtas"),
        ("RGN-2", "2446", "Plain Kurta", "Rangeen", "Kurtas"),
    ]

    second = upload(client, headers, "myntra", store.id, MYNTRA_REPORT)
    assert second["status"] == "duplicate"
    assert second["delivery_id"] == first["delivery_id"]
    assert str(first["delivery_id"]).startswith("sha256:")
    assert events_of(db, store.id) == expected_events
    rows = db.execute(
        select(
            WebhookDelivery.status,
            WebhookDelivery.kind,
            WebhookDelivery.records_applied,
            WebhookDelivery.error,
        )
        .where(WebhookDelivery.store_id == store.id)
        .order_by(WebhookDelivery.id)
    ).all()
    assert [(r.status, r.kind, r.records_applied) for r in rows] == [
        (DeliveryStatus.processed, "import", 5),
        (DeliveryStatus.duplicate, "import", 0),
    ]
    assert rows[0].error is not None
    assert rows[0].error.startswith("2 of 4 lines rejected: line 4: Final Amount")
    audits = db.execute(
        select(AuditLog.action, AuditLog.actor_type, AuditLog.new_value)
        .where(AuditLog.entity_type == "webhook_delivery", AuditLog.action.like("import.%"))
        .order_by(AuditLog.seq)
    ).all()
    assert [(a.action, a.actor_type) for a in audits] == [
        ("import.processed", "user"),
        ("import.duplicate", "user"),
    ]
    counts = audits[0].new_value
    assert (counts["rows"], counts["accepted"], counts["rejected"], counts["events_stored"]) == (4, 2, 2, 3)
    assert counts["store_id"] == store.id


def test_a_later_report_with_a_cancellation_adds_it_once(client: TestClient, db: Session) -> None:
    headers = admin(db)
    store = create_store(client, db, "meesho", seller_id=None)
    placed = meesho_file("PENDING,2001_1,2026-11-20,Goa,Kurti,S-9,M,1,500,450,P1")
    cancelled = meesho_file("CANCELLED,2001_1,2026-11-20,Goa,Kurti,S-9,M,1,500,450,P1")
    cancelled_again = meesho_file(
        "CANCELLED,2001_1,2026-11-20,Goa,Kurti,S-9,M,1,500,450,P1",
        "DELIVERED,2002_1,2026-11-21,Goa,Kurti,S-9,M,1,500,450,P2",
    )
    for raw in (placed, cancelled, cancelled_again):
        assert upload(client, headers, "meesho", store.id, raw)["status"] == "processed"
    assert events_of(db, store.id) == [
        (EventType.order, "2001_1", 1, 45_000),
        (EventType.cancellation, "2001_1", 1, 45_000),
        (EventType.order, "2002_1", 1, 45_000),
    ]
    deliveries = db.scalar(
        select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.store_id == store.id)
    )
    assert deliveries == 3


def test_catalogue_upload_into_an_amazon_store(client: TestClient, db: Session) -> None:
    store = create_store(client, db, "amazon")
    raw = b"sku,title,price,stock\nA-1,Steel Bottle,349,12\n"
    result = upload(client, admin(db), "amazon", store.id, raw)
    assert (result["report"], result["accepted"]) == ("catalogue", 1)
    product = db.scalars(select(Product).where(Product.store_id == store.id)).one()
    assert (product.sku, product.title, product.price_paise, product.stock) == (
        "A-1",
        "Steel Bottle",
        34_900,
        12,
    )


def test_upload_refusals(client: TestClient, db: Session) -> None:
    headers = admin(db)
    store = create_store(client, db, "meesho", seller_id=None)
    url = f"/integrations/meesho/import?store={store.id}"

    not_multipart = client.post(url, json={"sku": "x"}, headers=headers)
    assert not_multipart.status_code == 422
    assert "multipart/form-data" in not_multipart.json()["detail"]

    no_file = client.post(url, data={"other": "x"}, files={"note": ("a.txt", b"x")}, headers=headers)
    assert no_file.status_code == 422
    assert no_file.json()["detail"] == 'no file in the form field "file"'

    unreadable = client.post(url, files={"file": ("x.csv", b"colour\nred\n")}, headers=headers)
    assert unreadable.status_code == 422
    assert "cannot tell which report this is" in unreadable.json()["detail"]

    other_store = create_store(client, db, "myntra", seller_id=None)
    wrong = client.post(
        f"/integrations/meesho/import?store={other_store.id}",
        files={"file": ("x.csv", GOOD_MEESHO)},
        headers=headers,
    )
    assert wrong.status_code == 404

    assert (
        db.scalar(
            select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.store_id == store.id)
        )
        == 0
    )


def test_oversized_upload_is_413_and_stores_nothing(client: TestClient, db: Session) -> None:
    headers = admin(db)
    store = create_store(client, db, "meesho", seller_id=None)
    settings = client.app.state.settings  # type: ignore[attr-defined]
    client.app.state.settings = settings.model_copy(update={"max_import_bytes": 1000})  # type: ignore[attr-defined]
    try:
        big = meesho_file(*["DELIVERED,1_1,2026-11-20,Goa,Kurti,S,M,1,500,450,P"] * 40)
        response = client.post(
            f"/integrations/meesho/import?store={store.id}", files={"file": ("big.csv", big)}, headers=headers
        )
    finally:
        client.app.state.settings = settings  # type: ignore[attr-defined]
    assert response.status_code == 413, response.text
    assert "over the limit of 1000 bytes" in response.json()["detail"]
    assert (
        db.scalar(
            select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.store_id == store.id)
        )
        == 0
    )


def test_report_kind_can_be_forced() -> None:
    parsed = parse_report(MYNTRA_REPORT, Platform.myntra, received_at=NOW, kind=ReportKind.catalogue)
    assert (parsed.kind, parsed.rows, parsed.accepted) == (ReportKind.catalogue, 4, 4)
    assert parsed.normalized.events == []
    first = parsed.normalized.products[0]
    assert (first.sku, first.title, first.category, first.external_id) == (
        "RGN-1",
        "Floral Kurta",
        "Kurtas",
        "2445",
    )


def test_imports_are_listed_with_the_deliveries(client: TestClient, db: Session) -> None:
    headers = admin(db)
    store = create_store(client, db, "meesho", seller_id=None)
    result = upload(client, headers, "meesho", store.id, GOOD_MEESHO)
    listed = client.get(f"/integrations/deliveries?store={store.id}", headers=headers).json()["items"]
    assert [(d["id"], d["kind"], d["status"], d["records_applied"]) for d in listed] == [
        (result["id"], "import", "processed", 5)
    ]
    assert listed[0]["error"].startswith("4 of 6 lines rejected: line 4: Supplier Discounted Price")
    replay = client.post(f"/integrations/deliveries/{result['id']}/replay", headers=headers)
    assert replay.status_code == 409  # only quarantined deliveries replay; an import never is
