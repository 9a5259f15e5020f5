"""message parts: per-part carrier message ids of multi-part messages

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('message_parts',
    sa.Column('carrier', sa.String(length=100), nullable=False),
    sa.Column('carrier_message_id', sa.String(length=64), nullable=False),
    sa.Column('message_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('part_index', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=True),
    sa.PrimaryKeyConstraint('carrier', 'carrier_message_id')
    )
    with op.batch_alter_table('message_parts', schema=None) as batch_op:
        batch_op.create_index('ix_message_parts_message', ['message_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('message_parts', schema=None) as batch_op:
        batch_op.drop_index('ix_message_parts_message')
    op.drop_table('message_parts')
