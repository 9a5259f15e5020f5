"""mo parts: the parts of multi-part MOs received so far, stored before they are acknowledged

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('mo_parts',
    sa.Column('carrier', sa.String(length=100), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('destination', sa.String(length=32), nullable=False),
    sa.Column('reference', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('received_at_ms', sa.BigInteger(), nullable=False),
    sa.Column('expires_at_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('carrier', 'source', 'destination', 'reference', 'total', 'seq')
    )
    with op.batch_alter_table('mo_parts', schema=None) as batch_op:
        batch_op.create_index('ix_mo_parts_expiry', ['expires_at_ms'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('mo_parts', schema=None) as batch_op:
        batch_op.drop_index('ix_mo_parts_expiry')
    op.drop_table('mo_parts')
