"""The console dashboard's counts of closed hours: per workspace and hour, messages by carrier and
status, MOs by campaign, and when each hour was counted (services/admin/dashboard.py)

Revision ID: 0024
Revises: 0023
"""

from alembic import op
import sqlalchemy as sa


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'dashboard_hours',
        sa.Column('workspace_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('hour_ms', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('counted_at_ms', sa.BigInteger(), nullable=False),
        sa.Column('open_messages', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('workspace_id', 'hour_ms'),
    )
    op.create_table(
        'dashboard_message_counts',
        sa.Column('workspace_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('hour_ms', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('carrier', sa.String(length=100), nullable=False),
        sa.Column('status', sa.String(length=24), nullable=False),
        sa.Column('messages', sa.BigInteger(), nullable=False),
        sa.Column('receipt_ms', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('workspace_id', 'hour_ms', 'carrier', 'status'),
    )
    op.create_table(
        'dashboard_mo_counts',
        sa.Column('workspace_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('hour_ms', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('campaign_name', sa.String(length=200), nullable=False),
        sa.Column('mos', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('workspace_id', 'hour_ms', 'campaign_name'),
    )


def downgrade() -> None:
    op.drop_table('dashboard_mo_counts')
    op.drop_table('dashboard_message_counts')
    op.drop_table('dashboard_hours')
