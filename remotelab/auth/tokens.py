"""JSON Web Tokens in the Open Event server's format (pure: no I/O).

The event server (fossasia/open-event-server) signs tokens with
flask-jwt-extended 3.25.0 on PyJWT 1.x; ``docs/reference/tokens.md`` records
its configuration and answers. This module issues and checks exactly that
format, so a token from either server works on the other:

* HS256 only, key = the shared secret; leeway 0; ``iss`` ignored; a token
  carrying ``aud`` refused.
* access: ``{iat, nbf (= iat), jti, exp, identity, fresh, type: "access", csrf}``;
  refresh: the same without ``fresh`` and with ``type: "refresh"``.
* legacy flask-jwt tokens ``{exp, iat, nbf, identity}`` are access tokens
  (not fresh, no ``jti``).

Checks run in the event server's order (PyJWT: signature, ``iat`` format,
``nbf``, ``exp``, ``aud``; then flask-jwt-extended: ``identity``, ``type``,
``fresh``, expected type) so the first failure is the same one it reports.
Where the event server is laxer we are stricter, never the reverse: ``exp``
and ``iat`` are required, and ``identity`` must be an integer (see
``docs/reference/tokens.md``).

Errors (all :class:`remotelab.errors.TokenError`; the HTTP status the event
server answers is in brackets, the message is its text)::

    TokenError
    ├── MissingToken             [401] "Missing Authorization Header"
    ├── ExpiredToken             [401] "Token has expired"
    ├── RevokedToken             [401] "Token has been revoked"        (raised by callers)
    ├── FreshTokenRequired       [401] "Fresh token required"
    ├── TokenUserNotFound        [401] "Error loading the user <id>"   (raised by callers)
    └── InvalidToken             [422] every other refusal:
        ├── BadAuthorizationHeader     "Bad Authorization header. ..."
        ├── MalformedToken             "Not enough segments", "Invalid payload string: ..."
        ├── BadSignature               "Signature verification failed"
        ├── DisallowedAlgorithm        "The specified alg value is not allowed"
        ├── ImmatureToken              "The token is not yet valid (nbf)"
        ├── InvalidAudience            "Invalid audience"
        ├── InvalidClaims              "Missing claim: identity", ...
        └── WrongTokenType             "Only access tokens are allowed"
"""

from __future__ import annotations

import json
import logging
import math
import time
import uuid
import warnings
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

import jwt
from jwt.exceptions import (
    DecodeError,
    InvalidAlgorithmError,
    InvalidSignatureError,
    InvalidTokenError,
)

from remotelab.errors import TokenError

log = logging.getLogger(__name__)

TokenType = Literal["access", "refresh"]

ALGORITHM: Final = "HS256"
# RFC 7518 section 3.2: an HS256 key must be at least as long as the hash output.
MIN_SECRET_BYTES: Final = 32
DEFAULT_ACCESS_SECONDS: Final = 86_400
DEFAULT_ACCESS_REMEMBER_SECONDS: Final = 5_400
DEFAULT_REFRESH_SECONDS: Final = 365 * 86_400
# Our tokens are about 330 characters; anything this long is not one of them.
DEFAULT_MAX_TOKEN_CHARS: Final = 4_096
AUTH_SCHEMES: Final = ("jwt", "bearer")
# An identity is a users.id: INTEGER, 32 bits on PostgreSQL (the event server's SERIAL).
# A number beyond it would fail in the query (a 500), not find no user.
MIN_IDENTITY: Final = -(2**31)
MAX_IDENTITY: Final = 2**31 - 1
# Longest jti or csrf claim (lab_revoked_tokens.jti holds 64; a uuid4 has 36).
MAX_ID_CHARS: Final = 64


class MissingToken(TokenError):
    """No token at all (event server: 401)."""

    code = "token_missing"

    def __init__(self, message: str = "Missing Authorization Header") -> None:
        super().__init__(message)


class ExpiredToken(TokenError):
    """``exp`` is in the past (event server: 401)."""

    code = "token_expired"

    def __init__(self, message: str = "Token has expired") -> None:
        super().__init__(message)


