from __future__ import annotations

import datetime as dt

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from resight.rules.engine import MAX_STRENGTH
from resight.rules.models import RuleKind, RuleScope


class RuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: RuleKind
    scope: RuleScope = RuleScope.product
    scope_value: str = Field(
        min_length=1,
        max_length=300,
        description='Product id, brand, category path ("Ethnic Wear > Kurtas", subcategories included) '
        "or marketplace (amazon, myntra, meesho).",
    )
    position: int | None = Field(default=None, ge=1, le=100_000, description="Pins only: 1-based position.")
    strength: float | None = Field(
        default=None,
        gt=0,
        le=MAX_STRENGTH,
        description="Boosts and demotes: a boost multiplies the score by 1 + strength, a demote divides.",
    )
    priority: int = Field(
        default=0, ge=-1000, le=1000, description="Higher wins conflicts between pins and removes."
    )
    enabled: bool = True
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    reason: str = Field(default="", max_length=1000)


class RulePatch(BaseModel):
    """Only the fields sent change; send null for valid_from / valid_until to clear them.
    Kind and scope cannot change: delete the rule and create another."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = None
    priority: int | None = Field(default=None, ge=-1000, le=1000)
    strength: float | None = Field(default=None, gt=0, le=MAX_STRENGTH)
    position: int | None = Field(default=None, ge=1, le=100_000)
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    reason: str | None = Field(default=None, max_length=1000)


class RuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: RuleKind
    scope: RuleScope
    scope_value: str
    position: int | None
    strength: float | None
    priority: int
    enabled: bool
    valid_from: dt.datetime | None
    valid_until: dt.datetime | None
    reason: str
    created_by: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


class PinRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_id: int = Field(description="The product id.")
    position: int = Field(default=1, ge=1, le=100_000)
    valid_until: AwareDatetime | None = None
    reason: str = Field(default="", max_length=1000)


class BoostClearanceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str | None = Field(
        default=None, max_length=300, description="Limit to this category (and below)."
    )
    strength: float = Field(default=0.5, gt=0, le=MAX_STRENGTH)
    valid_until: AwareDatetime | None = None
    reason: str = Field(default="", max_length=1000)


class ClearanceItem(BaseModel):
    product_id: int
    stock: int
    units_last_7_days: int
    days_of_cover: float | None = Field(description="None when nothing sold in the last 7 days (unbounded).")
    discount_pct: float | None


class BoostClearanceOut(BaseModel):
    rules: list[RuleOut]
    items: list[ClearanceItem]
    already_boosted: list[int] = Field(description="Clearance products that have an active clearance boost.")
    truncated: bool = Field(description="More products qualified than one call boosts (see docs/rules.md).")


class PreviewRequest(RuleCreate):
    limit: int = Field(default=20, ge=1, le=500, description="How many top positions to compare.")


class RankedItemOut(BaseModel):
    rank: int
    product_id: int
    title: str
    score: float
    model_score: float
    pinned: bool
    rule_ids: list[int] = Field(description="Rules that touched the item; 0 is the proposed rule.")


class RankChange(BaseModel):
    product_id: int
    rank_before: int | None = Field(description="None: removed or not ranked.")
    rank_after: int | None


class PreviewOut(BaseModel):
    before: list[RankedItemOut]
    after: list[RankedItemOut]
    changes: list[RankChange] = Field(description="Products in either top list whose rank changed.")
    removed: int = Field(description="How many products the proposed rule set hides in total.")
