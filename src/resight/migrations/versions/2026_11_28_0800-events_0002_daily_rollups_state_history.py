"""Daily segment rollups and product state history, both kept by triggers

Revision ID: events_0002
Revises: ml_0002
Create Date: 2026-11-28 08:00:00

- segment_daily_metrics: the hourly segment rollups summed per IST day, kept in step by triggers
  on segment_hourly_metrics, so every writer of hourly rollups keeps the daily level exact.
- product_state_changes / product_state_daily_changes: per IST hour and per IST day, how much the
  active and out-of-stock counts of each store and category changed (triggers on
  product_state_counts, stamped with the database clock); a past count is the current one minus
  the changes since.
- ix_product_hourly_metrics_orders: a partial covering index of the product-hours with orders,
  what alert evaluation sums over a week.
- The products update trigger applies one delta when a product stays in its segment (was: remove
  from and add back to the same row), so a price or stock write costs one counts update, or none.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import resight.db

revision: str = "events_0002"
down_revision: str | None = "ml_0002"
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
SEGMENT_KEY = ("store_id", "category")

# The IST day / IST hour a UTC instant falls in, as the UTC instant it starts (how rollups key them).
_SQLITE_DAY = "strftime('%Y-%m-%d %H:%M:%S.000000', date({0}, '+330 minutes'), '-330 minutes')"
_SQLITE_HOUR_NOW = (
    "strftime('%Y-%m-%d %H:%M:%S.000000', strftime('%Y-%m-%d %H:00:00', 'now', '+30 minutes'), '-30 minutes')"
)
_SQLITE_DAY_NOW = _SQLITE_DAY.format("'now'")
_PG_DAY = "date_bin(interval '1 day', {0}, timestamptz '2000-01-01 18:30:00+00')"
_PG_HOUR_NOW = "date_bin(interval '1 hour', now(), timestamptz '2000-01-01 00:30:00+00')"
_PG_DAY_NOW = _PG_DAY.format("now()")


def _upsert_add(table: str, time_column: str, time_value: str, row: str, values: dict[str, str]) -> str:
    """Add `values` to the (time, store, category) row of `table`, creating it if missing."""
    names = ", ".join(values)
    return (
        f"INSERT INTO {table} ({time_column}, store_id, category, marketplace, {names}) "
        f"VALUES ({time_value}, {row}.store_id, {row}.category, {row}.marketplace, "
        f"{', '.join(values.values())}) "
        f"ON CONFLICT ({time_column}, store_id, category) DO UPDATE SET "
        + ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in values)
    )


def _daily(day: str, row: str, sign: str) -> str:
    return _upsert_add(
        "segment_daily_metrics",
        "day_start",
        day.format(f"{row}.hour_start"),
        row,
        {name: f"{sign}{row}.{name}" for name in COUNTERS},
    )


def _daily_delta(day: str) -> str:
    return _upsert_add(
        "segment_daily_metrics",
        "day_start",
        day.format("NEW.hour_start"),
        "NEW",
        {name: f"NEW.{name} - OLD.{name}" for name in COUNTERS},
    )


_SAME_BUCKET = (
    "NEW.hour_start = OLD.hour_start AND NEW.store_id = OLD.store_id AND NEW.category = OLD.category"
)


def _state_changes(hour_now: str, day_now: str, row: str, active: str, out_of_stock: str) -> list[str]:
    values = {"active": active, "out_of_stock": out_of_stock}
    return [
        _upsert_add("product_state_changes", "hour_start", hour_now, row, values),
        _upsert_add("product_state_daily_changes", "day_start", day_now, row, values),
    ]


# What one product row adds to its (store, category) counts (as in events_0001; docs/metrics.md).
ACTIVE = "CASE WHEN {row}.status = 'active' THEN 1 ELSE 0 END"
OUT_OF_STOCK = "CASE WHEN {row}.status <> 'deleted' AND {row}.stock <= 0 THEN 1 ELSE 0 END"
_STATE_DELTA = (
    "UPDATE product_state_counts SET active = active + ({new_a}) - ({old_a}), "
    "out_of_stock = out_of_stock + ({new_o}) - ({old_o}) "
    "WHERE store_id = NEW.store_id AND category = NEW.category "
    "AND (({new_a}) <> ({old_a}) OR ({new_o}) <> ({old_o}))"
).format(
    new_a=ACTIVE.format(row="NEW"),
    old_a=ACTIVE.format(row="OLD"),
    new_o=OUT_OF_STOCK.format(row="NEW"),
    old_o=OUT_OF_STOCK.format(row="OLD"),
)
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
_STAYED = "NEW.store_id = OLD.store_id AND NEW.category = OLD.category"


def _sqlite_triggers() -> list[str]:
    def body(statements: list[str]) -> str:
        return "BEGIN " + "; ".join(statements) + "; END"

    on_hourly = "ON segment_hourly_metrics FOR EACH ROW"
    on_counts = "ON product_state_counts FOR EACH ROW"
    changed = "NEW.active <> OLD.active OR NEW.out_of_stock <> OLD.out_of_stock"
    return [
        f"CREATE TRIGGER trg_segment_daily_insert AFTER INSERT {on_hourly} "
        + body([_daily(_SQLITE_DAY, "NEW", "")]),
        f"CREATE TRIGGER trg_segment_daily_update AFTER UPDATE {on_hourly} WHEN {_SAME_BUCKET} "
        + body([_daily_delta(_SQLITE_DAY)]),
        f"CREATE TRIGGER trg_segment_daily_move AFTER UPDATE {on_hourly} WHEN NOT ({_SAME_BUCKET}) "
        + body([_daily(_SQLITE_DAY, "OLD", "-"), _daily(_SQLITE_DAY, "NEW", "")]),
        f"CREATE TRIGGER trg_segment_daily_delete AFTER DELETE {on_hourly} "
        + body([_daily(_SQLITE_DAY, "OLD", "-")]),
        f"CREATE TRIGGER trg_state_changes_insert AFTER INSERT {on_counts} "
        + body(_state_changes(_SQLITE_HOUR_NOW, _SQLITE_DAY_NOW, "NEW", "NEW.active", "NEW.out_of_stock")),
        f"CREATE TRIGGER trg_state_changes_update AFTER UPDATE {on_counts} WHEN {changed} "
        + body(
            _state_changes(
                _SQLITE_HOUR_NOW,
                _SQLITE_DAY_NOW,
                "NEW",
                "NEW.active - OLD.active",
                "NEW.out_of_stock - OLD.out_of_stock",
            )
        ),
        f"CREATE TRIGGER trg_state_changes_delete AFTER DELETE {on_counts} "
        + body(_state_changes(_SQLITE_HOUR_NOW, _SQLITE_DAY_NOW, "OLD", "-OLD.active", "-OLD.out_of_stock")),
        "DROP TRIGGER trg_products_state_counts_update",
        f"CREATE TRIGGER trg_products_state_counts_update AFTER UPDATE OF {_WATCHED} ON products "
        f"WHEN {_STAYED} " + body([_STATE_DELTA]),
        f"CREATE TRIGGER trg_products_state_counts_move AFTER UPDATE OF {_WATCHED} ON products "
        f"WHEN NOT ({_STAYED}) " + body([_REMOVE, _ADD]),
    ]


def _postgres_triggers() -> list[str]:
    segment_daily = f"""
    CREATE FUNCTION segment_daily_metrics_apply() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND {_SAME_BUCKET} THEN
            {_daily_delta(_PG_DAY)};
            RETURN NULL;
        END IF;
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            {_daily(_PG_DAY, "OLD", "-")};
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            {_daily(_PG_DAY, "NEW", "")};
        END IF;
        RETURN NULL;
    END
    $$ LANGUAGE plpgsql
    """
    inserted = "; ".join(_state_changes(_PG_HOUR_NOW, _PG_DAY_NOW, "NEW", "NEW.active", "NEW.out_of_stock"))
    updated = "; ".join(
        _state_changes(
            _PG_HOUR_NOW, _PG_DAY_NOW, "NEW", "NEW.active - OLD.active", "NEW.out_of_stock - OLD.out_of_stock"
        )
    )
    deleted = "; ".join(_state_changes(_PG_HOUR_NOW, _PG_DAY_NOW, "OLD", "-OLD.active", "-OLD.out_of_stock"))
    state_changes = f"""
    CREATE FUNCTION product_state_changes_apply() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            {inserted};
        ELSIF TG_OP = 'DELETE' THEN
            {deleted};
        ELSIF NEW.active <> OLD.active OR NEW.out_of_stock <> OLD.out_of_stock THEN
            {updated};
        END IF;
        RETURN NULL;
    END
    $$ LANGUAGE plpgsql
    """
    products = f"""
    CREATE OR REPLACE FUNCTION product_state_counts_apply() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND {_STAYED} THEN
            {_STATE_DELTA};
            RETURN NULL;
        END IF;
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            {_REMOVE};
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            {_ADD};
        END IF;
        RETURN NULL;
    END
    $$ LANGUAGE plpgsql
    """
    return [
        segment_daily,
        "CREATE TRIGGER trg_segment_daily AFTER INSERT OR UPDATE OR DELETE ON segment_hourly_metrics "
        "FOR EACH ROW EXECUTE FUNCTION segment_daily_metrics_apply()",
        state_changes,
        "CREATE TRIGGER trg_state_changes AFTER INSERT OR UPDATE OR DELETE ON product_state_counts "
        "FOR EACH ROW EXECUTE FUNCTION product_state_changes_apply()",
        products,
    ]


def _segment_columns(time_column: str) -> list[sa.Column[object]]:
    return [
        sa.Column(time_column, resight.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("store_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("category", sa.String(length=300), nullable=False),
        sa.Column(
            "marketplace",
            sa.Enum("amazon", "myntra", "meesho", name="platform", native_enum=False, length=16),
            nullable=False,
        ),
    ]


def _create(table: str, time_column: str, counters: Sequence[str]) -> None:
    op.create_table(
        table,
        *_segment_columns(time_column),
        *[sa.Column(name, sa.BigInteger(), nullable=False) for name in counters],
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f(f"fk_{table}_store_id_stores"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint(time_column, *SEGMENT_KEY, name=op.f(f"pk_{table}")),
        sqlite_with_rowid=False,
    )


def upgrade() -> None:
    _create("segment_daily_metrics", "day_start", COUNTERS)
    _create("product_state_changes", "hour_start", ("active", "out_of_stock"))
    _create("product_state_daily_changes", "day_start", ("active", "out_of_stock"))
    postgres = op.get_bind().dialect.name == "postgresql"
    day = (_PG_DAY if postgres else _SQLITE_DAY).format("hour_start")
    sums = ", ".join(f"SUM({name})" for name in COUNTERS)
    op.execute(
        f"INSERT INTO segment_daily_metrics (day_start, store_id, category, marketplace, {', '.join(COUNTERS)}) "
        f"SELECT {day}, store_id, category, MIN(marketplace), {sums} FROM segment_hourly_metrics "
        f"GROUP BY {day}, store_id, category"
    )
    for statement in _postgres_triggers() if postgres else _sqlite_triggers():
        op.execute(statement)
    op.create_index(
        "ix_product_hourly_metrics_orders",
        "product_hourly_metrics",
        ["hour_start", "product_id", "units", "gmv_paise"],
        sqlite_where=sa.text("orders > 0"),
        postgresql_where=sa.text("orders > 0"),
    )


def downgrade() -> None:
    op.drop_index("ix_product_hourly_metrics_orders", table_name="product_hourly_metrics")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS trg_segment_daily ON segment_hourly_metrics")
        op.execute("DROP FUNCTION IF EXISTS segment_daily_metrics_apply()")
        op.execute("DROP TRIGGER IF EXISTS trg_state_changes ON product_state_counts")
        op.execute("DROP FUNCTION IF EXISTS product_state_changes_apply()")
        op.execute(
            f"""
            CREATE OR REPLACE FUNCTION product_state_counts_apply() RETURNS trigger AS $$
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
            """
        )
    else:
        for name in ("insert", "update", "move", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS trg_segment_daily_{name}")
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS trg_state_changes_{name}")
        op.execute("DROP TRIGGER IF EXISTS trg_products_state_counts_update")
        op.execute("DROP TRIGGER IF EXISTS trg_products_state_counts_move")
        op.execute(
            f"CREATE TRIGGER trg_products_state_counts_update AFTER UPDATE OF {_WATCHED} ON products "
            f"BEGIN {_REMOVE}; {_ADD}; END"
        )
    op.drop_table("product_state_daily_changes")
    op.drop_table("product_state_changes")
    op.drop_table("segment_daily_metrics")
