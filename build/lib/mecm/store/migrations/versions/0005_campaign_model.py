"""campaign model: match mode, case and accent sensitivity, active window, frequency cap, quiet hours,
fallback campaigns (mode "fallback", code "" for every code of the workspace)

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('match_mode', sa.String(length=8), nullable=False, server_default='regex'))
        batch_op.add_column(sa.Column('case_sensitive', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('starts_at_ms', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('ends_at_ms', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('cap_count', sa.Integer(), nullable=False, server_default='5'))
        batch_op.add_column(sa.Column('cap_window_s', sa.Integer(), nullable=False, server_default='3600'))
        batch_op.add_column(sa.Column('quiet_hours', sa.String(length=11), nullable=True))
    with op.batch_alter_table('mo_messages', schema=None) as batch_op:
        batch_op.create_index('ix_mo_campaign_sender', ['campaign_id', 'sender', 'received_at_ms'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('mo_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_mo_campaign_sender')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        for column in ('quiet_hours', 'cap_window_s', 'cap_count', 'ends_at_ms', 'starts_at_ms', 'case_sensitive',
                       'match_mode'):
            batch_op.drop_column(column)
