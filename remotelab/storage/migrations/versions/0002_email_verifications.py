"""Email-verification links: lab_email_verifications.

The event server's ``users`` table is not touched: verifying sets its existing
``is_verified`` column, nothing more.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from remotelab.storage.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lab_email_verifications",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("email", sa.String(120), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_lab_email_verifications_user_id", "lab_email_verifications", ["user_id"])
    op.create_index(
        "ix_lab_email_verifications_expires_at", "lab_email_verifications", ["expires_at"]
    )


def downgrade() -> None:
    op.drop_table("lab_email_verifications")
