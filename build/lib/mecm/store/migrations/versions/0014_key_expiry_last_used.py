"""Key pairs: an expiry instant (set at creation, by set-expiry, or by key rotate for the old key)
and the time each was last used (written in batches by the API processes)

Revision ID: 0014
Revises: 0013
"""

from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


# Plain ADD / DROP COLUMN, as 0013 does: both columns are nullable, so no table copy is needed.
def upgrade() -> None:
    op.add_column('api_keys', sa.Column('expires_at_ms', sa.BigInteger(), nullable=True))
    op.add_column('api_keys', sa.Column('last_used_at_ms', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column('api_keys', 'last_used_at_ms')
    op.drop_column('api_keys', 'expires_at_ms')
