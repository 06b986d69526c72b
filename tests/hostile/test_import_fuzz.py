"""Hostile seller-panel reports through POST /integrations/{platform}/import: every upload answers
2xx (bad lines listed with their line numbers) or 4xx, never a 5xx; a refused upload changes nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from tests.hostile.fuzz_support import HOSTILE_TEXT, snapshot
from tests.integrations.support import admin, create_store

CATALOGUE = "SKU,Title,Brand,Category,MRP,Selling Price,Inventory,Status,ASIN,Updated At"
MEESHO = (
    "Reason for Credit Entry,Sub Order No,Order Date,Customer State,Product Name,SKU,Size,Quantity,"
    "Supplier Listed Price (Incl. GST + Commission),"
    "Supplier Discounted Price (Incl GST and Commision),Packet Id"
)
MYNTRA = "order_id,order_line_id,seller_sku_code,order_status,final_amount,quantity,created_on,style_name"
HEADERS = {"amazon": [CATALOGUE], "meesho": [MEESHO, CATALOGUE], "myntra": [MYNTRA, CATALOGUE]}


def _upload(client: TestClient, db: Session, platform: str, raw: bytes) -> int:
    store = create_store(client, db, platform)
    before = snapshot(db)
    response = client.post(
        f"/integrations/{platform}/import?store={store.id}",
        files={"file": ("report.csv", raw, "text/csv")},
        headers=admin(db),
    )
    assert response.status_code < 500, response.text
    if response.status_code != 200:
        db.expire_all()
        assert snapshot(db) == before
    else:
        body = response.json()
        assert body["accepted"] + body["rejected_count"] <= body["rows"]
        assert all(line["line"] >= 2 for line in body["rejected"])
    return response.status_code


cell = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.text(max_size=20),
    st.integers().map(str),
    st.sampled_from(["₹1,999", "-5", "1e9999", "NaN", "=cmd|' /C calc'!A0", '"unbalanced', "\r\n"]),
)


@pytest.mark.parametrize("platform", sorted(HEADERS))
def test_hostile_cells_under_real_headers(platform: str, client: TestClient, db: Session) -> None:
    @settings(
        max_examples=15,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(header=st.sampled_from(HEADERS[platform]), rows=st.lists(st.lists(cell, max_size=12), max_size=4))
    def run(header: str, rows: list[list[str]]) -> None:
        text = "\n".join([header, *(",".join(row) for row in rows)]) + "\n"
        assert _upload(client, db, platform, text.encode("utf-8", "surrogatepass")) in {200, 400, 413, 422}

    run()


RAW_REPORTS: dict[str, bytes] = {
    "random bytes": bytes(range(256)) * 8,
    "NUL bytes": b"SKU,Title\x00\nK-1,\x00\x00\n",
    "only a BOM": b"\xef\xbb\xbf",
    "empty": b"",
    "UTF-16": "SKU,Title\nK-1,Kurta\n".encode("utf-16"),
    "one enormous field": b"SKU,Title\nK-1," + b"x" * 2_000_000 + b"\n",
    "a million columns": b",".join([b"c"] * 1_000_000) + b"\n",
    "unterminated quote": b'SKU,Title\nK-1,"never closed\n',
    "huge inventory": f"{CATALOGUE}\nK-1,Kurta,,,,,{10**30},,,\n".encode(),
    "injection in a title": f'{CATALOGUE}\nK-1,"\'); DROP TABLE products; --<script>",,,,,,,,\n'.encode(),
}


@pytest.mark.parametrize("name", sorted(RAW_REPORTS))
def test_hostile_files(name: str, client: TestClient, db: Session) -> None:
    assert _upload(client, db, "amazon", RAW_REPORTS[name]) in {200, 400, 413, 422}
