"""Database tables.

``users`` has the Open Event server's shape (ADR 0002): in shared mode it
*is* the event server's table, so the lab maps only the columns it needs and
never creates or alters it. Everything the lab owns lives in ``lab_*`` tables.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    func,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class User(Base):
    """A row of the event server's ``users`` table (only the columns the lab uses)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column("_email", String(120), nullable=False)
    password: Mapped[str] = mapped_column("_password", String(128), nullable=False)
    salt: Mapped[str | None] = mapped_column(String(128))
    first_name: Mapped[str | None] = mapped_column(String)
    last_name: Mapped[str | None] = mapped_column(String)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_super_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    is_blocked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    reset_password: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_users_lower_email", func.lower(email), unique=True),)

    @property
    def active(self) -> bool:
        return self.deleted_at is None and not self.is_blocked


class LabAccount(Base):
    """Lab-only facts about a user: lab role, token cut-off, reset-token expiry."""

    __tablename__ = "lab_accounts"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str | None] = mapped_column(String(20))
    role_granted_by: Mapped[int | None] = mapped_column(Integer)
    # Tokens issued before this instant are refused (logout everywhere, password change).
    tokens_valid_after: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reset_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class LabRevokedToken(Base):
    """JWT ids revoked by logout, kept until they would have expired anyway."""

    __tablename__ = "lab_revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class LabEmailVerification(Base):
    """An email-verification link sent to a user: the SHA-256 of its token, never the token.

    ``email`` is the address the link was sent to: should the address change (in a shared
    event-server database), the link no longer verifies the new one.
    """

    __tablename__ = "lab_email_verifications"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class LabScript(Base):
    """A user's script; a published script is an example every user can read and run."""

    __tablename__ = "lab_scripts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # NULL for the built-in examples loaded from examples/.
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    code: Mapped[str] = mapped_column(Text, default="")
    level: Mapped[str | None] = mapped_column(String(40))
    published: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    # Shown on a published example: the name its teacher gave (NULL: none, or built-in).
    author: Mapped[str | None] = mapped_column(String(120))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # For examples loaded from examples/: the file name, so a restart updates, not duplicates.
    source_file: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LabScriptRun(Base):
    """One run of a saved script, for its owner to compare runs (the newest N are kept)."""

    __tablename__ = "lab_script_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    script_id: Mapped[int] = mapped_column(
        ForeignKey("lab_scripts.id", ondelete="CASCADE"), index=True
    )
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)
    # The run's result as JSON: {"widgets", "stdout", "error", "stats"} (widgets may be
    # left out when large: "widgets_omitted": true).
    result: Mapped[str] = mapped_column(Text, default="{}")


class LabBenchOutput(Base):
    """An output of the bench as a teacher set it (``PUT /v1/device/bench``), kept across
    restarts. Only outputs that differ from the configured bench (the bench file's or the
    default) have a row; ``value`` is the output's JSON (docs/reference/contexts.md)."""

    __tablename__ = "lab_bench_outputs"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
