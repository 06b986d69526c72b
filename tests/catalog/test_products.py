from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from resight.catalog.models import Platform
from resight.users.models import Role
from tests.factories import headers_for, make_product, make_store


def test_products_list_carries_rupees_and_item_ids(client: TestClient, db: Session) -> None:
    viewer = headers_for(db, Role.viewer)
    product = make_product(db, mrp_paise=299_900, price_paise=123_456, title="Anarkali Kurta")
    response = client.get("/products", headers=viewer)
    assert response.status_code == 200
    body = response.json()
    assert body["next_cursor"] is None
    [item] = body["items"]
    assert item["id"] == product.id
    assert item["marketplace"] == "amazon"
    assert Decimal(item["price"]) == Decimal("1234.56")
    assert Decimal(item["mrp"]) == Decimal("2999.00")
    assert Decimal(item["discount_pct"]) == Decimal("58.8")
    assert item["external_id"] == product.external_id
    for key in ("store_id", "sku", "title", "brand", "category", "stock", "rating", "status"):
        assert key in item


def test_cursor_pagination_visits_every_product_once(client: TestClient, db: Session) -> None:
    viewer = headers_for(db, Role.viewer)
    store = make_store(db)
    ids = {make_product(db, store).id for _ in range(7)}
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/products", headers=viewer, params=params).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids)
    assert len(seen) == len(set(seen))


def test_filters(client: TestClient, db: Session) -> None:
    viewer = headers_for(db, Role.viewer)
    amazon, myntra = make_store(db, Platform.amazon), make_store(db, Platform.myntra)
    kurta = make_product(db, amazon, category="Ethnic Wear > Kurtas", title="Rayon Kurta", sku="K-1")
    saree = make_product(db, myntra, category="Ethnic Wear > Sarees", title="Banarasi Saree", brand="Kalini")
    earbuds = make_product(
        db, myntra, category="Electronics > Earbuds", title="boAt Airdopes 141", brand="boAt"
    )
    lookalike = make_product(db, amazon, category="Ethnic Wearables", title="Odd one")

    def ids(**params: str | int) -> set[int]:
        response = client.get("/products", headers=viewer, params=params)
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]}

    assert ids(marketplace="myntra") == {saree.id, earbuds.id}
    assert ids(store=amazon.id) == {kurta.id, lookalike.id}
    assert ids(category="Ethnic Wear") == {kurta.id, saree.id}
    assert ids(category="Ethnic Wear > Sarees") == {saree.id}
    # Names compare as rules compare them: case and the spacing around ">" do not matter.
    assert ids(category=" ethnic wear>SAREES") == {saree.id}
    cotton = make_product(db, amazon, category="ethnic wear >kurtas> Cotton", title="Cotton Kurta")
    assert ids(category="Ethnic Wear > Kurtas") == {kurta.id, cotton.id}
    assert ids(category="ETHNIC WEAR") == {kurta.id, saree.id, cotton.id}
    assert ids(category="Home") == set()
    assert ids(sku="K-1") == {kurta.id}
    assert ids(q="airdopes") == {earbuds.id}
    assert ids(q="KALINI") == {saree.id}
    assert ids(q="100%_") == set()


def test_bad_input_is_a_clear_4xx(client: TestClient, db: Session) -> None:
    viewer = headers_for(db, Role.viewer)
    bad_cursor = client.get("/products", headers=viewer, params={"cursor": "not-a-cursor"})
    assert bad_cursor.status_code == 400
    assert "cursor" in bad_cursor.json()["detail"]
    assert client.get("/products", headers=viewer, params={"limit": 0}).status_code == 422
    assert client.get("/products", headers=viewer, params={"limit": 100000}).status_code == 422
    assert client.get("/products", headers=viewer, params={"marketplace": "flipkart"}).status_code == 422
    missing = client.get("/products/987654", headers=viewer)
    assert missing.status_code == 404
    assert missing.json() == {"detail": "product 987654 not found"}


def test_limit_goes_to_at_least_500(client: TestClient, db: Session) -> None:
    viewer = headers_for(db, Role.viewer)
    store = make_store(db)
    ids = sorted(make_product(db, store).id for _ in range(501))
    first = client.get("/products", headers=viewer, params={"limit": 500})
    assert first.status_code == 200, first.text
    page = first.json()
    assert [item["id"] for item in page["items"]] == ids[:500]
    assert page["next_cursor"] is not None
    rest = client.get(
        "/products", headers=viewer, params={"limit": 500, "cursor": page["next_cursor"]}
    ).json()
    assert [item["id"] for item in rest["items"]] == ids[500:]
    assert rest["next_cursor"] is None
