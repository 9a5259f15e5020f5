"""campaign codes: a campaign listens on one or more codes (campaigns.code keeps the first, for
display); existing campaigns keep their one code

Revision ID: 0008
Revises: 0007
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('campaign_codes',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('campaign_id', 'code')
    )
    with op.batch_alter_table('campaign_codes', schema=None) as batch_op:
        batch_op.create_index('ix_campaign_codes_code', ['code'], unique=False)
    op.execute("INSERT INTO campaign_codes (campaign_id, code) SELECT id, code FROM campaigns")


def downgrade() -> None:
    op.drop_table('campaign_codes')
