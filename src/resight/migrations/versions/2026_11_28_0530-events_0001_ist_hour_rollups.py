"""IST-hour rollup buckets, per-segment rollups, product state counts kept by triggers

Revision ID: events_0001
Revises: simulator_0001
Create Date: 2026-11-28 05:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import resight.db

revision: str = "events_0001"
down_revision: str | None = "simulator_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTERS = (
    "views",
    "clicks",
    "add_to_carts",
    "orders",
    "units",
    "gmv_paise",
    "cancellations",
    "cancelled_units",
    "cancelled_paise",
    "returns",
    "returned_units",
    "returned_paise",
)

# Each counter summed from raw events (docs/metrics.md).
_SUMS = ", ".join(
    [
        "COALESCE(SUM(CASE WHEN event_type = 'view' THEN quantity ELSE 0 END), 0)",
        "COALESCE(SUM(CASE WHEN event_type = 'click' THEN quantity ELSE 0 END), 0)",
        "COALESCE(SUM(CASE WHEN event_type = 'add_to_cart' THEN quantity ELSE 0 END), 0)",
        "COALESCE(SUM(CASE WHEN event_type = 'order' THEN 1 ELSE 0 END), 0)",
        "COALESCE(SUM(CASE WHEN event_type = 'order' THEN quantity ELSE 0 END), 0)",
        "COALESCE(SUM(CASE WHEN event_type = 'order' THEN revenue_paise ELSE 0 END), 0)",
        "COALESCE(SUM(CASE WHEN event_type = 'cancellation' THEN 1 ELSE 0 END), 0)",
        "COALESCE(SUM(CASE WHEN event_type = 'cancellation' THEN quantity ELSE 0 END), 0)",
        "COALESCE(SUM(CASE WHEN event_type = 'cancellation' THEN revenue_paise ELSE 0 END), 0)",
        "COALESCE(SUM(CASE WHEN event_type = 'return' THEN 1 ELSE 0 END), 0)",
        "COALESCE(SUM(CASE WHEN event_type = 'return' THEN quantity ELSE 0 END), 0)",
        "COALESCE(SUM(CASE WHEN event_type = 'return' THEN revenue_paise ELSE 0 END), 0)",
    ]
)

# What one product row adds to its (store, category) counts: docs/metrics.md.
ACTIVE = "CASE WHEN {row}.status = 'active' THEN 1 ELSE 0 END"
OUT_OF_STOCK = "CASE WHEN {row}.status <> 'deleted' AND {row}.stock <= 0 THEN 1 ELSE 0 END"
_ADD = (
    "INSERT INTO product_state_counts (store_id, category, marketplace, active, out_of_stock) "
    "VALUES (NEW.store_id, NEW.category, NEW.marketplace, {active}, {oos}) "
    "ON CONFLICT (store_id, category) DO UPDATE SET "
    "active = product_state_counts.active + excluded.active, "
    "out_of_stock = product_state_counts.out_of_stock + excluded.out_of_stock"
).format(active=ACTIVE.format(row="NEW"), oos=OUT_OF_STOCK.format(row="NEW"))
_REMOVE = (
    "UPDATE product_state_counts SET active = active - {active}, out_of_stock = out_of_stock - {oos} "
    "WHERE store_id = OLD.store_id AND category = OLD.category"
).format(active=ACTIVE.format(row="OLD"), oos=OUT_OF_STOCK.format(row="OLD"))
_WATCHED = "status, stock, store_id, category, marketplace"
SQLITE_TRIGGERS = [
    f"CREATE TRIGGER trg_products_state_counts_insert AFTER INSERT ON products BEGIN {_ADD}; END",
    f"CREATE TRIGGER trg_products_state_counts_update AFTER UPDATE OF {_WATCHED} ON products "
    f"BEGIN {_REMOVE}; {_ADD}; END",
    f"CREATE TRIGGER trg_products_state_counts_delete AFTER DELETE ON products BEGIN {_REMOVE}; END",
]
POSTGRES_TRIGGER = [
    f"""
    CREATE FUNCTION product_state_counts_apply() RETURNS trigger AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            {_REMOVE};
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            {_ADD};
        END IF;
        RETURN NULL;
    END
    $$ LANGUAGE plpgsql
    """,
    f"CREATE TRIGGER trg_products_state_counts AFTER INSERT OR DELETE OR UPDATE OF {_WATCHED} ON products "
    "FOR EACH ROW EXECUTE FUNCTION product_state_counts_apply()",
]


def upgrade() -> None:
    op.create_table(
        "segment_hourly_metrics",
        sa.Column("hour_start", resight.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("store_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("category", sa.String(length=300), nullable=False),
        sa.Column(
            "marketplace",
            sa.Enum("amazon", "myntra", "meesho", name="platform", native_enum=False, length=16),
            nullable=False,
        ),
        *[sa.Column(name, sa.BigInteger(), nullable=False) for name in COUNTERS],
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_segment_hourly_metrics_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("hour_start", "store_id", "category", name=op.f("pk_segment_hourly_metrics")),
    )
    op.create_table(
        "product_state_counts",
        sa.Column("store_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("category", sa.String(length=300), nullable=False),
        sa.Column(
            "marketplace",
            sa.Enum("amazon", "myntra", "meesho", name="platform", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("active", sa.BigInteger(), nullable=False),
        sa.Column("out_of_stock", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_product_state_counts_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("store_id", "category", name=op.f("pk_product_state_counts")),
    )
    op.execute(
        f"INSERT INTO product_state_counts (store_id, category, marketplace, active, out_of_stock) "
        f"SELECT store_id, category, MIN(marketplace), SUM({ACTIVE.format(row='products')}), "
        f"SUM({OUT_OF_STOCK.format(row='products')}) FROM products GROUP BY store_id, category"
    )
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRES_TRIGGER:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
    # Existing rollups were UTC-hour buckets: recompute both tables from raw events in IST hours.
    # Plain SQL, frozen here: the application's rebuild knows tables of later revisions.
    if op.get_bind().dialect.name == "postgresql":
        hour = "date_bin(interval '1 hour', event_time, timestamptz '2000-01-01 00:30:00+00')"
    else:
        hour = (
            "strftime('%Y-%m-%d %H:%M:%S.000000', "
            "strftime('%Y-%m-%d %H:00:00', event_time, '+30 minutes'), '-30 minutes')"
        )
    columns = ", ".join(COUNTERS)
    op.execute("DELETE FROM product_hourly_metrics")
    op.execute(
        f"INSERT INTO product_hourly_metrics (product_id, hour_start, {columns}) "
        f"SELECT product_id, {hour}, {_SUMS} FROM events GROUP BY product_id, {hour}"
    )
    op.execute(
        f"INSERT INTO segment_hourly_metrics (hour_start, store_id, category, marketplace, {columns}) "
        f"SELECT h.hour_start, p.store_id, p.category, MIN(p.marketplace), "
        + ", ".join(f"SUM(h.{name})" for name in COUNTERS)
        + " FROM product_hourly_metrics h JOIN products p ON p.id = h.product_id "
        "GROUP BY h.hour_start, p.store_id, p.category"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS trg_products_state_counts ON products")
        op.execute("DROP FUNCTION IF EXISTS product_state_counts_apply()")
    else:
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS trg_products_state_counts_{name}")
    op.drop_table("product_state_counts")
    op.drop_table("segment_hourly_metrics")
    # Back to UTC-hour buckets for the previous code.
    bind = op.get_bind()
    op.execute("DELETE FROM product_hourly_metrics")
    if bind.dialect.name == "postgresql":
        hour = "date_trunc('hour', event_time)"
    else:
        hour = "strftime('%Y-%m-%d %H:00:00.000000', event_time)"
    op.execute(
        f"INSERT INTO product_hourly_metrics (product_id, hour_start, {', '.join(COUNTERS)}) "
        f"SELECT product_id, {hour}, {_SUMS} FROM events GROUP BY product_id, {hour}"
    )