class RevokedToken(TokenError):
    """Revoked by a logout/blacklist entry; raised by the caller (event server: 401)."""

    code = "token_revoked"

    def __init__(self, message: str = "Token has been revoked") -> None:
        super().__init__(message)


class FreshTokenRequired(TokenError):
    """A fresh token is needed (event server: 401)."""

    code = "fresh_token_required"

    def __init__(self, message: str = "Fresh token required") -> None:
        super().__init__(message)


class TokenUserNotFound(TokenError):
    """The token's user does not exist or is deleted; raised by the caller (event server: 401)."""

    code = "token_user_not_found"

    def __init__(self, identity: object) -> None:
        super().__init__(f"Error loading the user {identity}")


class InvalidToken(TokenError):
    """Base of every refusal the event server answers with 422."""

    code = "token_invalid"


class BadAuthorizationHeader(InvalidToken):
    code = "bad_authorization_header"

    def __init__(
        self,
        message: str = "Bad Authorization header. Expected value 'JWT <JWT>' or 'Bearer <JWT>'",
    ) -> None:
        super().__init__(message)


class MalformedToken(InvalidToken):
    code = "token_malformed"


class BadSignature(InvalidToken):
    code = "token_bad_signature"

    def __init__(self, message: str = "Signature verification failed") -> None:
        super().__init__(message)


class DisallowedAlgorithm(InvalidToken):
    code = "token_bad_algorithm"

    def __init__(self, message: str = "The specified alg value is not allowed") -> None:
        super().__init__(message)


class ImmatureToken(InvalidToken):
    code = "token_not_yet_valid"

    def __init__(self, message: str = "The token is not yet valid (nbf)") -> None:
        super().__init__(message)


class InvalidAudience(InvalidToken):
    code = "token_bad_audience"

    def __init__(self, message: str = "Invalid audience") -> None:
        super().__init__(message)


class InvalidClaims(InvalidToken):
    code = "token_bad_claims"


class WrongTokenType(InvalidToken):
    code = "token_wrong_type"


@dataclass(frozen=True, slots=True)
class Claims:
    """The checked content of a token.

    ``jti`` and ``csrf`` are ``None`` for legacy tokens; ``fresh`` is always
    ``False`` for refresh tokens. ``iat`` is what the event server compares
    with its revocation time.
    """

    identity: int
    type: TokenType
    fresh: bool
    jti: str | None
    csrf: str | None
    iat: int
    exp: int


def parse_authorization(header: str | None) -> str | None:
    """Extract the token from an ``Authorization`` header value.

    Accepts ``JWT <token>`` and ``Bearer <token>`` (scheme case-insensitive).
    Returns ``None`` when the header is absent or blank, so the caller can
    fall back to the cookie session or raise :class:`MissingToken`.
    Raises :class:`BadAuthorizationHeader` for anything else.
    """
    if header is None or not header.strip():
        return None
    parts = header.split()
    if len(parts) != 2 or parts[0].lower() not in AUTH_SCHEMES:
        raise BadAuthorizationHeader()
    return parts[1]


def require_fresh(claims: Claims) -> None:
    """Raise :class:`FreshTokenRequired` unless ``claims`` come from a fresh access token."""
    if claims.type != "access" or not claims.fresh:
        raise FreshTokenRequired()


