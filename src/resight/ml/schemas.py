from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from resight.catalog.models import Platform
from resight.catalog.names import normalise_category, normalise_key
from resight.events.schemas import ProductMetrics
from resight.ml.models import ModelStatus

Rupees = Decimal
MAX_QUERY_LENGTH = 100

SCORE_MEANING = (
    "score = expected orders in the next 24 hours; ranked by expected GMV (score × price) unless "
    "RESIGHT_RANK_BY=orders, then adjusted by merchandising rules"
)


class RankRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=50, ge=1, le=1000)
    offset: int = Field(default=0, ge=0)
    marketplace: Platform | None = None
    category: str | None = Field(
        default=None,
        description="A category path such as 'Ethnic Wear > Kurtas'; matches its subcategories too. "
        "Case and spaces around ' > ' are ignored, as in rules; blank means none.",
    )
    brand: str | None = Field(
        default=None, description="A brand, case ignored, as in rules; blank means none."
    )
    q: str | None = Field(
        default=None,
        max_length=MAX_QUERY_LENGTH,
        description="Case-insensitive substring of the title, SKU or brand (trimmed; blank means none).",
    )

    @field_validator("category", mode="before")
    @classmethod
    def _category_without_levels_means_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not normalise_category(value) else value

    @field_validator("brand", mode="before")
    @classmethod
    def _blank_brand_means_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not normalise_key(value) else value

    @field_validator("q", mode="before")
    @classmethod
    def _trim_query(cls, value: object) -> object:
        """Trimmed before the length check; blank means no search."""
        if not isinstance(value, str):
            return value
        if "\x00" in value:
            raise ValueError("q must not contain NUL characters")
        return value.strip() or None


class RuleRef(BaseModel):
    id: int
    kind: str
    scope: str
    scope_value: str


class RankedItemOut(BaseModel):
    id: int
    title: str
    marketplace: Platform
    category: str
    brand: str
    score: float = Field(description="Expected orders in the next 24 hours.")
    expected_gmv: Rupees = Field(description="score × price, ₹.")
    rank: int
    previous_rank: int | None
    rank_change: int | None = Field(description="previous_rank - rank: positive means moved up.")
    price: Rupees | None
    stock: int | None
    rules_applied: list[RuleRef]


class RankResponse(BaseModel):
    items: list[RankedItemOut]
    total: int = Field(
        description="Ranked products matching the filters; with filters, counted up to 10,000 "
        "(see total_capped)."
    )
    total_capped: bool = Field(
        default=False, description="More products match the filters than `total` counts."
    )
    model_version: str | None
    computed_at: dt.datetime | None
    score_meaning: str = SCORE_MEANING


class ItemOut(BaseModel):
    id: int
    title: str
    sku: str
    marketplace: Platform
    category: str
    brand: str
    status: str
    price: Rupees | None
    mrp: Rupees | None
    stock: int | None
    rating: float | None
    rating_count: int | None
    score: float | None = Field(description="Expected orders in the next 24 hours.")
    expected_gmv: Rupees | None
    rank: int | None = Field(
        description="None when not ranked (inactive, not scored yet, or removed by a rule)."
    )
    previous_rank: int | None
    rank_change: int | None
    model_version: str | None
    computed_at: dt.datetime | None
    rules_applied: list[RuleRef]
    metrics: ProductMetrics


class HistoryPointOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, protected_namespaces=())

    computed_at: dt.datetime = Field(description="The scoring cycle's time (UTC).")
    score: float = Field(description="Expected orders in the next 24 hours.")
    rank: int | None = Field(description="None when not ranked (removed by a rule).")
    model_version: str


class ContributionOut(BaseModel):
    feature: str
    label: str
    value: float | str | None
    shap: float


class ExplainOut(BaseModel):
    item_id: int
    model_version: str
    base_value: float
    output: float
    output_space: str = Field(description="log_expected_orders: exp(output) = expected orders.")
    expected_orders: float
    contributions: list[ContributionOut] = Field(description="Largest |shap| first; base + Σ shap = output.")


class WhatIfPriceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_id: int
    new_price: Rupees = Field(gt=0, le=10_000_000, decimal_places=2, description="₹")


class WhatIfState(BaseModel):
    price: Rupees
    expected_orders: float
    expected_gmv: Rupees
    score: float | None = Field(description="The ranking value after rules (None when pinned or removed).")
    rank: int | None


class WhatIfPriceOut(BaseModel):
    item_id: int
    model_version: str
    computed_at: dt.datetime
    current: WhatIfState
    simulated: WhatIfState
    rank_change: int | None = Field(description="current rank - simulated rank: positive means up.")
    rules_considered: list[RuleRef]


class SweepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_id: int
    prices: list[Rupees] | None = Field(default=None, min_length=1, max_length=200)
    min: Rupees | None = Field(default=None, gt=0, decimal_places=2)
    max: Rupees | None = Field(default=None, gt=0, decimal_places=2)
    steps: int | None = Field(default=None, ge=2, le=200)

    @model_validator(mode="after")
    def _one_form(self) -> SweepIn:
        ranged = (self.min, self.max, self.steps)
        if self.prices is not None:
            if any(v is not None for v in ranged):
                raise ValueError("give either prices or min, max and steps, not both")
            if any(p <= 0 for p in self.prices):
                raise ValueError("prices must be positive")
        elif any(v is None for v in ranged):
            raise ValueError("give prices, or min, max and steps")
        elif self.min is not None and self.max is not None and self.min >= self.max:
            raise ValueError("min must be below max")
        return self


class SweepPoint(BaseModel):
    price: Rupees
    expected_orders: float
    expected_gmv: Rupees
    rank: int | None


class SweepOut(BaseModel):
    item_id: int
    model_version: str
    points: list[SweepPoint]
    best_price: Rupees = Field(description="The price with the highest expected GMV.")


class ModelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, protected_namespaces=())

    version: str
    status: ModelStatus
    features: list[str]
    params: dict[str, Any]
    metrics: dict[str, Any]
    train_from: dt.datetime | None
    train_to: dt.datetime | None
    data_fingerprint: str | None
    artifact_sha256: str
    created_at: dt.datetime
    promoted_at: dt.datetime | None
