"""PIN verification and PIN text at rest: a PIN's verified time, a workspace's choice to hide the PIN
from sendSMSPinMobileNumberConfirm's answer, and a PIN message's real text sealed (Fernet, under the
master key) while messages.text keeps it masked; the PIN messages sent before this revision get
their PINs masked (every run of 4 to 10 digits in their text)

Revision ID: 0013
Revises: 0012
"""

import re

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


# Plain ALTER TABLE ... ADD / DROP COLUMN, not batch mode: on SQLite, batch mode would copy the
# workspaces table to add a column with an expression default, and the status-callback trigger
# (migration 0006), which names workspaces, refuses the rename back.
def upgrade() -> None:
    op.add_column('workspaces', sa.Column('pin_in_response', sa.Boolean(), nullable=False,
                                          server_default=sa.true()))
    op.add_column('pins', sa.Column('verified_at_ms', sa.BigInteger(), nullable=True))
    op.create_index('ix_pins_workspace_recipient', 'pins', ['workspace_id', 'recipient', 'message_id'], unique=False)
    op.add_column('messages', sa.Column('sealed_text', sa.Text(), nullable=True))
    _mask_sent_pins()


_PIN_LIKE = re.compile(r"(?<![0-9])[0-9]{4,10}(?![0-9])")


def _mask_sent_pins() -> None:
    """Before this revision a PIN message's text held the PIN in clear. Those the carrier has (or
    that are final) are masked now; one still waiting to be sent keeps its text, which its submit
    needs (and is masked by nothing later: it was stored before sealing existed)."""
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT id, text FROM messages WHERE kind = 'pin' AND status NOT IN ('PENDING', 'SENDING')")).all()
    masked = [{"id": i, "text": _PIN_LIKE.sub(lambda m: "*" * len(m.group()), t)} for i, t in rows]
    changed = [row for row, (_, before) in zip(masked, rows) if row["text"] != before]
    if changed:
        bind.execute(sa.text("UPDATE messages SET text = :text WHERE id = :id"), changed)


def downgrade() -> None:
    op.drop_column('messages', 'sealed_text')
    op.drop_index('ix_pins_workspace_recipient', table_name='pins')
    op.drop_column('pins', 'verified_at_ms')
    op.drop_column('workspaces', 'pin_in_response')
