from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from resight.catalog.models import Platform
from resight.ml import service
from resight.ml.schemas import RankRequest
from resight.users.models import Role
from tests.factories import headers_for
from tests.ml.conftest import Trained


def _search(client: TestClient, headers: dict[str, str], **body: object) -> dict[str, Any]:
    response = client.post("/rank", json=body, headers=headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_search_matches_title_sku_or_brand_case_insensitively(
    db: Session, trained: Trained, ml_client: TestClient
) -> None:
    products = trained.world.products
    products[4].title = "Handloom Chanderi Dupatta"
    products[7].sku = "KAVYA-DUP-7"
    db.flush()
    trained.cycle(db)
    headers = headers_for(db, Role.viewer)
    by_title = _search(ml_client, headers, q="  chanderi DUP ")
    assert [item["id"] for item in by_title["items"]] == [products[4].id]
    assert by_title["total"] == 1
    by_sku = _search(ml_client, headers, q="kavya-dup")
    assert [item["id"] for item in by_sku["items"]] == [products[7].id]
    by_brand = _search(ml_client, headers, q="PUM")
    pumas = {p.id for p in products if p.brand == "Puma"}
    assert {item["id"] for item in by_brand["items"]} == pumas
    assert _search(ml_client, headers, q="%")["total"] == 0  # a literal %, not a wildcard
    assert _search(ml_client, headers, q="   ")["total"] == _search(ml_client, headers)["total"]


def test_search_combines_with_filters_and_paging(
    db: Session, trained: Trained, ml_client: TestClient
) -> None:
    trained.cycle(db)
    headers = headers_for(db, Role.viewer)
    everything = _search(ml_client, headers, q="cotton kurta", limit=1000)
    ranks = [item["rank"] for item in everything["items"]]
    assert ranks == sorted(ranks)
    assert everything["total"] == len(trained.world.products)
    amazon = _search(ml_client, headers, q="cotton kurta", marketplace="amazon", limit=4, offset=2)
    expected = [i for i in everything["items"] if i["marketplace"] == Platform.amazon.value]
    assert amazon["total"] == len(expected)
    assert [i["id"] for i in amazon["items"]] == [i["id"] for i in expected[2:6]]


def test_search_refuses_an_overlong_query_with_a_clear_detail(
    db: Session, trained: Trained, ml_client: TestClient
) -> None:
    headers = headers_for(db, Role.viewer)
    response = ml_client.post("/rank", json={"q": "k" * 101}, headers=headers)
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "q"]
    assert "at most 100 characters" in error["msg"]
    assert ml_client.post("/rank", json={"q": " " * 50 + "k" * 100}, headers=headers).status_code == 200
    nul = ml_client.post("/rank", json={"q": "a\x00b"}, headers=headers)
    assert nul.status_code == 422
    assert "NUL" in nul.json()["detail"][0]["msg"]


