"""The database: SQLAlchemy 2 (async) models, queries and Alembic migrations.

- :mod:`.database` — the engine (SQLite with WAL by default, or PostgreSQL),
  sessions, and the migrations applied at start;
- :mod:`.models` — the event server's ``users`` table and the lab's ``lab_*`` tables;
- :mod:`.users`, :mod:`.scripts`, :mod:`.examples`, :mod:`.bench` — the queries, one module
  per table family.

The lab never creates or alters an event-server table in shared mode: its own
data lives in ``lab_*`` tables. May import config and errors only.
"""
