"""Which messages went to a number, written a piece of message ids at a time apart from the send
path, for a search by number over any span of time (store/number_index.py)

Revision ID: 0025
Revises: 0024
"""

from alembic import op
import sqlalchemy as sa


revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'number_pieces',
        sa.Column('first_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False,
                  nullable=False),
        sa.Column('end_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('messages', sa.Integer(), nullable=False),
        sa.Column('indexed_at_ms', sa.BigInteger(), nullable=False),
        sa.Column('checked_at_ms', sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint('first_id'),
    )
    op.create_table(
        'message_numbers',
        sa.Column('piece', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False,
                  nullable=False),
        sa.Column('recipient', sa.String(length=20), nullable=False),
        sa.Column('message_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False,
                  nullable=False),
        sa.PrimaryKeyConstraint('piece', 'recipient', 'message_id'),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table('message_numbers')
    op.drop_table('number_pieces')
