"""Score writes: no schema change

The score-persistence work (docs/decisions/0602-score-writes.md) kept every ml_scores index:
rank (POST /rank pages and the live ranking), (sort_key, product_id) (what-if's seek) and
computed_at (GET / and POST /rank read the newest computed_at: a seek with the index, a scan of
the table without it — 90 ms at 1,000,000 products). The revision stays so the chain is fixed.

Revision ID: ml_0004
Revises: ml_0003
Create Date: 2026-11-28 11:02:00
"""

from collections.abc import Sequence

revision: str = "ml_0004"
down_revision: str | None = "ml_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
