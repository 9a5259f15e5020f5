"""opt-outs: who opted out of each workspace, the history of opt-outs and opt-ins, and each
workspace's (or code's) STOP / START / HELP keywords and answers

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('opt_outs',
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('subscriber', sa.String(length=20), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('via', sa.String(length=16), nullable=False),
    sa.Column('opted_out_at_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('workspace_id', 'subscriber')
    )
    op.create_table('opt_out_events',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('subscriber', sa.String(length=20), nullable=False),
    sa.Column('opted_out', sa.Boolean(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('via', sa.String(length=16), nullable=False),
    sa.Column('mo_id', sa.BigInteger(), nullable=True),
    sa.Column('at_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    op.create_table('opt_out_settings',
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('stop_keywords', sa.Text(), nullable=True),
    sa.Column('start_keywords', sa.Text(), nullable=True),
    sa.Column('help_keywords', sa.Text(), nullable=True),
    sa.Column('stop_text', sa.Text(), nullable=True),
    sa.Column('start_text', sa.Text(), nullable=True),
    sa.Column('help_text', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('workspace_id', 'code')
    )


def downgrade() -> None:
    op.drop_table('opt_out_settings')
    op.drop_table('opt_out_events')
    op.drop_table('opt_outs')
