"""actions and outbox: campaign action lists, capped MOs, workspace status callbacks and webhook
secret, and the outbox of webhooks and e-mails the worker delivers (with retries and dead letters)

A trigger queues a status callback for every change of an MT's status, in the transaction that
changes it, for workspaces that have a callback URL (SQLite and PostgreSQL each in their own words).

Revision ID: 0006
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

STATUS_TRIGGER = """
CREATE TRIGGER tr_messages_status_callback AFTER UPDATE OF status ON messages
WHEN NEW.status <> OLD.status
BEGIN
    INSERT INTO outbox (workspace_id, kind, target, payload, state, attempts, next_attempt_at_ms, created_at_ms)
    SELECT w.id, 'status', w.status_callback_url,
           json_object('event', 'status', 'id', CAST(NEW.id AS TEXT), 'instance_id', NEW.workspace_id, 'status', NEW.status,
                       'detail', NEW.status_detail, 'from', NEW.sender, 'to', NEW.recipient,
                       'carrier', NEW.carrier, 'client_id', NEW.client_id, 'updated_at_ms', NEW.updated_at_ms),
           'pending', 0, NEW.updated_at_ms, NEW.updated_at_ms
      FROM workspaces w
     WHERE w.id = NEW.workspace_id AND w.status_callback_url IS NOT NULL;
END
"""

PG_STATUS_FUNCTION = """
CREATE FUNCTION mecm_status_callback() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox (workspace_id, kind, target, payload, state, attempts, next_attempt_at_ms, created_at_ms)
    SELECT w.id, 'status', w.status_callback_url,
           json_build_object('event', 'status', 'id', CAST(NEW.id AS TEXT), 'instance_id', NEW.workspace_id,
                             'status', NEW.status, 'detail', NEW.status_detail, 'from', NEW.sender,
                             'to', NEW.recipient, 'carrier', NEW.carrier, 'client_id', NEW.client_id,
                             'updated_at_ms', NEW.updated_at_ms)::text,
           'pending', 0, NEW.updated_at_ms, NEW.updated_at_ms
      FROM workspaces w
     WHERE w.id = NEW.workspace_id AND w.status_callback_url IS NOT NULL;
    RETURN NULL;
END
$$
"""
PG_STATUS_TRIGGER = """
CREATE TRIGGER tr_messages_status_callback AFTER UPDATE OF status ON messages
FOR EACH ROW WHEN (NEW.status IS DISTINCT FROM OLD.status) EXECUTE FUNCTION mecm_status_callback()
"""


def upgrade() -> None:
    with op.batch_alter_table('workspaces', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_callback_url', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('webhook_secret_enc', sa.Text(), nullable=True))
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('actions', sa.Text(), nullable=True))
    with op.batch_alter_table('mo_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('capped', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('target', sa.Text(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('reply_code', sa.String(length=32), nullable=True),
    sa.Column('reply_to', sa.String(length=20), nullable=True),
    sa.Column('mo_id', sa.BigInteger(), nullable=True),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at_ms', sa.BigInteger(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at_ms', sa.BigInteger(), nullable=False),
    sa.Column('finished_at_ms', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_due', ['state', 'next_attempt_at_ms'], unique=False)
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(STATUS_TRIGGER)
    elif op.get_bind().dialect.name == 'postgresql':
        op.execute(PG_STATUS_FUNCTION)
        op.execute(PG_STATUS_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("DROP TRIGGER IF EXISTS tr_messages_status_callback")
    elif op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS tr_messages_status_callback ON messages")
        op.execute("DROP FUNCTION IF EXISTS mecm_status_callback()")
    op.drop_table('outbox')
    with op.batch_alter_table('mo_messages', schema=None) as batch_op:
        batch_op.drop_column('capped')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('actions')
    with op.batch_alter_table('workspaces', schema=None) as batch_op:
        batch_op.drop_column('webhook_secret_enc')
        batch_op.drop_column('status_callback_url')
