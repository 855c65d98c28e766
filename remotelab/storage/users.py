"""Queries on users, lab accounts, revoked tokens and email-verification links."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from remotelab.errors import Conflict
from remotelab.storage.models import (
    LabAccount,
    LabEmailVerification,
    LabRevokedToken,
    User,
    utcnow,
)


def normalize_email(email: str) -> str:
    """The event server's rule: trimmed and lower-cased."""
    return email.strip().lower()


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def find_by_email(session: AsyncSession, email: str) -> User | None:
    stmt = select(User).where(func.lower(User.email) == normalize_email(email))
    return (await session.execute(stmt)).scalars().first()


async def find_by_reset_token(session: AsyncSession, token: str) -> User | None:
    stmt = select(User).where(User.reset_password == token)
    return (await session.execute(stmt)).scalars().first()


async def create_user(
    session: AsyncSession,
    *,
    email: str,
    password_hash: str,
    salt: str | None,
    first_name: str | None = None,
    last_name: str | None = None,
) -> User:
    """Insert a user. Raises :class:`Conflict` when the email is taken (any case)."""
    email = normalize_email(email)
    if await find_by_email(session, email) is not None:
        raise Conflict("an account with this email already exists")
    user = User(
        email=email,
        password=password_hash,
        salt=salt,
        first_name=first_name,
        last_name=last_name,
        is_admin=False,
        is_super_admin=False,
        is_verified=False,
        is_blocked=False,
        created_at=utcnow(),
    )
    session.add(user)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:  # a concurrent sign-up won the race
        raise Conflict("an account with this email already exists") from None
    return user


async def get_account(session: AsyncSession, user_id: int) -> LabAccount:
    """The user's lab row, created on first use."""
    account = await session.get(LabAccount, user_id)
    if account is None:
        account = LabAccount(user_id=user_id, updated_at=utcnow())
        session.add(account)
        await session.flush()
    return account


async def lab_roles(session: AsyncSession, user_ids: list[int]) -> dict[int, str | None]:
    if not user_ids:
        return {}
    stmt = select(LabAccount.user_id, LabAccount.role).where(LabAccount.user_id.in_(user_ids))
    return {uid: role for uid, role in (await session.execute(stmt)).all()}


async def count_admins(session: AsyncSession) -> int:
    """Active users whose role is admin: event-server staff or the lab's admin role."""
    stmt = (
        select(func.count())
        .select_from(User)
        .outerjoin(LabAccount, LabAccount.user_id == User.id)
        .where(
            User.deleted_at.is_(None),
            User.is_blocked.is_not(True),
            or_(User.is_admin.is_(True), User.is_super_admin.is_(True), LabAccount.role == "admin"),
        )
    )
    return int((await session.execute(stmt)).scalar_one())


async def list_users(session: AsyncSession, *, offset: int, limit: int) -> tuple[list[User], int]:
    base = select(User).where(User.deleted_at.is_(None))
    total = (await session.execute(select(func.count()).select_from(base.subquery()))).scalar_one()
    rows = (await session.execute(base.order_by(User.id).offset(offset).limit(limit))).scalars()
    return list(rows), int(total)


async def revoke_token(session: AsyncSession, jti: str, expires_at: datetime) -> None:
    if await session.get(LabRevokedToken, jti) is None:
        session.add(LabRevokedToken(jti=jti, expires_at=expires_at))
    # Forget revocations of tokens that have expired anyway: the table stays small.
    await session.execute(delete(LabRevokedToken).where(LabRevokedToken.expires_at < utcnow()))


async def live_revocations(session: AsyncSession) -> list[tuple[str, datetime]]:
    """Revoked jtis whose tokens have not expired yet."""
    stmt = select(LabRevokedToken.jti, LabRevokedToken.expires_at).where(
        LabRevokedToken.expires_at >= utcnow()
    )
    return [(jti, expires) for jti, expires in (await session.execute(stmt)).all()]


async def add_verification(
    session: AsyncSession, *, user_id: int, email: str, token_hash: str, expires_at: datetime
) -> None:
    """Remember a verification link sent to ``email``; forget the links that expired."""
    await session.execute(
        delete(LabEmailVerification).where(LabEmailVerification.expires_at < utcnow())
    )
    session.add(
        LabEmailVerification(
            token_hash=token_hash,
            user_id=user_id,
            email=email,
            created_at=utcnow(),
            expires_at=expires_at,
        )
    )


async def find_verification(session: AsyncSession, token_hash: str) -> LabEmailVerification | None:
    """The verification link with this token hash, unless it expired."""
    row = await session.get(LabEmailVerification, token_hash)
    if row is None or row.expires_at < utcnow():
        return None
    return row


async def forget_verifications(session: AsyncSession, user_id: int) -> None:
    """Every verification link of the user stops working (the email is verified)."""
    await session.execute(
        delete(LabEmailVerification).where(LabEmailVerification.user_id == user_id)
    )
