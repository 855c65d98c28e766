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
    with op.batch_alter_table("lab_scripts") as batch:
        batch.add_column(sa.Column("author", sa.String(120), nullable=True))
        batch.add_column(sa.Column("published_at", UTCDateTime(), nullable=True))
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
    with op.batch_alter_table("lab_scripts") as batch:
        batch.drop_column("published_at")
        batch.drop_column("author")