def test_a_filtered_count_stops_at_a_cap_and_says_so(
    db: Session, trained: Trained, ml_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    trained.cycle(db)
    headers = headers_for(db, Role.viewer)
    everything = _search(ml_client, headers)
    amazon = _search(ml_client, headers, marketplace="amazon")
    assert everything["total_capped"] is False
    assert amazon["total_capped"] is False
    assert amazon["total"] > 3
    monkeypatch.setattr(service, "RANK_COUNT_CAP", 3)
    capped = _search(ml_client, headers, marketplace="amazon")
    assert capped["total"] == 3
    assert capped["total_capped"] is True
    assert len(capped["items"]) == min(amazon["total"], 50)  # the page itself is not capped
    whole = _search(ml_client, headers)  # the unfiltered ranking is always counted exactly
    assert whole["total"] == everything["total"]
    assert whole["total_capped"] is False


def test_pages_of_the_whole_ranking_follow_the_ranks(
    db: Session, trained: Trained, ml_client: TestClient
) -> None:
    trained.cycle(db)
    headers = headers_for(db, Role.viewer)
    everything = _search(ml_client, headers, limit=1000)["items"]
    assert [item["rank"] for item in everything] == list(range(1, len(everything) + 1))
    page = _search(ml_client, headers, offset=7, limit=5)["items"]
    assert [item["id"] for item in page] == [item["id"] for item in everything[7:12]]
    assert _search(ml_client, headers, offset=len(everything), limit=5)["items"] == []


def test_category_and_brand_match_as_rules_do_and_either_plan_finds_the_same_page(
    db: Session, trained: Trained, ml_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    products = trained.world.products
    # Stored spellings differ from what a seller types: case, spaces around ">", a deeper level.
    products[0].category = "ethnic wear>KURTAS>Cotton"
    products[1].brand = "  puma "
    products[2].category = "Ethnic Wearables"  # a prefix of the text, not of the path: no match
    db.flush()
    trained.cycle(db)
    headers = headers_for(db, Role.viewer)
    everything = _search(ml_client, headers, limit=1000)["items"]

    def expected(category: str | None = None, brand: str | None = None) -> list[int]:
        by_id = {p.id: p for p in products}
        return [
            item["id"]
            for item in everything
            if (category is None or by_id[item["id"]].category in category_spellings[category])
            and (brand is None or by_id[item["id"]].brand.strip().casefold() == brand)
        ]

    category_spellings = {
        "kurtas": {"Ethnic Wear > Kurtas", "ethnic wear>KURTAS>Cotton"},
        "cotton": {"ethnic wear>KURTAS>Cotton"},
    }
    kurtas, cotton_kurtas = expected("kurtas"), expected("cotton")
    pumas = expected(brand="puma")
    assert len(kurtas) > 10
    assert cotton_kurtas == [products[0].id]
    assert products[1].id in pumas
    assert products[2].id not in kurtas
    # The ranking's index drives the page (all the way down, or within a window too short, so the
    # page is read after all), or the filter's index does.
    for window in (10**9, 1, None):
        monkeypatch.setattr(service, "_walk_window", lambda *_, window=window: window)
        found = _search(ml_client, headers, category=" Ethnic wear >  kurtas ", limit=1000)
        assert [item["id"] for item in found["items"]] == kurtas
        assert found["total"] == len(kurtas)
        page = _search(ml_client, headers, category="ETHNIC WEAR > KURTAS", offset=3, limit=4)
        assert [item["id"] for item in page["items"]] == kurtas[3:7]
        deeper = _search(ml_client, headers, category="Ethnic Wear > Kurtas > cotton")
        assert [item["id"] for item in deeper["items"]] == cotton_kurtas
        brand = _search(ml_client, headers, brand="PUMA", limit=1000)
        assert [item["id"] for item in brand["items"]] == pumas
        both = _search(ml_client, headers, category="footwear", brand="puma", marketplace="amazon")
        by_id = {p.id: p for p in products}
        assert [item["id"] for item in both["items"]] == [
            i
            for i in pumas
            if by_id[i].category.startswith("Footwear") and by_id[i].marketplace == Platform.amazon
        ]
        nothing = _search(ml_client, headers, category="Home > Lamps")
        assert nothing["items"] == []
        assert nothing["total"] == 0
    # A category without levels, or a blank brand, filters nothing (as a blank q does).
    assert _search(ml_client, headers, category=" > ", brand="  ")["total"] == len(everything)


def test_a_page_walks_the_ranking_only_where_that_visits_fewer_products_than_reading() -> None:
    first_page, deep_page = RankRequest(limit=50), RankRequest(limit=50, offset=5_000)
    # 16,667 matches in 1,000,000: the first page lies around rank 3,000; look 4 times as far.
    assert service._walk_window(first_page, 1_000_000, 16_667) == 4 * 3_000
    # 5,050 matches down, an even spread reaches rank ~303,000: reading 16,667 matches is cheaper.
    assert service._walk_window(deep_page, 1_000_000, 16_667) is None
    assert service._walk_window(deep_page, 1_000_000, 500_000) == 4 * 10_100
    assert service._walk_window(first_page, 1_000_000, 1) is None
