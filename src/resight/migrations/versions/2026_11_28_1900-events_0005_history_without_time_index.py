"""product_history without its write-only event_time index

Revision ID: events_0005
Revises: events_0004
Create Date: 2026-11-28 19:00:00

Every observed change of price, stock or status inserts a product_history row, and each insert
maintained ix_product_history_event_time too. Nothing reads product_history by event time alone:
the simulator reads it by product (ix_product_history_product_field_time), training reads all of
it (ordered by product, then time: a sort, whichever index exists), and nothing deletes history
by age. Dropping it saves an index entry per history row (two of a mixed batch's
three records write one) and its disk (docs/decisions/0303-ingestion-write-path.md, fourth pass).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "events_0005"
down_revision: str | None = "events_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_product_history_event_time", table_name="product_history")


def downgrade() -> None:
    op.create_index("ix_product_history_event_time", "product_history", ["event_time"], unique=False)
