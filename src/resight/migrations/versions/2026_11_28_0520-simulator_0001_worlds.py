"""simulator_worlds: the seed, size and span of each simulated demo world

Revision ID: simulator_0001
Revises: integrations_0001
Create Date: 2026-11-28 05:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import resight.db

revision: str = "simulator_0001"
down_revision: str | None = "integrations_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "simulator_worlds",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("n_products", sa.Integer(), nullable=False),
        sa.Column("start", resight.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end", resight.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("stores", sa.JSON(), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("created_at", resight.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_simulator_worlds")),
    )


def downgrade() -> None:
    op.drop_table("simulator_worlds")
