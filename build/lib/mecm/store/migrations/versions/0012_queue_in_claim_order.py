"""The queue index in the claim's whole order: (status, priority, next_attempt_at_ms, id)

A claim takes the first due PENDING messages by priority, due time and id. With the id in the
index, PostgreSQL reads them in that order and stops at the claim's limit; without it, it sorted
every PENDING message of the backlog at each claim (SQLite keeps the rowid, the id, in every index
entry already: its order does not change).

Revision ID: 0012
Revises: 0011
"""

from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_queue')
        batch_op.create_index('ix_messages_queue', ['status', 'priority', 'next_attempt_at_ms', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_queue')
        batch_op.create_index('ix_messages_queue', ['status', 'priority', 'next_attempt_at_ms'], unique=False)
