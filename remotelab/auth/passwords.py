"""Password hashing and verification for the ``users`` table (pure: no I/O).

Two schemes live side by side in ``users._password`` / ``users.salt``:

``scrypt``
    The Open Event server's scheme, written by flask-scrypt 0.1.3.6 from
    ``User.password``'s setter (fossasia/open-event-server
    ``app/models/user.py``)::

        salt = str(generate_random_salt(), 'utf-8')           # b64encode(urandom(64))
        _password = str(generate_password_hash(password, salt), 'utf-8')

    and ``generate_password_hash`` (cryptojuice/flask-scrypt ``flask_scrypt.py``)
    is ``b64encode(scrypt.hash(password, salt, N=1 << 14, r=8, p=1, buflen=64))``,
    where py-scrypt UTF-8-encodes both ``str`` arguments. So the *salt text*
    (88 base64 characters) is the scrypt salt, not the 64 bytes it encodes.
    ``User.is_correct_password`` recomputes the hash and compares strings.
    The scrypt primitive is the standard one (RFC 7914): the tests check
    ``hashlib.scrypt`` against the RFC's N=16384, r=8, p=1, 64-byte vector,
    which are exactly the event server's parameters.

``bcrypt``
    For accounts the lab creates in standalone mode: a standard ``$2b$``
    hash, ``salt`` column ``None``. Recognised on verification by the
    ``$2a$`` / ``$2b$`` / ``$2y$`` prefix.

bcrypt only reads the first 72 bytes of a password (bcrypt 5 raises beyond
that). Pre-hashing would make our hashes unreadable by any other bcrypt
implementation, and silent truncation would make every password sharing a
72-byte prefix equivalent. So :func:`hash_password` *refuses* a bcrypt
password over 72 UTF-8 bytes (``PasswordNotAccepted``), and
:func:`verify_password` answers ``False`` for such an attempt against a bcrypt
row (after spending the same time as a real check): a row we wrote cannot
hold such a password. The scrypt scheme has no such limit.

Passwords are not Unicode-normalised (neither does the event server): the
exact code points typed at sign up are needed at login.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
from typing import Final, Literal

import bcrypt

from remotelab.errors import InputError

Scheme = Literal["bcrypt", "scrypt"]

# The event server's scrypt parameters (flask-scrypt defaults); fixed for compatibility.
SCRYPT_N: Final = 16384
SCRYPT_R: Final = 8
SCRYPT_P: Final = 1
SCRYPT_DKLEN: Final = 64
SCRYPT_SALT_BYTES: Final = 64
# 128 * r * N = 16 MiB of work memory; allow a little more than that explicitly.
_SCRYPT_MAXMEM: Final = 64 * 1024 * 1024

DEFAULT_BCRYPT_ROUNDS: Final = 12
MIN_BCRYPT_ROUNDS: Final = 4  # bcrypt's own lower bound
# A row with a higher cost is refused rather than computed: cost 31 would take days.
DEFAULT_MAX_BCRYPT_ROUNDS: Final = 16
BCRYPT_MAX_PASSWORD_BYTES: Final = 72
BCRYPT_PREFIXES: Final = ("$2a$", "$2b$", "$2y$")


# A bcrypt row of the default cost whose password was random and thrown away, for callers
# that pass it to verify_password directly; dummy_verify also matches other costs and scrypt.
DUMMY_HASH: Final = "$2b$12$5IpjGTDoBH5s3DG.pd0wJ.I7EzslMVMwcKHpmCgAcAW5fa3SM/P3e"

# A fixed scrypt row for dummy_verify: a hash of all zero bytes, which no password produces.
_DUMMY_SCRYPT_SALT: Final = base64.b64encode(b"remotelab-dummy-salt".ljust(64, b"\0")).decode()
_DUMMY_SCRYPT_HASH: Final = base64.b64encode(b"\0" * SCRYPT_DKLEN).decode()


class PasswordNotAccepted(InputError):
    """A password that the chosen scheme cannot hash faithfully (400)."""

    code = "password_not_accepted"


def hash_password(
    password: str, scheme: Scheme, *, bcrypt_rounds: int = DEFAULT_BCRYPT_ROUNDS
) -> tuple[str, str | None]:
    """Hash ``password`` for storage.

    Returns ``(_password, salt)`` exactly as stored in the ``users`` table:
    for ``scrypt`` the event server's base64 hash and base64 salt text, for
    ``bcrypt`` the ``$2b$`` hash and ``None``.

    Raises ``PasswordNotAccepted`` if the password cannot be encoded as UTF-8
    (lone surrogates), or for bcrypt if it is longer than 72 UTF-8 bytes or
    contains a NUL character (C implementations of bcrypt stop at NUL, so
    the hash would mean different things to different readers). Policy
    checks (minimum length, maximum length) are the caller's. Raises
    ``ValueError`` for an unknown scheme or ``bcrypt_rounds`` outside 4..31.
    """
    encoded = _encode(password)
    if encoded is None:
        raise PasswordNotAccepted("Password contains characters that cannot be encoded")
    if scheme == "scrypt":
        salt = base64.b64encode(os.urandom(SCRYPT_SALT_BYTES)).decode("ascii")
        return _scrypt_b64(encoded, salt), salt
    if scheme == "bcrypt":
        if not MIN_BCRYPT_ROUNDS <= bcrypt_rounds <= 31:
            raise ValueError(f"bcrypt_rounds must be between 4 and 31, not {bcrypt_rounds}")
        if len(encoded) > BCRYPT_MAX_PASSWORD_BYTES:
            raise PasswordNotAccepted(
                f"Password is too long (at most {BCRYPT_MAX_PASSWORD_BYTES} bytes in UTF-8)"
            )
        if b"\x00" in encoded:
            raise PasswordNotAccepted("Password must not contain NUL characters")
        hashed = bcrypt.hashpw(encoded, bcrypt.gensalt(rounds=bcrypt_rounds, prefix=b"2b"))
        return hashed.decode("ascii"), None
    raise ValueError(f"unknown password scheme {scheme!r}")


def verify_password(
    password: str,
    stored: str | None,
    salt: str | None,
    *,
    max_bcrypt_rounds: int = DEFAULT_MAX_BCRYPT_ROUNDS,
) -> bool:
    """Tell whether ``password`` matches a stored ``(_password, salt)`` row.

    A ``stored`` value starting with ``$2a$``, ``$2b$`` or ``$2y$`` is a bcrypt
    hash (``salt`` ignored); anything else is checked with the event server's
    scrypt formula, which needs ``salt``. The comparison is constant-time.

    Never raises: a garbage row (``None``, empty, wrong types, a bcrypt hash
    that does not parse or costs more than ``max_bcrypt_rounds``, a scrypt
    row without a salt), a password that cannot be encoded, or a password
    over 72 bytes against a bcrypt row all give ``False``.
    """
    if not isinstance(password, str) or not isinstance(stored, str) or not stored:
        return False
    encoded = _encode(password)
    if stored.startswith(BCRYPT_PREFIXES):
        return _verify_bcrypt(encoded, stored, max_bcrypt_rounds)
    if encoded is None or not isinstance(salt, str) or not salt:
        return False
    try:
        computed = _scrypt_b64(encoded, salt).encode("ascii")
        expected = stored.encode("utf-8")
    except (ValueError, MemoryError):  # UnicodeError is a ValueError
        return False
    return hmac.compare_digest(computed, expected)


def dummy_verify(
    password: str, scheme: Scheme = "scrypt", *, bcrypt_rounds: int = DEFAULT_BCRYPT_ROUNDS
) -> bool:
    """Spend the time of a real verification, then return ``False``.

    Call it when the email is unknown (or the row is unusable) so that a
    failed login costs the same whether or not the account exists. Pass the
    scheme, and for bcrypt the cost, that real rows use in this deployment.
    """
    if scheme == "bcrypt":
        verify_password(password, _dummy_bcrypt_hash(bcrypt_rounds), None, max_bcrypt_rounds=31)
    else:
        verify_password(password, _DUMMY_SCRYPT_HASH, _DUMMY_SCRYPT_SALT)
    return False


def _encode(password: str) -> bytes | None:
    try:
        return password.encode("utf-8")
    except UnicodeEncodeError:
        return None


def _scrypt_b64(password: bytes, salt: str) -> str:
    # The salt *text* is the scrypt salt, UTF-8 encoded, as py-scrypt does.
    digest = hashlib.scrypt(
        password,
        salt=salt.encode("utf-8"),
        n=SCRYPT_N,
        r=SCRYPT_R,
        p=SCRYPT_P,
        dklen=SCRYPT_DKLEN,
        maxmem=_SCRYPT_MAXMEM,
    )
    return base64.b64encode(digest).decode("ascii")


def _bcrypt_cost(stored: str) -> int | None:
    # "$2b$12$<53 chars>": the cost is the two digits after the prefix.
    cost = stored[4:6]
    if len(stored) != 60 or stored[6:7] != "$" or not cost.isascii() or not cost.isdigit():
        return None
    return int(cost)


def _verify_bcrypt(password: bytes | None, stored: str, max_rounds: int) -> bool:
    cost = _bcrypt_cost(stored)
    if cost is None or cost > max_rounds:
        return False
    try:
        hashed = stored.encode("ascii")
    except UnicodeEncodeError:
        return False
    too_long = password is None or len(password) > BCRYPT_MAX_PASSWORD_BYTES
    # A refused password still pays for one check, so its answer takes as long as any other.
    candidate = b"" if password is None else password[:BCRYPT_MAX_PASSWORD_BYTES]
    try:
        matches = bcrypt.checkpw(candidate, hashed)
    except ValueError:  # "Invalid salt" and friends: the row does not parse
        return False
    return matches and not too_long


@functools.cache
def _dummy_bcrypt_hash(rounds: int) -> str:
    if rounds == DEFAULT_BCRYPT_ROUNDS:
        return DUMMY_HASH
    return bcrypt.hashpw(os.urandom(16).hex().encode(), bcrypt.gensalt(rounds=rounds)).decode()
