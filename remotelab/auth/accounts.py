"""Account operations: sign up, log in, tokens, passwords, email verification, roles.

This is the one place that combines the pure auth pieces (password hashing,
JWT codec, rate limiters, roles, mail) with storage. The HTTP layer calls it and
turns its errors into responses; it knows nothing about HTTP.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from remotelab.auth import messages
from remotelab.auth.messages import Message
from remotelab.auth.passwords import dummy_verify, hash_password, verify_password
from remotelab.auth.ratelimit import Limits, LocalLimits
from remotelab.auth.roles import Role, effective_role
from remotelab.auth.standing import RevokedTokens, Standing, StandingCache
from remotelab.auth.tokens import Claims, RevokedToken, TokenCodec, TokenUserNotFound
from remotelab.config import Settings
from remotelab.errors import (
    AuthError,
    Conflict,
    EmailNotVerified,
    InputError,
    InvalidCredentials,
    NotFound,
    PermissionDenied,
)
from remotelab.storage import users as q
from remotelab.storage.database import Database
from remotelab.storage.models import LabAccount, User, utcnow

# The event server's login messages, kept verbatim: its clients match on them.
MISSING_CREDENTIALS = "username or password missing"
INVALID_CREDENTIALS = "Invalid Credentials"
BLOCKED = "Admin has marked this account as spam"
# The event server's answers on email verification.
EMAIL_VERIFIED = "Email Verified"
INVALID_VERIFICATION = "Invalid Token"
NOT_VERIFIED = (
    "Email address not verified: open the link in the verification mail we sent, or ask for "
    "a new one (POST /v1/auth/resend-verification)"
)


class Mailer(Protocol):
    def submit(self, message: Message) -> None:
        """Take a composed mail for delivery off the request path; returns at once."""


def token_hash(token: str) -> str:
    """What is stored of a verification token: its SHA-256, so a database copy opens nothing."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def check_text(field: str, value: str, *, nul: bool = False) -> None:
    """Refuse text that no database stores: lone surrogates (not UTF-8) and, unless ``nul``,
    NUL characters. Raises InputError naming ``field``."""
    if not nul and "\x00" in value:
        raise InputError(f"{field}: must not contain NUL characters", details={"field": field})
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(
            f"{field}: must be valid Unicode (lone surrogate)", details={"field": field}
        ) from None


@dataclass(frozen=True)
class CurrentUser:
    """Who is calling, as the HTTP layer and the sandbox see it."""

    id: int
    email: str
    first_name: str | None
    last_name: str | None
    role: Role
    is_verified: bool

    @property
    def name(self) -> str | None:
        full = " ".join(p for p in (self.first_name, self.last_name) if p)
        return full or None

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "name": self.name,
            "role": self.role.value,
            "is_verified": self.is_verified,
        }


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str


