from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from resight.catalog import service
from resight.catalog.models import Platform
from resight.catalog.schemas import ProductOut
from resight.deps import SessionDep, ViewerDep
from resight.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_id_cursor, page_of

router = APIRouter(tags=["catalog"])


@router.get("/products", response_model=Page[ProductOut])
def list_products(
    session: SessionDep,
    _viewer: ViewerDep,
    store: int | None = None,
    marketplace: Platform | None = None,
    sku: str | None = None,
    category: Annotated[
        str | None,
        Query(
            description="Matches the category and its subcategories; case and spaces around ' > ' "
            "are ignored, as in rules."
        ),
    ] = None,
    q: Annotated[str | None, Query(max_length=200, description="Search title, brand, SKU, ASIN.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[ProductOut]:
    after_id = decode_id_cursor(cursor)
    rows = service.list_products(
        session,
        store_id=store,
        marketplace=marketplace,
        sku=sku,
        category=category,
        q=q,
        after_id=after_id,
        limit=limit + 1,
    )
    rows, next_cursor = page_of(rows, limit, lambda product: [product.id])
    return Page(items=[ProductOut.of(row) for row in rows], next_cursor=next_cursor)


@router.get("/products/{product_id}", response_model=ProductOut)
def get_product(product_id: int, session: SessionDep, _viewer: ViewerDep) -> ProductOut:
    return ProductOut.of(service.get_product(session, product_id))
