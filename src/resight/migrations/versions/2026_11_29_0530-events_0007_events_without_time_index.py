"""events without its event_time index

Revision ID: events_0007
Revises: events_0006
Create Date: 2026-11-29 05:30:00

Every stored event maintained ix_events_event_time, and only one reader used it: the operator's
`resight rollups rebuild --since`, which reads the events from an IST hour on. That command now
reads the events table through (on a 10,000,000-event table, seconds added to a rebuild that takes
minutes); every event ingested saves an index entry, about 1 µs of an hourly batch's ~30 µs
(docs/decisions/0303-ingestion-write-path.md, fifth pass). Nothing else reads events by time:
KPIs, alerts, item pages and the scorer read the rollups.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "events_0007"
down_revision: str | None = "events_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_events_event_time", table_name="events")


def downgrade() -> None:
    op.create_index("ix_events_event_time", "events", ["event_time"], unique=False)
