from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, Field

from resight.catalog.models import ListingStatus, Platform, Product
from resight.india import paise_to_rupees


class ProductOut(BaseModel):
    id: int = Field(description="The item id used by every /item/{id}-style path.")
    store_id: int
    marketplace: Platform
    sku: str
    external_id: str | None = Field(description="ASIN (Amazon), style id (Myntra) or catalog id (Meesho).")
    title: str
    brand: str
    category: str = Field(description='Category path, levels joined by " > ".')
    price: Decimal | None = Field(description="Selling price in ₹.")
    mrp: Decimal | None = Field(description="Maximum retail price in ₹.")
    discount_pct: Decimal | None
    stock: int | None
    rating: float | None
    rating_count: int | None
    status: ListingStatus
    buybox_price: Decimal | None
    lowest_competitor_price: Decimal | None
    sales_rank: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    last_event_at: dt.datetime | None

    @classmethod
    def of(cls, product: Product) -> ProductOut:
        def rupees(paise: int | None) -> Decimal | None:
            return None if paise is None else paise_to_rupees(paise)

        discount = None
        if product.mrp_paise and product.price_paise is not None and product.mrp_paise > 0:
            discount = (Decimal(product.mrp_paise - product.price_paise) * 100 / product.mrp_paise).quantize(
                Decimal("0.1")
            )
        return cls(
            id=product.id,
            store_id=product.store_id,
            marketplace=product.marketplace,
            sku=product.sku,
            external_id=product.external_id,
            title=product.title,
            brand=product.brand,
            category=product.category,
            price=rupees(product.price_paise),
            mrp=rupees(product.mrp_paise),
            discount_pct=discount,
            stock=product.stock,
            rating=product.rating,
            rating_count=product.rating_count,
            status=product.status,
            buybox_price=rupees(product.buybox_price_paise),
            lowest_competitor_price=rupees(product.lowest_competitor_price_paise),
            sales_rank=product.sales_rank,
            created_at=product.created_at,
            updated_at=product.updated_at,
            last_event_at=product.last_event_at,
        )
