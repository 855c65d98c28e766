"""Alembic migrations of the lab's schema (applied by ``remotelab init-db`` and at serve start)."""
