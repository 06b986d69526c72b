"""ml_score_history: change points of each product's score and rank

Revision ID: ml_0002
Revises: events_0001
Create Date: 2026-11-28 07:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import resight.db

revision: str = "ml_0002"
down_revision: str | None = "events_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ml_score_history",
        sa.Column("product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("computed_at", resight.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_ml_score_history_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("product_id", "computed_at", name=op.f("pk_ml_score_history")),
    )
    op.create_index("ix_ml_score_history_computed_at", "ml_score_history", ["computed_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_ml_score_history_computed_at", table_name="ml_score_history")
    op.drop_table("ml_score_history")
