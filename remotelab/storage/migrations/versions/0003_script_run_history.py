"""Run history of saved scripts: lab_script_runs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from remotelab.storage.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lab_script_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "script_id",
            sa.Integer,
            sa.ForeignKey("lab_scripts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "owner_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("duration_ms", sa.Float, nullable=False),
        sa.Column("result", sa.Text, nullable=False),
    )
    op.create_index("ix_lab_script_runs_script_id", "lab_script_runs", ["script_id"])
    op.create_index("ix_lab_script_runs_owner_id", "lab_script_runs", ["owner_id"])


def downgrade() -> None:
    op.drop_table("lab_script_runs")
