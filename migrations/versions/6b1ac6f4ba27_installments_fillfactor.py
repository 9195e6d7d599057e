"""installments: room on each page for in-place updates (PostgreSQL fillfactor 50)

Installments are updated in place by every repayment, reversal and penalty accrual, and the first
accrual after a stretch of arrears (or after downtime) rewrites most of them at once. With free
space on its page, PostgreSQL keeps the new row version there and leaves the three indexes alone (a
HOT update); on a full page every update writes a new entry into each index. Measured on 100,000
loans with 94% overdue: `flask loans accrue` spends 2.2 s instead of 8.5 s of server time on that
UPDATE. The price is a heap about twice as large for this table. SQLite has no such setting.

Only pages written from now on are packed this way; an existing database re-packs its installments
with VACUUM FULL (or pg_repack) when convenient.

Revision ID: 6b1ac6f4ba27
Revises: 8e3f2c4d9f56
Create Date: 2026-11-22 14:40:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '6b1ac6f4ba27'
down_revision = '8e3f2c4d9f56'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE installments SET (fillfactor = 50)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE installments RESET (fillfactor)")
