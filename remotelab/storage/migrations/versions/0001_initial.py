"""Initial schema: users (standalone mode only) and the lab tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

from remotelab.errors import InputError
from remotelab.storage.models import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Columns the lab reads and writes in the event server's users table.
REQUIRED_USER_COLUMNS = {
    "id",
    "_email",
    "_password",
    "salt",
    "first_name",
    "last_name",
    "is_admin",
    "is_super_admin",
    "is_verified",
    "is_blocked",
    "reset_password",
    "created_at",
    "deleted_at",
}


def _create_users() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("_email", sa.String(120), nullable=False),
        sa.Column("_password", sa.String(128), nullable=False),
        sa.Column("salt", sa.String(128)),
        sa.Column("first_name", sa.String),
        sa.Column("last_name", sa.String),
        sa.Column("is_admin", sa.Boolean, server_default=sa.false()),
        sa.Column("is_super_admin", sa.Boolean, server_default=sa.false()),
        sa.Column("is_verified", sa.Boolean, server_default=sa.false()),
        sa.Column("is_blocked", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("reset_password", sa.String(128)),
        sa.Column("created_at", UTCDateTime()),
        sa.Column("deleted_at", UTCDateTime()),
    )
    op.create_index("ix_users_lower_email", "users", [sa.text("lower(_email)")], unique=True)


def _check_shared_users() -> None:
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table("users"):
        raise InputError(
            "REMOTELAB_ACCOUNTS=shared but the database has no 'users' table: point "
            "REMOTELAB_DATABASE_URL at the Open Event server's database"
        )
    columns = {c["name"] for c in inspector.get_columns("users")}
    missing = sorted(REQUIRED_USER_COLUMNS - columns)
    if missing:
        raise InputError(
            "the shared 'users' table lacks the Open Event server's columns: " + ", ".join(missing)
        )


def upgrade() -> None:
    if context.config.attributes.get("accounts", "standalone") == "shared":
        _check_shared_users()
    else:
        _create_users()
    op.create_table(
        "lab_accounts",
        sa.Column(
            "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("role", sa.String(20)),
        sa.Column("role_granted_by", sa.Integer),
        sa.Column("tokens_valid_after", UTCDateTime()),
        sa.Column("reset_expires_at", UTCDateTime()),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "lab_revoked_tokens",
        sa.Column("jti", sa.String(64), primary_key=True),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_lab_revoked_tokens_expires_at", "lab_revoked_tokens", ["expires_at"])
    op.create_table(
        "lab_scripts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("owner_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE")),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("level", sa.String(40)),
        sa.Column("published", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("source_file", sa.String(200), unique=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime()),
    )
    op.create_index("ix_lab_scripts_owner_id", "lab_scripts", ["owner_id"])
    op.create_index("ix_lab_scripts_published", "lab_scripts", ["published"])


def downgrade() -> None:
    op.drop_table("lab_scripts")
    op.drop_table("lab_revoked_tokens")
    op.drop_table("lab_accounts")
    if context.config.attributes.get("accounts", "standalone") != "shared":
        op.drop_table("users")
