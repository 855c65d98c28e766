"""JWTs compatible with the Open Event server, both ways, and every refusal with its text."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from typing import Any

import jwt
import pytest

from remotelab.auth.tokens import (
    BadAuthorizationHeader,
    BadSignature,
    Claims,
    DisallowedAlgorithm,
    ExpiredToken,
    FreshTokenRequired,
    ImmatureToken,
    InvalidAudience,
    InvalidClaims,
    InvalidToken,
    MalformedToken,
    MissingToken,
    RevokedToken,
    TokenCodec,
    TokenUserNotFound,
    WrongTokenType,
    parse_authorization,
    require_fresh,
)
from remotelab.errors import AuthError, TokenError
from tests.support import event_server
from tests.support.event_server import DROP, EventServerRefusal

SECRET = "event-server-SECRET_KEY-shared-with-the-lab-0123456789abcdef0123456789"
NOW = 1_700_000_000


class FakeClock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def codec(clock: FakeClock) -> TokenCodec:
    return TokenCodec(SECRET, clock=clock)


# --- the event server's side, written with PyJWT as flask-jwt-extended 3.25 does it ----------


def event_server_access(identity: Any = 7, *, now: int = NOW, **override: Any) -> str:
    """An access token as the event server's ``create_access_token(user.id, fresh=True)``."""
    return event_server.access_token(identity, now=now, secret=SECRET, **override)


def event_server_refresh(identity: int = 7, *, now: int = NOW) -> str:
    return event_server.refresh_token(identity, now=now, secret=SECRET)


def event_server_decode(token: str, *, now: int, request_type: str = "access") -> dict[str, Any]:
    return event_server.decode(token, now=now, secret=SECRET, request_type=request_type)


def is_uuid4(value: object) -> bool:
    return (
        isinstance(value, str) and uuid.UUID(value).version == 4 and str(uuid.UUID(value)) == value
    )


def unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def segments(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    return json.loads(unb64(header)), json.loads(unb64(payload))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(header: dict[str, Any] | bytes, payload: dict[str, Any] | bytes) -> str:
    """A correctly HS256-signed token of arbitrary header and payload bytes."""
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    p = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signing_input = f"{b64(h)}.{b64(p)}".encode()
    signature = hmac.new(SECRET.encode(), signing_input, hashlib.sha256).digest()
    return f"{signing_input.decode()}.{b64(signature)}"


# --- event server -> lab ---------------------------------------------------------------------


def test_event_server_access_token_is_accepted(codec: TokenCodec) -> None:
    token = event_server_access(42)
    claims = codec.decode(token)
    _, payload = segments(token)
    assert claims == Claims(
        identity=42,
        type="access",
        fresh=True,
        jti=payload["jti"],
        csrf=payload["csrf"],
        iat=NOW,
        exp=NOW + 86_400,
    )


def test_event_server_refresh_token_is_accepted_where_refresh_is_expected(
    codec: TokenCodec,
) -> None:
    claims = codec.decode(event_server_refresh(42), expected_type="refresh")
    assert (claims.identity, claims.type, claims.fresh) == (42, "refresh", False)
    assert is_uuid4(claims.jti) and is_uuid4(claims.csrf)


def test_event_server_non_fresh_token(codec: TokenCodec) -> None:
    # /v1/auth/token/refresh mints create_access_token(identity, fresh=False, 90 minutes).
    claims = codec.decode(event_server_access(3, fresh=False, exp=NOW + 5_400))
    assert claims.fresh is False and claims.exp == NOW + 5_400


def test_legacy_flask_jwt_token_is_an_access_token(codec: TokenCodec) -> None:
    legacy = jwt.encode({"exp": NOW + 300, "iat": NOW, "nbf": NOW, "identity": 9}, SECRET, "HS256")
    assert codec.decode(legacy) == Claims(
        identity=9, type="access", fresh=False, jti=None, csrf=None, iat=NOW, exp=NOW + 300
    )
    with pytest.raises(WrongTokenType, match="Only refresh tokens are allowed"):
        codec.decode(legacy, expected_type="refresh")


def test_iss_and_extra_claims_are_ignored(codec: TokenCodec) -> None:
    token = event_server_access(5, iss="https://eventyay.com", user_claims={"a": 1})
    assert codec.decode(token).identity == 5


def test_fresh_as_a_timestamp(codec: TokenCodec, clock: FakeClock) -> None:
    # flask-jwt-extended's fresh=timedelta form: fresh until that time.
    token = event_server_access(5, fresh=NOW + 60)
    assert codec.decode(token).fresh is True
    clock.now = NOW + 61
    assert codec.decode(token).fresh is False


# --- lab -> event server ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fresh", "remember", "lifetime"), [(True, False, 86_400), (False, True, 5_400)]
)
def test_our_access_token_passes_the_event_server_checks(
    codec: TokenCodec, fresh: bool, remember: bool, lifetime: int
) -> None:
    token = codec.issue_access(42, fresh=fresh, remember=remember)
    header, _ = segments(token)
    assert header == {"alg": "HS256", "typ": "JWT"}
    data = event_server_decode(token, now=NOW)
    assert set(data) == {"iat", "nbf", "jti", "exp", "identity", "fresh", "type", "csrf"}
    assert data["identity"] == 42 and type(data["identity"]) is int
    assert data["fresh"] is fresh and data["type"] == "access"
    assert data["iat"] == data["nbf"] == NOW
    assert data["exp"] == NOW + lifetime
    assert is_uuid4(data["jti"]) and is_uuid4(data["csrf"]) and data["jti"] != data["csrf"]
    # Valid until the last second, refused after (leeway 0), by both servers.
    event_server_decode(token, now=NOW + lifetime)
    with pytest.raises(EventServerRefusal) as info:
        event_server_decode(token, now=NOW + lifetime + 1)
    assert (info.value.status, info.value.message) == (401, "Token has expired")


