"""Scorer change tracking: an index on products.updated_at

The long-lived scorer re-reads only the products changed since its last read
(ml/feature_cache.py), by `updated_at >= watermark - lookback`; without this index each cycle
would scan the whole catalogue.

Revision ID: ml_0003
Revises: events_0003
Create Date: 2026-11-28 11:01:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "ml_0003"
down_revision: str | None = "events_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_products_updated_at"), ["updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_products_updated_at"))
