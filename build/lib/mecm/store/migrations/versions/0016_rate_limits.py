"""Rate limits per workspace and key by class (sends, pins, reads), the token buckets API processes
share on PostgreSQL, and each workspace's SMS-pumping defence (PIN sends per number, per block of
numbers, countries)

Revision ID: 0016
Revises: 0015
"""

from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'rate_limits',
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('public_key', sa.String(length=64), nullable=False),
        sa.Column('class', sa.String(length=16), nullable=False),
        sa.Column('rate_per_s', sa.Float(), nullable=False),
        sa.Column('burst', sa.Integer(), nullable=False),
        sa.Column('updated_at_ms', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id']),
        sa.PrimaryKeyConstraint('workspace_id', 'public_key', 'class'),
    )
    op.create_table(
        'rate_buckets',
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('tokens', sa.Float(), nullable=False),
        sa.Column('updated_at_ms', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    op.create_table(
        'pin_send_policies',
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('per_number', sa.Integer(), nullable=True),
        sa.Column('per_block', sa.Integer(), nullable=True),
        sa.Column('countries', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id']),
        sa.PrimaryKeyConstraint('workspace_id'),
    )


def downgrade() -> None:
    op.drop_table('pin_send_policies')
    op.drop_table('rate_buckets')
    op.drop_table('rate_limits')
