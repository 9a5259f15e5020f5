"""Prepaid credit: a workspace's account (currency, balance, low-balance threshold), its price list,
the append-only ledger of every movement, and each message's price and refund time

Revision ID: 0015
Revises: 0014
"""

from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

_SQLITE_APPEND_ONLY = [
    """CREATE TRIGGER tr_credit_ledger_no_update BEFORE UPDATE ON credit_ledger
       BEGIN SELECT RAISE(ABORT, 'credit_ledger is append-only'); END""",
    """CREATE TRIGGER tr_credit_ledger_no_delete BEFORE DELETE ON credit_ledger
       BEGIN SELECT RAISE(ABORT, 'credit_ledger is append-only'); END""",
]
_PG_APPEND_ONLY = [
    """CREATE FUNCTION mecm_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'credit_ledger is append-only'; END $$""",
    """CREATE TRIGGER tr_credit_ledger_append_only BEFORE UPDATE OR DELETE ON credit_ledger
       FOR EACH ROW EXECUTE FUNCTION mecm_ledger_append_only()""",
]


# Plain ADD COLUMN on messages (not batch mode): see 0013 on the status-callback trigger.
def upgrade() -> None:
    op.add_column('messages', sa.Column('price', sa.BigInteger(), nullable=True))
    op.add_column('messages', sa.Column('refunded_at_ms', sa.BigInteger(), nullable=True))
    op.create_table(
        'credit_accounts',
        sa.Column('workspace_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('balance', sa.BigInteger(), nullable=False),
        sa.Column('low_balance', sa.BigInteger(), nullable=True),
        sa.Column('updated_at_ms', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('workspace_id'),
    )
    op.create_table(
        'prices',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('carrier', sa.String(length=100), nullable=False),
        sa.Column('prefix', sa.String(length=15), nullable=False),
        sa.Column('per_segment', sa.BigInteger(), nullable=False),
        sa.Column('created_at_ms', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('workspace_id', 'carrier', 'prefix', name='uq_price_row'),
    )
    op.create_table(
        'credit_ledger',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.BigInteger(), nullable=True),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('balance_after', sa.BigInteger(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('created_at_ms', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_credit_ledger_workspace', 'credit_ledger', ['workspace_id', 'id'], unique=False)
    for statement in _PG_APPEND_ONLY if op.get_bind().dialect.name == 'postgresql' else _SQLITE_APPEND_ONLY:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS tr_credit_ledger_append_only ON credit_ledger")
        op.execute("DROP FUNCTION IF EXISTS mecm_ledger_append_only()")
    op.drop_index('ix_credit_ledger_workspace', table_name='credit_ledger')
    op.drop_table('credit_ledger')
    op.drop_table('prices')
    op.drop_table('credit_accounts')
    op.drop_column('messages', 'refunded_at_ms')
    op.drop_column('messages', 'price')
