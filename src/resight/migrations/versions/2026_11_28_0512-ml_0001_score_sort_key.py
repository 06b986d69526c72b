"""ml_scores: the ranking key after rules, and the rules applied

Revision ID: ml_0001
Revises: 2b9e2595a343
Create Date: 2026-11-28 05:12:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ml_0001"
down_revision: str | None = "2b9e2595a343"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ml_scores", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sort_key", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("rules_applied", sa.JSON(), nullable=True))
        batch_op.create_index("ix_ml_scores_sort_key", ["sort_key", "product_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ml_scores", schema=None) as batch_op:
        batch_op.drop_index("ix_ml_scores_sort_key")
        batch_op.drop_column("rules_applied")
        batch_op.drop_column("sort_key")
