"""Idempotency keys (SPEC section 9): a request's key, its fingerprint and its first answer, kept for
a retry within the window

Revision ID: 0017
Revises: 0016
"""

from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'idempotency_keys',
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('method', sa.String(length=40), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('message_id', sa.BigInteger(), nullable=False),
        sa.Column('answer', sa.Text(), nullable=False),
        sa.Column('created_at_ms', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('workspace_id', 'key'),
    )
    op.create_index('ix_idempotency_keys_created', 'idempotency_keys', ['created_at_ms'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_idempotency_keys_created', table_name='idempotency_keys')
    op.drop_table('idempotency_keys')
