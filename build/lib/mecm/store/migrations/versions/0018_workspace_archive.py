"""Archived workspaces: when a workspace was archived (its keys stop working, lists hide it, its
history stays); NULL for one in use

Revision ID: 0018
Revises: 0017
"""

from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (not a batch, which on SQLite copies the table and trips the trigger that
    # reads workspaces: migration 0006).
    op.add_column('workspaces', sa.Column('archived_at_ms', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column('workspaces', 'archived_at_ms')  # SQLite 3.35 and later drop a column in place