def test_our_refresh_token_passes_the_event_server_refresh_checks(codec: TokenCodec) -> None:
    token = codec.issue_refresh(42)
    data = event_server_decode(token, now=NOW, request_type="refresh")
    assert set(data) == {"iat", "nbf", "jti", "exp", "identity", "type", "csrf"}
    assert data["exp"] - data["iat"] == 365 * 86_400
    with pytest.raises(EventServerRefusal) as info:
        event_server_decode(token, now=NOW)  # on an access route
    assert (info.value.status, info.value.message) == (422, "Only access tokens are allowed")


def test_tokens_are_unique(codec: TokenCodec) -> None:
    tokens = {codec.issue_access(1) for _ in range(5)}
    assert len(tokens) == 5


def test_two_servers_with_one_secret_share_tokens(clock: FakeClock) -> None:
    lab_a = TokenCodec(SECRET, clock=clock)
    lab_b = TokenCodec(SECRET, clock=clock)
    assert lab_b.decode(lab_a.issue_access(11, fresh=True)).fresh is True


# --- refusals --------------------------------------------------------------------------------


def unsigned_none_token() -> str:
    return jwt.encode({"iat": NOW, "exp": NOW + 60, "identity": 1}, None, algorithm="none")


def tampered_token() -> str:
    token = event_server_access(7)
    header, payload, signature = token.split(".")
    claims = json.loads(unb64(payload))
    claims["identity"] = 1  # become user 1, keep the old signature
    return f"{header}.{b64(json.dumps(claims).encode())}.{signature}"


BASE = {"iat": NOW, "nbf": NOW, "exp": NOW + 60, "identity": 7, "type": "access"}


def with_claims(**changes: Any) -> str:
    claims = {**BASE, **changes}
    return sign({"alg": "HS256", "typ": "JWT"}, {k: v for k, v in claims.items() if v is not DROP})


