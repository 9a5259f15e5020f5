"""Campaigns can be archived: they stop matching for good and leave the lists, while the MOs and
messages they produced keep naming them (mo_messages holds the campaign's id and name)

Revision ID: 0020
Revises: 0019
"""

from alembic import op
import sqlalchemy as sa


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('campaigns', sa.Column('archived_at_ms', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column('campaigns', 'archived_at_ms')  # SQLite 3.35 and later drop a column in place
