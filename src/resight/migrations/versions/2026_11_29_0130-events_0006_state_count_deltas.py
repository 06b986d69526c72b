"""PostgreSQL: product state counts folded once per transaction, not updated once per product

Revision ID: events_0006
Revises: events_0005
Create Date: 2026-11-29 01:30:00

The products trigger updated one product_state_counts row (and, through its own trigger, one
product_state_changes and one product_state_daily_changes row) for every product written.
PostgreSQL keeps every version of a row updated in a transaction until that transaction ends, and
each update follows the chain of versions before it, so N products of one store and category in
one transaction cost O(N²): a 20,000-line catalogue import took 168 s (3.2 s on SQLite, which
updates in place). Now, on PostgreSQL only:

- the products trigger appends each change to product_state_count_deltas (insert-only);
- product_state_counts_fold() sums this transaction's deltas per (store, category), applies each
  sum to product_state_counts in one upsert (so its history triggers fire once per segment) and
  deletes what it folded;
- a deferred constraint trigger folds at commit; `events.segment_reads.product_counts` folds
  before reading, so counts read inside the writing transaction stay exact.

SQLite keeps its triggers (rows updated in place cost nothing more the hundredth time). The table
exists on both databases, so that the schema is one; it stays empty on SQLite.
docs/decisions/0101-ist-hour-rollups.md, "Bulk writes on PostgreSQL".
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "events_0006"
down_revision: str | None = "events_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What one product row adds to its (store, category) counts (as in events_0001; docs/metrics.md).
ACTIVE = "CASE WHEN {row}.status = 'active' THEN 1 ELSE 0 END"
OUT_OF_STOCK = "CASE WHEN {row}.status <> 'deleted' AND {row}.stock <= 0 THEN 1 ELSE 0 END"
_STAYED = "NEW.store_id = OLD.store_id AND NEW.category = OLD.category"
_NEW_A, _OLD_A = ACTIVE.format(row="NEW"), ACTIVE.format(row="OLD")
_NEW_O, _OLD_O = OUT_OF_STOCK.format(row="NEW"), OUT_OF_STOCK.format(row="OLD")


def _delta(row: str, active: str, out_of_stock: str) -> str:
    return (
        "INSERT INTO product_state_count_deltas (store_id, category, marketplace, active, out_of_stock) "
        f"VALUES ({row}.store_id, {row}.category, {row}.marketplace, {active}, {out_of_stock})"
    )


PRODUCTS_TRIGGER = f"""
CREATE OR REPLACE FUNCTION product_state_counts_apply() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND {_STAYED} THEN
        IF ({_NEW_A}) <> ({_OLD_A}) OR ({_NEW_O}) <> ({_OLD_O}) THEN
            {_delta("NEW", f"({_NEW_A}) - ({_OLD_A})", f"({_NEW_O}) - ({_OLD_O})")};
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        {_delta("OLD", f"-({_OLD_A})", f"-({_OLD_O})")};
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        {_delta("NEW", _NEW_A, _NEW_O)};
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""

# Folds what this transaction appended since its last fold (other transactions' rows are invisible
# until they commit, and each folds its own before it does; ids come from one sequence, so this
# transaction's later rows are above its earlier ones). The setting, local to the transaction,
# marks how far it has folded: the commit-time trigger, which fires once per delta, folds once,
# and a fold seeks past the rows earlier folds deleted.
FOLD = """
CREATE FUNCTION product_state_counts_fold() RETURNS void AS $$
DECLARE
    folded_to bigint := coalesce(nullif(current_setting('resight.state_deltas_folded_to', true), '')::bigint, 0);
    fold_to bigint;
BEGIN
    IF txid_current_if_assigned() IS NULL THEN
        RETURN;  -- this transaction has written nothing, so it has appended nothing
    END IF;
    SELECT max(id) INTO fold_to FROM product_state_count_deltas WHERE id > folded_to;
    IF fold_to IS NULL THEN
        RETURN;
    END IF;
    PERFORM set_config('resight.state_deltas_folded_to', fold_to::text, true);
    WITH folded AS (
        DELETE FROM product_state_count_deltas WHERE id > folded_to AND id <= fold_to
        RETURNING store_id, category, marketplace, active, out_of_stock
    ), summed AS (
        SELECT store_id, category, max(marketplace) AS marketplace,
               sum(active) AS active, sum(out_of_stock) AS out_of_stock
        FROM folded
        GROUP BY store_id, category
    )
    INSERT INTO product_state_counts (store_id, category, marketplace, active, out_of_stock)
    SELECT store_id, category, marketplace, active, out_of_stock FROM summed
    ON CONFLICT (store_id, category) DO UPDATE SET
        active = product_state_counts.active + excluded.active,
        out_of_stock = product_state_counts.out_of_stock + excluded.out_of_stock;
END
$$ LANGUAGE plpgsql
"""

AT_COMMIT = """
CREATE FUNCTION product_state_count_deltas_at_commit() RETURNS trigger AS $$
BEGIN
    IF NEW.id > coalesce(nullif(current_setting('resight.state_deltas_folded_to', true), '')::bigint, 0) THEN
        PERFORM product_state_counts_fold();
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""

# The function as events_0002 left it, for downgrade.
_PREVIOUS = f"""
CREATE OR REPLACE FUNCTION product_state_counts_apply() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND {_STAYED} THEN
        UPDATE product_state_counts SET active = active + ({_NEW_A}) - ({_OLD_A}),
            out_of_stock = out_of_stock + ({_NEW_O}) - ({_OLD_O})
        WHERE store_id = NEW.store_id AND category = NEW.category
          AND (({_NEW_A}) <> ({_OLD_A}) OR ({_NEW_O}) <> ({_OLD_O}));
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE product_state_counts SET active = active - {_OLD_A}, out_of_stock = out_of_stock - {_OLD_O}
        WHERE store_id = OLD.store_id AND category = OLD.category;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO product_state_counts (store_id, category, marketplace, active, out_of_stock)
        VALUES (NEW.store_id, NEW.category, NEW.marketplace, {_NEW_A}, {_NEW_O})
        ON CONFLICT (store_id, category) DO UPDATE SET
            active = product_state_counts.active + excluded.active,
            out_of_stock = product_state_counts.out_of_stock + excluded.out_of_stock;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table(
        "product_state_count_deltas",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("store_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("category", sa.String(length=300), nullable=False),
        sa.Column(
            "marketplace",
            sa.Enum("amazon", "myntra", "meesho", name="platform", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("active", sa.Integer(), nullable=False),
        sa.Column("out_of_stock", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_state_count_deltas")),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(PRODUCTS_TRIGGER)
    op.execute(FOLD)
    op.execute(AT_COMMIT)
    op.execute(
        "CREATE CONSTRAINT TRIGGER trg_state_count_deltas_at_commit AFTER INSERT ON product_state_count_deltas "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION product_state_count_deltas_at_commit()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT product_state_counts_fold()")
        op.execute("DROP TRIGGER IF EXISTS trg_state_count_deltas_at_commit ON product_state_count_deltas")
        op.execute("DROP FUNCTION IF EXISTS product_state_count_deltas_at_commit()")
        op.execute("DROP FUNCTION IF EXISTS product_state_counts_fold()")
        op.execute(_PREVIOUS)
    op.drop_table("product_state_count_deltas")
