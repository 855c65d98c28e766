"""The Open Event server's side of the token contract, written with PyJWT.

flask-jwt-extended 3.25 (the version the event server pins, on PyJWT 1.7) mints and checks
tokens this way (docs/reference/tokens.md). Shared by the token unit tests and the HTTP tests.
"""

from __future__ import annotations

import uuid
from typing import Any

import jwt

DROP = object()
"""Pass as a claim's value to leave that claim out of a minted token."""


class EventServerRefusal(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message


def access_token(identity: Any, *, now: int, secret: str, **override: Any) -> str:
    """An access token as the event server's ``create_access_token(user.id, fresh=True)``."""
    claims: dict[str, Any] = {
        "iat": now,
        "nbf": now,
        "jti": str(uuid.uuid4()),
        "exp": now + 86_400,
        "identity": identity,
        "fresh": True,
        "type": "access",
        "csrf": str(uuid.uuid4()),
    }
    claims.update(override)
    return jwt.encode({k: v for k, v in claims.items() if v is not DROP}, secret, "HS256")


def refresh_token(identity: int, *, now: int, secret: str) -> str:
    claims = {
        "iat": now,
        "nbf": now,
        "jti": str(uuid.uuid4()),
        "exp": now + 365 * 86_400,
        "identity": identity,
        "type": "refresh",
        "csrf": str(uuid.uuid4()),
    }
    return jwt.encode(claims, secret, "HS256")


def decode(token: str, *, now: int, secret: str, request_type: str = "access") -> dict[str, Any]:
    """The checks the event server applies (PyJWT 1.7 + flask-jwt-extended 3.25 + its loader).

    Raises EventServerRefusal(status, message) as its error handlers answer.
    """
    try:
        data: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            # exp/nbf are checked below against ``now`` with leeway 0, as PyJWT 1.7 does.
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
    except jwt.InvalidTokenError as exc:
        raise EventServerRefusal(422, str(exc)) from None
    if "nbf" in data and seconds(data["nbf"], "Not Before claim (nbf)") > now:
        raise EventServerRefusal(422, "The token is not yet valid (nbf)")
    if "exp" in data and seconds(data["exp"], "Expiration Time claim (exp)") < now:
        raise EventServerRefusal(401, "Token has expired")
    if "aud" in data:
        raise EventServerRefusal(422, "Invalid audience")
    if "identity" not in data:
        raise EventServerRefusal(422, "Missing claim: identity")
    data.setdefault("type", "access")
    if data["type"] not in ("access", "refresh"):
        raise EventServerRefusal(422, "Missing or invalid claim: type")
    if data["type"] == "access":
        data.setdefault("fresh", False)
    if data["type"] != request_type:
        raise EventServerRefusal(422, f"Only {request_type} tokens are allowed")
    # jwt_user_loader: User.query.filter_by(id=identity) -- an integer users.id.
    if not isinstance(data["identity"], int) or isinstance(data["identity"], bool):
        raise EventServerRefusal(401, f"Error loading the user {data['identity']}")
    return data


def seconds(value: Any, name: str) -> int:
    # PyJWT 1.7 catches only ValueError here; a list or infinity escapes as a 500 there.
    try:
        return int(value)
    except (ValueError, TypeError, OverflowError):
        raise EventServerRefusal(422, f"{name} must be an integer.") from None
