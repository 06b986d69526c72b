"""Ingestion write path: no write-only indexes on events

Revision ID: events_0003
Revises: events_0002
Create Date: 2026-11-28 11:00:00

Every event insert maintained five b-trees. Two had no reader (docs/decisions/0303-ingestion-write-path.md):
- ix_events_product_time (product_id, event_time): nothing reads events by product (KPIs,
  alerts and item pages read the rollups); as a random-order key it dirtied a page per event.
- ix_events_delivery_id: nothing reads events by delivery, and no code deletes deliveries (the
  foreign key's ON DELETE SET NULL is the only user).
Kept: the primary key, the (store_id, event_type, external_id) uniqueness that makes repeats
harmless, and ix_events_event_time, which the partial rollup rebuild (`since`) ranges over.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "events_0003"
down_revision: str | None = "events_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain DROP INDEX on both databases: no table rebuild needed (SQLite's batch mode would copy
    # the whole events table for nothing).
    op.drop_index("ix_events_product_time", table_name="events")
    op.drop_index("ix_events_delivery_id", table_name="events")


def downgrade() -> None:
    op.create_index("ix_events_delivery_id", "events", ["delivery_id"], unique=False)
    op.create_index("ix_events_product_time", "events", ["product_id", "event_time"], unique=False)
