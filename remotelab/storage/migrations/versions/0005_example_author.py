"""Published examples name their author and when they were published.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from remotelab.storage.models import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("lab_scripts", sa.Column("author", sa.String(120), nullable=True))
    op.add_column("lab_scripts", sa.Column("published_at", UTCDateTime(), nullable=True))
    # Examples published before this revision: published when last changed.
    scripts = sa.table(
        "lab_scripts",
        sa.column("published", sa.Boolean),
        sa.column("published_at", UTCDateTime()),
        sa.column("updated_at", UTCDateTime()),
    )
    op.execute(
        scripts.update()
        .where(scripts.c.published.is_(True))
        .values(published_at=scripts.c.updated_at)
    )


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+, PostgreSQL): no table copy.
    op.drop_column("lab_scripts", "published_at")
    op.drop_column("lab_scripts", "author")
