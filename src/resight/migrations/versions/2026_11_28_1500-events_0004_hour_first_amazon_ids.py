"""Hour-first external ids for Amazon's hourly traffic and sales events

Revision ID: events_0004
Revises: ml_0003
Create Date: 2026-11-28 15:00:00

An Amazon DETAIL_PAGE_TRAFFIC_EVENT / ITEM_SALES_EVENT_CHANGE bucket is stored as one event whose
external id names its ASIN and hour; the (store_id, event_type, external_id) uniqueness makes a
re-sent bucket harmless. The id was `views/<ASIN>/<hour>` (ASIN-major), so each hourly
notification inserted its hundreds of buckets all over that index, dirtying pages in proportion
to the table's size. It is now `views/<hour>/<ASIN>` (`sales/…` alike): a new hour's buckets land
together at the end of the index (docs/decisions/0305-hour-first-amazon-event-ids.md).

Stored ids are rewritten here so that a bucket delivered before the upgrade and re-sent after it
is still recognised as a repeat. Only Amazon rows whose id has the old shape are touched (the
last part parses as an ISO time, the middle does not), so running it twice changes nothing.
"""

import datetime as dt
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "events_0004"
down_revision: str | None = "ml_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PREFIXES = ("views", "sales")
CHUNK = 20_000


def _is_time(text: str) -> bool:
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return False
    return moment.tzinfo is not None


def hour_first(external_id: str) -> str | None:
    """`views/<ASIN>/<hour>` -> `views/<hour>/<ASIN>`; None for any other shape (left alone).
    An ASIN may in principle hold a `/`; the hour never does, so it is the last part."""
    prefix, _, rest = external_id.partition("/")
    item, _, hour = rest.rpartition("/")
    if prefix not in PREFIXES or not item or not _is_time(hour) or _is_time(item.partition("/")[0]):
        return None
    return f"{prefix}/{hour}/{item}"


def asin_first(external_id: str) -> str | None:
    """The inverse of hour_first (for downgrade)."""
    prefix, _, rest = external_id.partition("/")
    hour, _, item = rest.partition("/")
    if prefix not in PREFIXES or not item or not _is_time(hour):
        return None
    return f"{prefix}/{item}/{hour}"


def _rewrite(rewrite: Callable[[str], str | None]) -> None:
    """Rewrite matching ids in chunks by primary key (bounded memory on a large events table)."""
    connection = op.get_bind()
    select = sa.text(
        "SELECT id, external_id FROM events WHERE id > :after AND marketplace = 'amazon' "
        "AND (external_id LIKE 'views/%' OR external_id LIKE 'sales/%') ORDER BY id LIMIT :limit"
    )
    update = sa.text("UPDATE events SET external_id = :external_id WHERE id = :id")
    after = 0
    while True:
        rows = connection.execute(select, {"after": after, "limit": CHUNK}).all()
        if not rows:
            return
        changes = []
        for row_id, external_id in rows:
            new = rewrite(external_id)
            if new is not None:
                changes.append({"id": row_id, "external_id": new})
        if changes:
            connection.execute(update, changes)
        after = rows[-1][0]


def upgrade() -> None:
    _rewrite(hour_first)


def downgrade() -> None:
    _rewrite(asin_first)