REFUSALS: list[tuple[str, Any, type[TokenError], str, str]] = [
    # (case, token factory, class, code, message)
    (
        "alg none",
        unsigned_none_token,
        DisallowedAlgorithm,
        "token_bad_algorithm",
        "The specified alg value is not allowed",
    ),
    (
        "alg HS512 with the right key",
        lambda: jwt.encode(BASE, SECRET, algorithm="HS512"),
        DisallowedAlgorithm,
        "token_bad_algorithm",
        "The specified alg value is not allowed",
    ),
    (
        "no alg header",
        lambda: sign({"typ": "JWT"}, BASE),
        DisallowedAlgorithm,
        "token_bad_algorithm",
        "The specified alg value is not allowed",
    ),
    (
        "wrong key",
        lambda: jwt.encode(BASE, "another-key-of-enough-length-0123456789", "HS256"),
        BadSignature,
        "token_bad_signature",
        "Signature verification failed",
    ),
    (
        "tampered payload",
        tampered_token,
        BadSignature,
        "token_bad_signature",
        "Signature verification failed",
    ),
    (
        "aud",
        lambda: with_claims(aud="lab"),
        InvalidAudience,
        "token_bad_audience",
        "Invalid audience",
    ),
    (
        "empty aud",
        lambda: with_claims(aud=""),
        InvalidAudience,
        "token_bad_audience",
        "Invalid audience",
    ),
    (
        "nbf in the future",
        lambda: with_claims(nbf=NOW + 1),
        ImmatureToken,
        "token_not_yet_valid",
        "The token is not yet valid (nbf)",
    ),
    (
        "exp in the past",
        lambda: with_claims(exp=NOW - 1),
        ExpiredToken,
        "token_expired",
        "Token has expired",
    ),
    (
        "no exp",
        lambda: with_claims(exp=DROP),
        InvalidClaims,
        "token_bad_claims",
        'Token is missing the "exp" claim',
    ),
    (
        "no iat",
        lambda: with_claims(iat=DROP),
        InvalidClaims,
        "token_bad_claims",
        'Token is missing the "iat" claim',
    ),
    (
        "exp not a number",
        lambda: with_claims(exp="tomorrow"),
        MalformedToken,
        "token_malformed",
        "Expiration Time claim (exp) must be an integer.",
    ),
    (
        "exp infinite",
        lambda: sign({"alg": "HS256"}, json.dumps({**BASE, "exp": float("inf")}).encode()),
        MalformedToken,
        "token_malformed",
        "Expiration Time claim (exp) must be an integer.",
    ),
    (
        "iat a boolean",
        lambda: with_claims(iat=True),
        MalformedToken,
        "token_malformed",
        "Issued At claim (iat) must be an integer.",
    ),
    (
        "nbf a list",
        lambda: with_claims(nbf=[NOW]),
        MalformedToken,
        "token_malformed",
        "Not Before claim (nbf) must be an integer.",
    ),
    (
        "no identity",
        lambda: with_claims(identity=DROP),
        InvalidClaims,
        "token_bad_claims",
        "Missing claim: identity",
    ),
    (
        "identity a string",
        lambda: with_claims(identity="7"),
        InvalidClaims,
        "token_bad_claims",
        "Invalid claim: identity",
    ),
    (
        "identity a bool",
        lambda: with_claims(identity=True),
        InvalidClaims,
        "token_bad_claims",
        "Invalid claim: identity",
    ),
    (
        "identity a float",
        lambda: with_claims(identity=7.0),
        InvalidClaims,
        "token_bad_claims",
        "Invalid claim: identity",
    ),
    (
        "identity beyond any database integer",
        lambda: with_claims(identity=2**70),
        InvalidClaims,
        "token_bad_claims",
        "Invalid claim: identity",
    ),
    (
        "identity beyond users.id on PostgreSQL",
        lambda: with_claims(identity=2**31),
        InvalidClaims,
        "token_bad_claims",
        "Invalid claim: identity",
    ),
    (
        "identity null",
        lambda: with_claims(identity=None),
        InvalidClaims,
        "token_bad_claims",
        "Invalid claim: identity",
    ),
    (
        "unknown type",
        lambda: with_claims(type="id"),
        InvalidClaims,
        "token_bad_claims",
        "Missing or invalid claim: type",
    ),
    (
        "fresh a string",
        lambda: with_claims(fresh="yes"),
        InvalidClaims,
        "token_bad_claims",
        "Invalid claim: fresh",
    ),
    (
        "jti a number",
        lambda: with_claims(jti=5),
        InvalidClaims,
        "token_bad_claims",
        "Invalid claim: jti",
    ),
    (
        "jti not valid Unicode",
        lambda: with_claims(jti="\ud800"),
        InvalidClaims,
        "token_bad_claims",
        "Invalid claim: jti",
    ),
    (
        "jti with a NUL",
        lambda: with_claims(jti="a\x00b"),
        InvalidClaims,
        "token_bad_claims",
        "Invalid claim: jti",
    ),
    (
        "jti longer than a uuid needs",
        lambda: with_claims(jti="j" * 65),
        InvalidClaims,
        "token_bad_claims",
        "Invalid claim: jti",
    ),
    (
        "csrf not valid Unicode",
        lambda: with_claims(csrf="\udfff"),
        InvalidClaims,
        "token_bad_claims",
        "Invalid claim: csrf",
    ),
    (
        "refresh token where access is expected",
        event_server_refresh,
        WrongTokenType,
        "token_wrong_type",
        "Only access tokens are allowed",
    ),
    ("empty string", lambda: "", MalformedToken, "token_malformed", "Not enough segments"),
    ("one segment", lambda: "abc", MalformedToken, "token_malformed", "Not enough segments"),
    ("two segments", lambda: "abc.def", MalformedToken, "token_malformed", "Not enough segments"),
    ("junk segments", lambda: "a.b.c", MalformedToken, "token_malformed", "Invalid header padding"),
    (
        "non-ascii",
        lambda: "Ünï.cödé.x",
        MalformedToken,
        "token_malformed",
        "Invalid header padding",
    ),
    (
        "header not json",
        lambda: sign(b"not json", BASE),
        MalformedToken,
        "token_malformed",
        "Invalid header string: Expecting value: line 1 column 1 (char 0)",
    ),
    (
        "payload not json",
        lambda: sign({"alg": "HS256"}, b"{not json"),
        MalformedToken,
        "token_malformed",
        "Invalid payload string: Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1)",
    ),
    (
        "payload a list",
        lambda: sign({"alg": "HS256"}, b"[1, 2]"),
        MalformedToken,
        "token_malformed",
        "Invalid payload string: must be a json object",
    ),
    ("too long", lambda: "a" * 5_000, MalformedToken, "token_malformed", "Token is too long"),
    (
        "not a string",
        lambda: None,
        MalformedToken,
        "token_malformed",
        "Invalid token type. Token must be a string",
    ),
]


