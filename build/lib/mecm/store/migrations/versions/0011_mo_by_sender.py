"""MOs by subscriber: getMOMessages' from= filter reads one subscriber's MOs from an index, in id
order of arrival, however many MOs the workspace has (10 million in make bench's mo-search scenario)

Revision ID: 0011
Revises: 0010
"""

from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('mo_messages', schema=None) as batch_op:
        batch_op.create_index('ix_mo_workspace_sender', ['workspace_id', 'sender', 'received_at_ms'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('mo_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_mo_workspace_sender')
