from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    BigInteger,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from resight.db import Base, BigIntId, UTCDateTime, utcnow


class Platform(enum.StrEnum):
    amazon = "amazon"
    myntra = "myntra"
    meesho = "meesho"


class WebhookAuth(enum.StrEnum):
    signature = "signature"  # Standard Webhooks HMAC-SHA256
    api_key = "api_key"  # X-Api-Key header, for senders that cannot sign


class ListingStatus(enum.StrEnum):
    active = "active"  # buyable
    inactive = "inactive"  # listed but not buyable (suppressed, paused, not discoverable)
    deleted = "deleted"


class Store(Base):
    """A seller's account on one marketplace."""

    __tablename__ = "stores"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    platform: Mapped[Platform] = mapped_column(Enum(Platform, native_enum=False, length=16), index=True)
    name: Mapped[str] = mapped_column(String(200))
    seller_id: Mapped[str | None] = mapped_column(String(100))
    auth: Mapped[WebhookAuth] = mapped_column(Enum(WebhookAuth, native_enum=False, length=16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    credentials: Mapped[list[StoreCredential]] = relationship(back_populates="store", lazy="raise")


class StoreCredential(Base):
    """A webhook secret or API key. Several may be valid at once while a sender switches keys."""

    __tablename__ = "store_credentials"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), index=True)
    # Signing secrets must be recoverable to verify HMACs, so they are encrypted (Fernet);
    # API keys only need comparing, so only their SHA-256 is kept.
    secret_encrypted: Mapped[str | None] = mapped_column(Text)
    api_key_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    store: Mapped[Store] = relationship(back_populates="credentials", lazy="raise")


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("store_id", "sku"),
        Index("ix_products_marketplace_category", "marketplace", "category"),
        Index("ix_products_brand", "brand"),
        Index("ix_products_external_id", "external_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="RESTRICT"))
    marketplace: Mapped[Platform] = mapped_column(Enum(Platform, native_enum=False, length=16))
    sku: Mapped[str] = mapped_column(String(200))
    # ASIN on Amazon, style id on Myntra, catalog id on Meesho.
    external_id: Mapped[str | None] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(500), default="")
    brand: Mapped[str] = mapped_column(String(200), default="")
    # Path with " > " between levels, e.g. "Ethnic Wear > Kurtas".
    category: Mapped[str] = mapped_column(String(300), default="", index=True)
    mrp_paise: Mapped[int | None] = mapped_column(BigInteger)
    price_paise: Mapped[int | None] = mapped_column(BigInteger)
    stock: Mapped[int | None] = mapped_column(Integer)
    rating: Mapped[float | None] = mapped_column(Float)
    rating_count: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[ListingStatus] = mapped_column(
        Enum(ListingStatus, native_enum=False, length=16), default=ListingStatus.active
    )
    # Competitive signals Amazon supplies (ANY_OFFER_CHANGED, PRICING_HEALTH).
    buybox_price_paise: Mapped[int | None] = mapped_column(BigInteger)
    lowest_competitor_price_paise: Mapped[int | None] = mapped_column(BigInteger)
    sales_rank: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Every writer sets it (the scorer re-reads products by it: ml/feature_cache.py); indexed.
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, index=True)
    # Event time of the newest change applied to each kind of state, so an older delivery
    # arriving late is recorded in history without overwriting newer state.
    price_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    stock_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    status_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    details_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Buy-box price, lowest competing price and sales rank (added by migration integrations_0001).
    market_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_event_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class HistoryField(enum.StrEnum):
    price = "price"
    mrp = "mrp"
    stock = "stock"
    status = "status"
    buybox_price = "buybox_price"
    lowest_competitor_price = "lowest_competitor_price"
    sales_rank = "sales_rank"


class ProductHistory(Base):
    """Every observed change of price, stock, status and competitive state, at its event time."""

    __tablename__ = "product_history"
    __table_args__ = (Index("ix_product_history_product_field_time", "product_id", "field", "event_time"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    field: Mapped[HistoryField] = mapped_column(Enum(HistoryField, native_enum=False, length=32))
    value_int: Mapped[int | None] = mapped_column(BigInteger)
    value_text: Mapped[str | None] = mapped_column(String(32))
    event_time: Mapped[dt.datetime] = mapped_column(UTCDateTime)  # no index of its own: migration events_0005
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="SET NULL"))