@pytest.mark.parametrize(
    ("factory", "error", "code", "message"),
    [case[1:] for case in REFUSALS],
    ids=[case[0] for case in REFUSALS],
)
def test_refusals(
    codec: TokenCodec, factory: Any, error: type[TokenError], code: str, message: str
) -> None:
    token = factory()
    with pytest.raises(error) as info:
        codec.decode(token)
    assert type(info.value) is error
    assert (info.value.code, info.value.message) == (code, message)
    assert isinstance(info.value, TokenError) and isinstance(info.value, AuthError)


def test_the_event_server_refuses_the_same_tokens_with_the_same_status() -> None:
    # Where the event server also refuses, it gives the status our class stands for:
    # InvalidToken -> 422, ExpiredToken -> 401.
    compared = 0
    for case, factory, error, _, message in REFUSALS:
        token = factory()
        if not isinstance(token, str):
            continue
        try:
            event_server_decode(token, now=NOW)
        except EventServerRefusal as refusal:
            expected = 422 if issubclass(error, InvalidToken) else 401
            if case.startswith("identity"):
                expected = 401  # its user loader fails; ours refuses the claim (422)
            assert refusal.status == expected, case
            if error in (
                ExpiredToken,
                BadSignature,
                ImmatureToken,
                InvalidAudience,
                WrongTokenType,
            ):
                assert refusal.message == message, case
            compared += 1
    assert compared >= 25


def test_expiry_boundary(codec: TokenCodec, clock: FakeClock) -> None:
    token = codec.issue_access(1)
    clock.now = NOW + 86_400 + 0.999  # whole seconds, as PyJWT compares
    assert codec.decode(token).identity == 1
    clock.now = NOW + 86_401
    with pytest.raises(ExpiredToken):
        codec.decode(token)


def test_expired_is_reported_before_audience(codec: TokenCodec) -> None:
    # Same order as PyJWT: exp is checked before aud.
    with pytest.raises(ExpiredToken):
        codec.decode(with_claims(exp=NOW - 10, aud="x"))


def test_access_token_where_refresh_is_expected(codec: TokenCodec) -> None:
    with pytest.raises(WrongTokenType) as info:
        codec.decode(codec.issue_access(1), expected_type="refresh")
    assert info.value.message == "Only refresh tokens are allowed"


def test_expected_type_is_checked(codec: TokenCodec) -> None:
    with pytest.raises(ValueError):
        codec.decode(codec.issue_access(1), expected_type="id")  # type: ignore[arg-type]


