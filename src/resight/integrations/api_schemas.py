"""Request and response bodies of the stores, webhook and inbox endpoints."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from resight.catalog.models import Platform, Store, WebhookAuth
from resight.integrations.deliveries import DeliveryStats
from resight.integrations.inbox import Receipt
from resight.integrations.models import DeliveryStatus, WebhookDelivery


class StoreCreate(BaseModel):
    platform: Platform
    name: str = Field(min_length=1, max_length=200)
    seller_id: str | None = Field(default=None, max_length=100, description="Amazon SellerId / panel id.")
    auth: WebhookAuth = Field(
        default=WebhookAuth.signature,
        description="signature: Standard Webhooks HMAC (whsec_ secret); api_key: X-Api-Key header.",
    )


class DeliveryCounts(BaseModel):
    accepted: int = Field(description="Deliveries stored and answered 2xx (all statuses below).")
    processed: int
    ignored: int = Field(description="Authentic, nothing for ReSight in it (unknown notification type).")
    duplicate: int
    quarantined: int
    rejected: int = Field(description="Refused with 401/413/400 and not stored.")


class StoreOut(BaseModel):
    id: int
    platform: Platform
    name: str
    seller_id: str | None
    auth: WebhookAuth
    created_at: dt.datetime
    webhook_path: str = Field(description="Where this store's marketplace sends deliveries.")
    last_delivery_at: dt.datetime | None
    last_rejected_at: dt.datetime | None
    last_rejection: str | None
    deliveries: DeliveryCounts

    @classmethod
    def of(cls, store: Store, stats: DeliveryStats) -> StoreOut:
        counts = {status: stats.by_status.get(status, 0) for status in DeliveryStatus}
        return cls(
            id=store.id,
            platform=store.platform,
            name=store.name,
            seller_id=store.seller_id,
            auth=store.auth,
            created_at=store.created_at,
            webhook_path=f"/integrations/{store.platform.value}/webhook?store={store.id}",
            last_delivery_at=stats.last_delivery_at,
            last_rejected_at=stats.last_rejected_at,
            last_rejection=stats.last_rejection,
            deliveries=DeliveryCounts(
                accepted=sum(counts.values()),
                processed=counts[DeliveryStatus.processed],
                ignored=counts[DeliveryStatus.ignored],
                duplicate=counts[DeliveryStatus.duplicate],
                quarantined=counts[DeliveryStatus.quarantined],
                rejected=stats.rejected,
            ),
        )


class StoreWithSecret(BaseModel):
    store: StoreOut
    webhook_secret: str = Field(
        description="The signing secret (whsec_…) or API key (rsk_…). Shown only now, never again."
    )
    old_credentials_expire_at: dt.datetime | None = Field(
        default=None, description="After a rotation: until when the previous secret stays valid."
    )


class DeliveryReceipt(BaseModel):
    id: int = Field(description="The inbox row.")
    delivery_id: str = Field(description="webhook-id, Amazon NotificationId, or sha256 of the body.")
    status: DeliveryStatus
    notification_type: str | None
    error: str | None = Field(description="Why the delivery was quarantined or ignored.")
    counts: dict[str, int]

    @classmethod
    def of(cls, receipt: Receipt) -> DeliveryReceipt:
        return cls(
            id=receipt.id,
            delivery_id=receipt.delivery_id,
            status=receipt.status,
            notification_type=receipt.notification_type,
            error=receipt.error,
            counts=receipt.counts,
        )


class DeliveryOut(BaseModel):
    id: int
    store_id: int | None
    platform: Platform
    kind: str = Field(description="webhook, batch or import.")
    delivery_id: str
    status: DeliveryStatus
    notification_type: str | None
    received_at: dt.datetime
    processed_at: dt.datetime | None
    error: str | None
    attempts: int
    records_applied: int

    @classmethod
    def of(cls, row: WebhookDelivery) -> DeliveryOut:
        return cls(
            id=row.id,
            store_id=row.store_id,
            platform=row.platform,
            kind=row.kind,
            delivery_id=row.delivery_id,
            status=row.status,
            notification_type=row.notification_type,
            received_at=row.received_at,
            processed_at=row.processed_at,
            error=row.error,
            attempts=row.attempts,
            records_applied=row.records_applied,
        )
