"""The web console: sessions (the hash of each cookie, its CSRF token) and failed sign-ins per address

Revision ID: 0022
Revises: 0021
"""

from alembic import op
import sqlalchemy as sa


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'console_sessions',
        sa.Column('id_hash', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('csrf_token', sa.String(length=64), nullable=False),
        sa.Column('created_at_ms', sa.BigInteger(), nullable=False),
        sa.Column('expires_at_ms', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id_hash'),
    )
    op.create_index('ix_console_sessions_user', 'console_sessions', ['user_id'])
    op.create_table(
        'sign_in_failures',
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('last_at_ms', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('email'),
    )


def downgrade() -> None:
    op.drop_table('sign_in_failures')
    op.drop_index('ix_console_sessions_user', table_name='console_sessions')
    op.drop_table('console_sessions')