class TokenCodec:
    """Issues and checks the event server's JWTs with one shared secret.

    ``clock`` returns POSIX seconds; it is injectable for tests. Raises
    ``ValueError`` for an empty secret or a non-positive lifetime or size
    bound. A secret shorter than 32 bytes (RFC 7518's minimum for HS256) is
    accepted with a logged warning: the key is the event server's
    ``SECRET_KEY``, which the lab must take as it is to share tokens.
    """

    def __init__(
        self,
        secret: str,
        *,
        access_seconds: int = DEFAULT_ACCESS_SECONDS,
        access_remember_seconds: int = DEFAULT_ACCESS_REMEMBER_SECONDS,
        refresh_seconds: int = DEFAULT_REFRESH_SECONDS,
        max_token_chars: int = DEFAULT_MAX_TOKEN_CHARS,
        clock: Callable[[], float] = time.time,
        cache_size: int = 4096,
    ) -> None:
        key = secret.encode("utf-8")
        if not key:
            raise ValueError("the JWT secret must not be empty")
        short = len(key) < MIN_SECRET_BYTES
        if short:
            log.warning(
                "the JWT secret is %d bytes, shorter than the %d that HS256 wants; "
                "use a longer REMOTELAB_SECRET_KEY unless it must match the event server's",
                len(key),
                MIN_SECRET_BYTES,
            )
            # Said once above; PyJWT would repeat it as a warning on every token.
            warnings.filterwarnings("ignore", category=jwt.InsecureKeyLengthWarning)
        for name, value in (
            ("access_seconds", access_seconds),
            ("access_remember_seconds", access_remember_seconds),
            ("refresh_seconds", refresh_seconds),
            ("max_token_chars", max_token_chars),
        ):
            if value <= 0:
                raise ValueError(f"{name} must be positive, not {value}")
        self._key = key
        self._access_seconds = access_seconds
        self._access_remember_seconds = access_remember_seconds
        self._refresh_seconds = refresh_seconds
        self._max_token_chars = max_token_chars
        self._clock = clock
        # Tokens already verified, so a client's repeated requests skip the HMAC and the
        # claim checks (bounded; expiry is still checked on every use).
        self._checked: OrderedDict[str, Claims] = OrderedDict()
        self._cache_size = cache_size
        # An instance restricted to HS256, so no other algorithm is even registered.
        self._jws = jwt.PyJWS(
            algorithms=[ALGORITHM],
            options={"verify_signature": True, "enforce_minimum_key_length": not short},
        )

    def __repr__(self) -> str:
        return f"TokenCodec(access_seconds={self._access_seconds}, secret=<hidden>)"

    def issue_access(self, identity: int, *, fresh: bool = False, remember: bool = False) -> str:
        """Return a signed access token for user ``identity``.

        It lives ``access_seconds``, or ``access_remember_seconds`` with
        ``remember`` (the event server's remember-me login, which also hands
        out a refresh token). ``fresh`` marks a token from a password login.
        """
        lifetime = self._access_remember_seconds if remember else self._access_seconds
        return self._issue(identity, lifetime, {"fresh": bool(fresh), "type": "access"})

    def issue_refresh(self, identity: int) -> str:
        """Return a signed refresh token for user ``identity``, valid ``refresh_seconds``."""
        return self._issue(identity, self._refresh_seconds, {"type": "refresh"})

    def decode(self, token: str, *, expected_type: TokenType = "access") -> Claims:
        """Check ``token`` and return its claims.

        Raises :class:`ExpiredToken` (401) when ``exp`` has passed, an
        :class:`InvalidToken` subclass (422) for every other defect, including
        a token of the other type (:class:`WrongTokenType`).
        """
        if expected_type not in ("access", "refresh"):
            raise ValueError(f"expected_type must be 'access' or 'refresh', not {expected_type!r}")
        if not isinstance(token, str):
            raise MalformedToken("Invalid token type. Token must be a string")
        if len(token) > self._max_token_chars:
            raise MalformedToken("Token is too long")
        now = int(self._clock())  # PyJWT compares whole seconds
        cached = self._checked.get(token)
        if cached is not None and cached.type == expected_type:
            # Same string, same signature: only the clock can have changed the verdict.
            if cached.exp < now:
                del self._checked[token]
                raise ExpiredToken()
            return cached
        data = self._verified_payload(token)

        # Stricter than the event server, which accepts a token without exp (never expires).
        for required in ("exp", "iat"):
            if data.get(required) is None:
                raise InvalidClaims(f'Token is missing the "{required}" claim')
        iat = _numeric_date(data["iat"], "Issued At claim (iat) must be an integer.")
        if "nbf" in data:
            nbf = _numeric_date(data["nbf"], "Not Before claim (nbf) must be an integer.")
            if nbf > now:
                raise ImmatureToken()
        exp = _numeric_date(data["exp"], "Expiration Time claim (exp) must be an integer.")
        if exp < now:
            raise ExpiredToken()
        if "aud" in data:
            raise InvalidAudience()

        if "identity" not in data:
            raise InvalidClaims("Missing claim: identity")
        identity = data["identity"]
        if (
            not isinstance(identity, int)
            or isinstance(identity, bool)
            or not MIN_IDENTITY <= identity <= MAX_IDENTITY
        ):
            raise InvalidClaims("Invalid claim: identity")
        kind = data.get("type", "access")
        if kind not in ("access", "refresh"):
            raise InvalidClaims("Missing or invalid claim: type")
        fresh = False
        if kind == "access":
            fresh = _freshness(data.get("fresh", False), now)
        jti = _optional_text(data, "jti")
        csrf = _optional_text(data, "csrf")
        if kind != expected_type:
            raise WrongTokenType(f"Only {expected_type} tokens are allowed")
        claims = Claims(
            identity=identity,
            type=kind,
            fresh=fresh,
            jti=jti,
            csrf=csrf,
            iat=iat,
            exp=exp,
        )
        # A numeric `fresh` is a deadline, which the clock changes: such tokens are rechecked.
        if isinstance(data.get("fresh", False), bool):
            self._checked[token] = claims
            if len(self._checked) > self._cache_size:
                self._checked.popitem(last=False)
        return claims

    def _issue(self, identity: int, lifetime: int, extra: dict[str, Any]) -> str:
        if not isinstance(identity, int) or isinstance(identity, bool):
            raise TypeError(f"identity must be an int (users.id), not {type(identity).__name__}")
        now = int(self._clock())
        # Claim order as flask-jwt-extended 3.25 writes them (cosmetic, but easy to compare).
        payload: dict[str, Any] = {
            "iat": now,
            "nbf": now,
            "jti": str(uuid.uuid4()),
            "exp": now + lifetime,
            "identity": identity,
            **extra,
            "csrf": str(uuid.uuid4()),
        }
        body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        return self._jws.encode(body, self._key, algorithm=ALGORITHM)

    def _verified_payload(self, token: str) -> dict[str, Any]:
        try:
            decoded = self._jws.decode_complete(token, self._key, algorithms=[ALGORITHM])
        except InvalidSignatureError:  # a DecodeError subclass: test it first
            raise BadSignature() from None
        except InvalidAlgorithmError:
            # PyJWT 2 says "Algorithm not specified" for a missing alg; 1.x (the event
            # server) says this for every disallowed or missing alg.
            raise DisallowedAlgorithm() from None
        except DecodeError as exc:
            raise MalformedToken(str(exc)) from None
        except InvalidTokenError as exc:  # e.g. a non-string "kid", an unknown "crit"
            raise MalformedToken(str(exc)) from None
        try:
            data = json.loads(decoded["payload"])
        except (ValueError, RecursionError) as exc:
            raise MalformedToken(f"Invalid payload string: {exc}") from None
        if not isinstance(data, dict):
            raise MalformedToken("Invalid payload string: must be a json object")
        return data


def _numeric_date(value: object, message: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedToken(message)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise MalformedToken(message)
        return int(value)
    return value


def _freshness(value: object, now: int) -> bool:
    # flask-jwt-extended: a bool, or a timestamp until which the token counts as fresh.
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and math.isfinite(value):
        return value >= now
    raise InvalidClaims("Invalid claim: fresh")


def _optional_text(data: dict[str, Any], name: str) -> str | None:
    # A jti is stored when its token is revoked: it must be text a database takes (valid
    # Unicode, no NUL, at most the column's 64 characters; the event server writes uuid4s).
    value = data.get(name)
    if value is None:
        return value
    if isinstance(value, str) and len(value) <= MAX_ID_CHARS and "\x00" not in value:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            pass
        else:
            return value
    raise InvalidClaims(f"Invalid claim: {name}")