def test_error_classes_have_distinct_codes_and_statuses() -> None:
    unauthorized = [MissingToken, ExpiredToken, RevokedToken, FreshTokenRequired, TokenUserNotFound]
    unprocessable = [
        BadAuthorizationHeader,
        MalformedToken,
        BadSignature,
        DisallowedAlgorithm,
        ImmatureToken,
        InvalidAudience,
        InvalidClaims,
        WrongTokenType,
    ]
    classes: list[type[TokenError]] = [*unauthorized, *unprocessable, InvalidToken, TokenError]
    codes = [cls.code for cls in classes]
    assert len(set(codes)) == len(codes)
    assert not any(issubclass(cls, InvalidToken) for cls in unauthorized)
    assert all(issubclass(cls, InvalidToken) for cls in unprocessable)
    assert MissingToken().message == "Missing Authorization Header"
    assert RevokedToken().message == "Token has been revoked"
    assert FreshTokenRequired().message == "Fresh token required"
    assert TokenUserNotFound(12).message == "Error loading the user 12"


def test_require_fresh(codec: TokenCodec) -> None:
    require_fresh(codec.decode(codec.issue_access(1, fresh=True)))
    with pytest.raises(FreshTokenRequired):
        require_fresh(codec.decode(codec.issue_access(1)))
    with pytest.raises(FreshTokenRequired):
        require_fresh(codec.decode(codec.issue_refresh(1), expected_type="refresh"))


# --- construction and issuing ----------------------------------------------------------------


def test_short_secret_works_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    # The event server's SECRET_KEY may be short; sharing tokens means taking it as it is.
    TokenCodec("k" * 32)
    assert "shorter than" not in caplog.text
    short = TokenCodec("super secret key")
    assert "the JWT secret is 16 bytes, shorter than the 32" in caplog.text
    assert short.decode(short.issue_access(3)).identity == 3
    with pytest.raises(ValueError, match="must not be empty"):
        TokenCodec("")


@pytest.mark.parametrize(
    "name", ["access_seconds", "access_remember_seconds", "refresh_seconds", "max_token_chars"]
)
def test_bounds_must_be_positive(name: str) -> None:
    with pytest.raises(ValueError, match=name):
        TokenCodec(SECRET, **{name: 0})  # type: ignore[arg-type]


def test_repr_hides_the_secret(codec: TokenCodec) -> None:
    assert SECRET not in repr(codec)


@pytest.mark.parametrize("identity", [True, "7", 7.0, None])
def test_identity_must_be_an_int_when_issuing(codec: TokenCodec, identity: Any) -> None:
    with pytest.raises(TypeError):
        codec.issue_access(identity)
    with pytest.raises(TypeError):
        codec.issue_refresh(identity)


def test_custom_lifetimes(clock: FakeClock) -> None:
    codec = TokenCodec(
        SECRET, access_seconds=60, access_remember_seconds=30, refresh_seconds=90, clock=clock
    )
    assert codec.decode(codec.issue_access(1)).exp == NOW + 60
    assert codec.decode(codec.issue_access(1, remember=True)).exp == NOW + 30
    assert codec.decode(codec.issue_refresh(1), expected_type="refresh").exp == NOW + 90


# --- Authorization header --------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    ["JWT a.b.c", "Bearer a.b.c", "jwt a.b.c", "BEARER a.b.c", "  JWT   a.b.c  ", "Jwt\ta.b.c"],
)
def test_parse_authorization_accepts(header: str) -> None:
    assert parse_authorization(header) == "a.b.c"


@pytest.mark.parametrize("header", [None, "", "   "])
def test_parse_authorization_absent(header: str | None) -> None:
    assert parse_authorization(header) is None


@pytest.mark.parametrize(
    "header",
    ["Basic dXNlcjpwdw==", "JWT", "Bearer", "JWT a b", "a.b.c", "JWT a, Bearer b", "Token a"],
)
def test_parse_authorization_refuses(header: str) -> None:
    with pytest.raises(BadAuthorizationHeader) as info:
        parse_authorization(header)
    assert info.value.code == "bad_authorization_header"
    assert info.value.message == (
        "Bad Authorization header. Expected value 'JWT <JWT>' or 'Bearer <JWT>'"
    )
