"""A debit's ledger row covers the sends of a workspace stored in one transaction: ``messages`` says
how many (NULL on rows written before: one when message_id is set, else none)

Revision ID: 0021
Revises: 0020
"""

from alembic import op
import sqlalchemy as sa


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('credit_ledger', sa.Column('messages', sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column('credit_ledger', 'messages')  # SQLite 3.35 and later drop a column in place
