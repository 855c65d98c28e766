"""Who is calling: a JWT in ``Authorization`` (programs) or the session cookie (browsers).

A header, when present, wins and must be valid; the cookie is only looked at
when there is no header. Both paths end in ``Accounts`` so that blocked or
deleted users and revoked tokens are refused the same way.
"""

from __future__ import annotations

from quart import Response, g, request, websocket
from quart_auth import AuthUser, QuartAuth, current_user, login_user, logout_user

from remotelab.api.context import lab
from remotelab.auth.accounts import CurrentUser
from remotelab.auth.tokens import Claims, parse_authorization
from remotelab.errors import TokenError

MISSING = "Missing Authorization Header"


class LabAuth(QuartAuth):
    """quart-auth's cookie sessions, without its per-response work when unused.

    quart-auth's ``after_request`` reads the session cookie on every response to learn
    whether a login or logout must change it. A request that never asked who its user is
    (every request with an ``Authorization`` header) cannot have logged in or out, so its
    response is left alone.
    """

    async def after_request(self, response: Response) -> Response:
        if not hasattr(g, self.attribute_name):
            return response
        return await super().after_request(response)


async def authenticate() -> CurrentUser:
    """The calling user. Raises AuthError/TokenError (401 or the event server's 422)."""
    cached: CurrentUser | None = g.get("remotelab_user")
    if cached is not None:
        return cached
    user = await _identify(request.headers.get("Authorization"))
    g.remotelab_user = user
    return user


async def authenticate_websocket() -> CurrentUser:
    """The user opening a websocket: ``Authorization`` header, ``?token=``, or the cookie.

    Browsers cannot set headers on a websocket: on the lab's own origin they send the
    session cookie; elsewhere a program may pass its access token as ``?token=<jwt>``.
    """
    header = websocket.headers.get("Authorization")
    token = websocket.args.get("token")
    if header is None and token:
        header = f"JWT {token}"
    return await _identify(header)


async def authenticate_or_visitor() -> CurrentUser | None:
    """The calling user, or None for a signed-out visitor (no header, no session cookie)
    when ``REMOTELAB_PUBLIC_EXAMPLES`` is on. Credentials that are sent must be valid:
    an expired session is a 401 even then, so the browser can sign in again."""
    if (
        lab().settings.auth.public_examples
        and request.headers.get("Authorization") is None
        and _session_id() is None
    ):
        return None
    return await authenticate()


async def authenticate_websocket_or_visitor() -> CurrentUser | None:
    """:func:`authenticate_websocket`, or None for a signed-out visitor (as
    :func:`authenticate_or_visitor`)."""
    if (
        lab().settings.auth.public_examples
        and websocket.headers.get("Authorization") is None
        and not websocket.args.get("token")
        and _session_id() is None
    ):
        return None
    return await authenticate_websocket()


async def _identify(header: str | None) -> CurrentUser:
    accounts = lab().accounts
    if header is not None:
        token = parse_authorization(header)
        if token is None:
            raise TokenError(MISSING)
        user, claims = await accounts.user_for_token(token)
        g.remotelab_claims = claims
        return user
    session = _session_id()
    if session is None:
        raise TokenError(MISSING)
    return await accounts.user_for_session(*session)


def current_claims() -> Claims | None:
    """The decoded token of this request, when it authenticated with one."""
    claims: Claims | None = g.get("remotelab_claims")
    return claims


def _session_id() -> tuple[int, float] | None:
    auth_id = current_user.auth_id
    if not auth_id:
        return None
    try:
        user_id, issued = auth_id.split(":", 1)
        return int(user_id), float(issued)
    except ValueError:
        return None


def start_session(user: CurrentUser, issued_at: float) -> None:
    """Set the browser session cookie (HttpOnly, SameSite) for ``user``."""
    # Microseconds: a session begun right after a cut-off (logout everywhere, password
    # change) must be told from one begun just before it.
    login_user(AuthUser(f"{user.id}:{issued_at:.6f}"), remember=True)


def end_session() -> None:
    logout_user()
