"""lists and broadcasts: subscriber lists and their members, broadcasts to a list, and each
broadcast message's link to its broadcast (at most one message per broadcast and subscriber)

Revision ID: 0007
Revises: 0006
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lists',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('created_at_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('workspace_id', 'name', name='uq_list_name')
    )
    op.create_table('list_members',
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('subscriber', sa.String(length=20), nullable=False),
    sa.Column('fields', sa.Text(), nullable=False),
    sa.Column('via', sa.String(length=8), nullable=False),
    sa.Column('joined_at_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('list_id', 'subscriber')
    )
    op.create_table('broadcasts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('carrier', sa.String(length=100), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('quiet_hours', sa.String(length=11), nullable=True),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('scheduled_at_ms', sa.BigInteger(), nullable=False),
    sa.Column('cursor', sa.String(length=20), nullable=False),
    sa.Column('enqueued', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('created_at_ms', sa.BigInteger(), nullable=False),
    sa.Column('finished_at_ms', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('broadcast_id', sa.Integer(), nullable=True))
    op.create_index('ux_messages_broadcast_recipient', 'messages', ['broadcast_id', 'recipient'], unique=True,
                    sqlite_where=sa.text('broadcast_id IS NOT NULL'),
                    postgresql_where=sa.text('broadcast_id IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ux_messages_broadcast_recipient', 'messages')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('broadcast_id')
    op.drop_table('broadcasts')
    op.drop_table('list_members')
    op.drop_table('lists')