class Accounts:
    """Account operations over one database, one token codec and the login limiters."""

    def __init__(
        self, settings: Settings, db: Database, mail: Mailer, limits: Limits | None = None
    ) -> None:
        self.settings = settings
        self.db = db
        self.mail = mail
        self.scheme: Literal["bcrypt", "scrypt"] = (
            "scrypt" if settings.storage.accounts == "shared" else "bcrypt"
        )
        self.codec = TokenCodec(
            settings.auth.secret_key.reveal(),
            access_seconds=settings.auth.access_token_seconds,
            access_remember_seconds=settings.auth.access_token_remember_seconds,
            refresh_seconds=settings.auth.refresh_token_seconds,
            max_token_chars=settings.auth.token_max_chars,
        )
        auth = settings.auth
        limits = limits or LocalLimits(max_keys=auth.rate_limit_max_keys)
        window = auth.login_window_seconds
        self.per_account = limits.limit("logins", auth.login_attempts_per_account, window)
        self.per_address = limits.limit("login_addresses", auth.login_attempts_per_address, window)
        self.signups = limits.limit("signups", auth.signups_per_address, auth.signup_window_seconds)
        self.standing: StandingCache[CurrentUser] = StandingCache(
            settings.auth.auth_cache_seconds, settings.auth.auth_cache_max_users
        )
        self.revoked = RevokedTokens()
        self.resets = limits.limit("resets", auth.resets_per_window, auth.signup_window_seconds)
        self._role_changes = asyncio.Lock()
        self.verification_resends = limits.limit(
            "verification_resends",
            auth.verification_resends_per_window,
            auth.signup_window_seconds,
        )

    # ---------------------------------------------------------------- helpers

    def _check_password_rules(self, password: str) -> None:
        s = self.settings
        try:
            encoded = password.encode()
        except UnicodeEncodeError:
            raise InputError(
                "Password must be valid Unicode", details={"field": "password"}
            ) from None
        if "\x00" in password:
            raise InputError(
                "Password must not contain NUL characters", details={"field": "password"}
            )
        if len(password) < s.auth.password_min_length:
            raise InputError(
                f"Password should have minimum {s.auth.password_min_length} characters",
                details={"field": "password"},
            )
        if len(password) > s.auth.password_max_length:
            raise InputError(
                f"Password should have at most {s.auth.password_max_length} characters",
                details={"field": "password"},
            )
        if self.scheme == "bcrypt" and len(encoded) > 72:
            raise InputError(
                "Password should have at most 72 bytes (UTF-8)", details={"field": "password"}
            )

    async def _hash(self, password: str) -> tuple[str, str | None]:
        # Hashing is deliberately slow (bcrypt / scrypt): keep it off the event loop.
        return await asyncio.to_thread(
            hash_password, password, self.scheme, bcrypt_rounds=self.settings.auth.bcrypt_rounds
        )

    async def _current(self, user: User) -> CurrentUser:
        async with self.db.session() as session:
            roles = await q.lab_roles(session, [user.id])
        return self.to_current(user, roles.get(user.id))

    @staticmethod
    def to_current(user: User, lab_role: str | None) -> CurrentUser:
        return CurrentUser(
            id=user.id,
            email=user.email,
            first_name=user.first_name,
            last_name=user.last_name,
            role=effective_role(
                is_admin=bool(user.is_admin),
                is_super_admin=bool(user.is_super_admin),
                lab_role=lab_role,
            ),
            is_verified=bool(user.is_verified),
        )

    # ---------------------------------------------------------------- sign up / log in

    async def sign_up(
        self,
        *,
        email: str,
        password: str,
        first_name: str | None,
        last_name: str | None,
        address: str,
        base_url: str,
    ) -> CurrentUser:
        """Create a student account and mail it a verification link.

        Raises InputError, Conflict, RateLimited.
        """
        await self.signups.hit(address)
        user = await self.create_account(
            email=email, password=password, first_name=first_name, last_name=last_name
        )
        await self.send_verification(user.id, user.email, base_url=base_url)
        return user

    async def create_account(
        self,
        *,
        email: str,
        password: str,
        first_name: str | None = None,
        last_name: str | None = None,
        role: Role = Role.STUDENT,
        verified: bool = False,
    ) -> CurrentUser:
        """Create an account with a lab role (no rate limit: for sign up and the CLI).

        ``verified``: the email counts as verified (an operator vouches for it).
        """
        for field, text in (("email", email), ("first_name", first_name), ("last_name", last_name)):
            if text is not None:
                check_text(field, text)  # e.g. from the command line's surrogate escapes
        email = q.normalize_email(email)
        if "@" not in email[1:-1] or len(email) > 120:
            raise InputError("email: not an email address", details={"field": "email"})
        self._check_password_rules(password)
        password_hash, salt = await self._hash(password)
        async with self.db.session() as session:
            user = await q.create_user(
                session,
                email=email,
                password_hash=password_hash,
                salt=salt,
                first_name=first_name,
                last_name=last_name,
            )
            user.is_verified = verified
            account = await q.get_account(session, user.id)
            account.role = None if role is Role.STUDENT else role.value
        return self.to_current(user, account.role)

    async def authenticate_password(
        self, email: str | None, password: str | None, *, address: str
    ) -> CurrentUser:
        """Check a login. Raises InputError / InvalidCredentials with the event server's texts."""
        if not email or not password or not isinstance(email, str) or not isinstance(password, str):
            raise InputError(MISSING_CREDENTIALS)
        check_text("email", email)
        # No password with a lone surrogate can be set; a NUL can (the event server's scrypt).
        check_text("password", password, nul=True)
        key = q.normalize_email(email)
        await self.per_address.hit(address)
        await self.per_account.check(key)
        async with self.db.session() as session:
            user = await q.find_by_email(session, key)
        if user is None:
            # Same work as a real check, so timing does not reveal which emails exist.
            await asyncio.to_thread(
                dummy_verify, password, self.scheme, bcrypt_rounds=self.settings.auth.bcrypt_rounds
            )
            await self.per_account.hit(key)
            raise InvalidCredentials(INVALID_CREDENTIALS)
        ok = await asyncio.to_thread(
            verify_password,
            password,
            user.password,
            user.salt,
            max_bcrypt_rounds=self.settings.auth.bcrypt_max_rounds,
        )
        if not ok or user.deleted_at is not None:
            await self.per_account.hit(key)
            raise InvalidCredentials(INVALID_CREDENTIALS)
        if user.is_blocked:
            # The event server says so, after the password matched.
            raise InvalidCredentials(BLOCKED)
        await self.per_account.reset(key)
        current = await self._current(user)
        self._check_verified(current)
        return current

    def _check_verified(self, user: CurrentUser) -> None:
        if self.settings.auth.require_verified_email and not user.is_verified:
            raise EmailNotVerified(NOT_VERIFIED)

    async def issue_tokens(self, user: CurrentUser, *, remember: bool = False) -> TokenPair:
        """A fresh access token and a refresh token (after a password login)."""
        await self._past_cutoff(user.id)
        return TokenPair(
            access_token=self.codec.issue_access(user.id, fresh=True, remember=remember),
            refresh_token=self.codec.issue_refresh(user.id),
        )

    async def issue_fresh_access(self, user: CurrentUser) -> str:
        """A fresh access token (after a password change)."""
        await self._past_cutoff(user.id)
        return self.codec.issue_access(user.id, fresh=True)

    async def _past_cutoff(self, user_id: int) -> None:
        """Wait, if need be, for the second after the user's token cut-off.

        A token's ``iat`` has whole seconds, so every token whose ``iat`` is the cut-off's
        second is refused (it may predate the cut-off); one issued now must carry a later
        ``iat``. The wait is under a second, and only right after a cut-off.
        """
        cutoff = (await self.standing_of(user_id)).cutoff
        if cutoff is not None:
            delay = math.floor(cutoff) + 1 - time.time()
            if delay > 0:
                await asyncio.sleep(delay)

    # ---------------------------------------------------------------- per-request identity

    async def load_revocations(self) -> None:
        """Fill the in-memory revoked-token set from the database (at start)."""
        async with self.db.session() as session:
            for jti, expires in await q.live_revocations(session):
                self.revoked.add(jti, expires.timestamp())

    async def standing_of(self, user_id: int) -> Standing[CurrentUser]:
        """The user's standing, from the cache or the database."""
        cached = self.standing.get(user_id)
        if cached is not None:
            return cached
        async with self.db.session() as session:
            user = await q.get_user(session, user_id)
            account = await session.get(LabAccount, user_id) if user is not None else None
        cutoff = account.tokens_valid_after if account else None
        standing = Standing(
            self.to_current(user, account.role if account else None)
            if user is not None and user.active
            else None,
            cutoff.timestamp() if cutoff is not None else None,
        )
        self.standing.put(user_id, standing)
        return standing

    async def user_for_claims(self, claims: Claims) -> CurrentUser:
        """The live user behind a decoded token; refuses revoked tokens and inactive users."""
        standing = await self.standing_of(claims.identity)
        if standing.user is None:
            raise TokenUserNotFound(claims.identity)
        if claims.jti and claims.jti in self.revoked:
            raise RevokedToken()
        # Whole-second iat: a token of the cut-off's own second may predate it, so it is refused.
        if standing.cutoff is not None and claims.iat <= math.floor(standing.cutoff):
            raise RevokedToken()
        self._check_verified(standing.user)
        return standing.user

    async def user_for_token(
        self, token: str, *, expected_type: Literal["access", "refresh"] = "access"
    ) -> tuple[CurrentUser, Claims]:
        claims = self.codec.decode(token, expected_type=expected_type)
        return await self.user_for_claims(claims), claims

    async def user_for_session(self, user_id: int, issued_at: float) -> CurrentUser:
        """The live user behind a browser session cookie issued at ``issued_at``."""
        standing = await self.standing_of(user_id)
        if standing.user is None or (standing.cutoff is not None and issued_at < standing.cutoff):
            raise AuthError("session is no longer valid; please log in again")
        self._check_verified(standing.user)
        return standing.user

    async def revoke(self, claims: Claims) -> None:
        """Log out one token (its jti is refused until it expires)."""
        if not claims.jti:
            return
        expires = datetime.fromtimestamp(claims.exp, UTC)
        async with self.db.session() as session:
            await q.revoke_token(session, claims.jti, expires)
        self.revoked.add(claims.jti, claims.exp)

    async def revoke_all(self, user_id: int) -> None:
        """Refuse every token and session issued to the user until now.

        The cut-off keeps microseconds: sessions carry their exact start; tokens, whose
        ``iat`` has whole seconds, are refused up to the end of the cut-off's second (and
        tokens issued by the lab afterwards wait for the next one: :meth:`_past_cutoff`).
        """
        async with self.db.session() as session:
            account = await q.get_account(session, user_id)
            account.tokens_valid_after = utcnow()
        self.standing.forget(user_id)

    # ---------------------------------------------------------------- passwords

    async def change_password(self, user_id: int, old: str, new: str) -> CurrentUser:
        async with self.db.session() as session:
            user = await q.get_user(session, user_id)
        if user is None or not user.active:
            raise NotFound("User Not Found")
        if not await asyncio.to_thread(
            verify_password,
            old,
            user.password,
            user.salt,
            max_bcrypt_rounds=self.settings.auth.bcrypt_max_rounds,
        ):
            raise InputError("Wrong Password. Please enter correct current password.")
        if old == new:
            raise InputError("Old and New passwords must be different")
        self._check_password_rules(new)
        password_hash, salt = await self._hash(new)
        async with self.db.session() as session:
            user = await q.get_user(session, user_id)
            assert user is not None
            user.password, user.salt = password_hash, salt
        await self.revoke_all(user_id)
        return await self._current(user)

    async def request_reset(self, email: str, *, address: str, base_url: str) -> None:
        """Send a reset link when the account exists; say nothing either way."""
        check_text("email", email)
        key = q.normalize_email(email)
        await self.resets.hit("addr:" + address)
        await self.resets.hit("email:" + key)
        token = secrets.token_urlsafe(32)
        async with self.db.session() as session:
            user = await q.find_by_email(session, key)
            if user is None or not user.active:
                return
            user.reset_password = token
            account = await q.get_account(session, user.id)
            account.reset_expires_at = utcnow() + timedelta(
                seconds=self.settings.auth.reset_token_seconds
            )
        self.mail.submit(
            messages.reset_password(
                to=user.email,
                link=f"{base_url}/reset-password?token={token}",
                lab_name=self.settings.mail.lab_name,
                valid_seconds=self.settings.auth.reset_token_seconds,
            )
        )

    async def complete_reset(self, token: str, password: str) -> CurrentUser:
        """Set a new password with a single-use reset token."""
        if not token:
            raise InputError("token missing", details={"field": "token"})
        self._check_password_rules(password)
        async with self.db.session() as session:
            user = await q.find_by_reset_token(session, token)
            account = await session.get(LabAccount, user.id) if user else None
        expired = (
            account is None
            or account.reset_expires_at is None
            or account.reset_expires_at < utcnow()
        )
        if user is None or not user.active or expired:
            raise NotFound("User Not Found")
        password_hash, salt = await self._hash(password)
        async with self.db.session() as session:
            fresh = await q.find_by_reset_token(session, token)
            if fresh is None:  # used by a concurrent request meanwhile
                raise NotFound("User Not Found")
            fresh.password, fresh.salt = password_hash, salt
            # Single use: the token is replaced, as the event server does after a reset.
            fresh.reset_password = secrets.token_urlsafe(32)
            account = await q.get_account(session, fresh.id)
            account.reset_expires_at = None
        await self.revoke_all(fresh.id)
        return await self._current(fresh)

    # ---------------------------------------------------------------- email verification

    async def send_verification(self, user_id: int, email: str, *, base_url: str) -> None:
        """Store a new verification token for ``email`` and mail its link (off the request)."""
        token = secrets.token_urlsafe(32)
        seconds = self.settings.auth.verification_token_seconds
        async with self.db.session() as session:
            await q.add_verification(
                session,
                user_id=user_id,
                email=q.normalize_email(email),
                token_hash=token_hash(token),
                expires_at=utcnow() + timedelta(seconds=seconds),
            )
        self.mail.submit(
            messages.verify_email(
                to=email,
                link=f"{base_url}/verify?token={token}",
                lab_name=self.settings.mail.lab_name,
                valid_seconds=seconds,
            )
        )

    async def resend_verification(self, email: str, *, address: str, base_url: str) -> None:
        """Mail a new verification link when the account exists and is not verified yet.

        Says nothing either way (no account probing); rate limited per address and email.
        """
        key = q.normalize_email(email)
        await self.verification_resends.hit("addr:" + address)
        await self.verification_resends.hit("email:" + key)
        async with self.db.session() as session:
            user = await q.find_by_email(session, key)
        if user is None or not user.active or user.is_verified:
            return
        await self.send_verification(user.id, user.email, base_url=base_url)

    async def verify_email(self, token: str) -> CurrentUser:
        """Mark the account verified with a token from a verification link.

        Raises InputError ``Invalid Token`` (the event server's answer) for an unknown,
        expired or used token, or one sent to an address the account no longer has.
        """
        if not token:
            raise InputError(INVALID_VERIFICATION, details={"field": "token"})
        async with self.db.session() as session:
            row = await q.find_verification(session, token_hash(token))
            user = await q.get_user(session, row.user_id) if row is not None else None
            if (
                row is None
                or user is None
                or not user.active
                or q.normalize_email(user.email) != row.email
            ):
                raise InputError(INVALID_VERIFICATION, details={"field": "token"})
            # The one write to the event server's table: its own is_verified column.
            user.is_verified = True
            await q.forget_verifications(session, user.id)
        self.standing.forget(user.id)
        return await self._current(user)

    # ---------------------------------------------------------------- roles

    async def set_role(self, actor: CurrentUser, user_id: int, role: Role) -> CurrentUser:
        """Grant or remove the teacher role (admins only).

        Demoting an admin (the lab's admin role) is for super admins only (the event server's
        ``is_super_admin``, as there), or for that admin themselves; never for the last admin
        (409). The event server's own admins are changed there (409 here).
        """
        if actor.role is not Role.ADMIN:
            raise PermissionDenied("only an admin can change roles")
        if role is Role.ADMIN:
            raise InputError("the admin role is granted by the event server or `create-user`")
        # One role change at a time: two admins demoting each other at once must not both
        # see the other as the remaining admin (one process serves the lab: docs/architecture.md).
        async with self._role_changes, self.db.session() as session:
            user = await q.get_user(session, user_id)
            if user is None or user.deleted_at is not None:
                raise NotFound(f"no user with id {user_id}")
            account = await q.get_account(session, user_id)
            current = self.to_current(user, account.role)
            if current.role is Role.ADMIN:
                await self._check_demotion(session, actor, user)
            account.role = None if role is Role.STUDENT else role.value
            account.role_granted_by = actor.id
        self.standing.forget(user_id)
        return self.to_current(user, account.role)

    @staticmethod
    async def _check_demotion(session: AsyncSession, actor: CurrentUser, user: User) -> None:
        if user.id != actor.id:
            acting = await q.get_user(session, actor.id)
            if acting is None or not acting.is_super_admin:
                raise PermissionDenied("only a super admin can demote another admin")
        if user.is_admin or user.is_super_admin:
            raise Conflict(
                f"{user.email} is an admin of the event server; change that there, "
                "not with a lab role"
            )
        if user.active and await q.count_admins(session) <= 1:
            raise Conflict(
                "the last admin cannot be demoted: make another admin first "
                "(the event server, or `remotelab create-user --role admin`)"
            )

    async def list_users(self, *, offset: int, limit: int) -> tuple[list[CurrentUser], int]:
        async with self.db.session() as session:
            rows, total = await q.list_users(session, offset=offset, limit=limit)
            roles = await q.lab_roles(session, [u.id for u in rows])
        return [self.to_current(u, roles.get(u.id)) for u in rows], total
