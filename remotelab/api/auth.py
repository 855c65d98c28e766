"""Accounts over HTTP: sign up, login (JWT and cookie), refresh, logout, passwords, email
verification, roles.

Paths, bodies and messages follow the Open Event server (docs/reference/tokens.md) so that
its clients work against the lab unchanged.
"""

from __future__ import annotations

import time
from typing import Any

from quart import Blueprint, Response, jsonify, request
from quart_schema import (
    document_request,
    document_response,
    validate_querystring,
    validate_response,
)

from remotelab.api.context import base_url, client_address, lab
from remotelab.api.identity import authenticate, current_claims, end_session, start_session
from remotelab.api.meta import check_json_type
from remotelab.api.schemas import (
    AccessTokenOut,
    ChangePasswordIn,
    ListQuery,
    LoginIn,
    MessageOut,
    NoticeOut,
    PasswordChangedOut,
    ResendVerificationIn,
    ResetCompleteIn,
    ResetDoneOut,
    ResetRequestIn,
    RoleIn,
    SignUpIn,
    TokensOut,
    UserOut,
    UserPage,
    VerifiedOut,
    VerifyEmailIn,
)
from remotelab.api.validation import json_body
from remotelab.auth.accounts import EMAIL_VERIFIED, MISSING_CREDENTIALS
from remotelab.auth.roles import Role
from remotelab.auth.tokens import parse_authorization, require_fresh
from remotelab.errors import InputError, PermissionDenied, TokenError

bp = Blueprint("auth", __name__)


@bp.post("/v1/users")
@json_body(SignUpIn)
@validate_response(UserOut, 201)
async def sign_up(data: SignUpIn) -> tuple[dict[str, Any], int]:
    """Create an account (role student) and mail it a verification link.

    The link is `<lab>/verify?token=...`; the page posts the token to `/v1/auth/verify-email`.
    409 when the email is taken.
    """
    user = await lab().accounts.sign_up(
        email=data.email,
        password=data.password,
        first_name=data.first_name,
        last_name=data.last_name,
        address=client_address(),
        base_url=base_url(),
    )
    return user.to_dict(), 201


@bp.get("/v1/users/me")
@validate_response(UserOut)
async def me() -> dict[str, Any]:
    """The calling user."""
    return (await authenticate()).to_dict()


async def _login() -> Response:
    check_json_type()
    body = await request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InputError(MISSING_CREDENTIALS)
    accounts = lab().accounts
    user = await accounts.authenticate_password(
        body.get("email"), body.get("password"), address=client_address()
    )
    remember = body.get("remember-me") is True
    tokens = await accounts.issue_tokens(user, remember=remember)
    start_session(user, time.time())
    return jsonify({"access_token": tokens.access_token, "refresh_token": tokens.refresh_token})


@bp.post("/v1/auth/login")
@document_request(LoginIn)
@document_response(TokensOut)
async def login() -> Response:
    """Log in with email and password.

    Answers the event server's `{"access_token": ...}` (plus a refresh token) and also sets
    the browser session cookie. 400 `username or password missing`, 401 `Invalid Credentials`,
    403 `email_not_verified` when `REMOTELAB_REQUIRE_VERIFIED_EMAIL` is on and the account's
    email is not verified, 429 after too many attempts.
    """
    return await _login()


@bp.post("/auth/session")
@document_request(LoginIn)
@document_response(TokensOut)
async def login_legacy() -> Response:
    """Legacy alias of `POST /v1/auth/login` (the event server's old path)."""
    return await _login()


@bp.post("/v1/auth/token/refresh")
@document_response(AccessTokenOut)
async def refresh() -> Response:
    """Exchange a refresh token (in `Authorization`) for a new access token (not fresh)."""
    token = parse_authorization(request.headers.get("Authorization"))
    if token is None:
        raise TokenError("Missing Authorization Header")
    accounts = lab().accounts
    user, _claims = await accounts.user_for_token(token, expected_type="refresh")
    return jsonify({"access_token": accounts.codec.issue_access(user.id, fresh=False)})


@bp.post("/v1/auth/logout")
@document_response(MessageOut)
async def logout() -> Response:
    """End this session: revokes the presented token and clears the session cookie.

    With `{"everywhere": true}` every token and session of the user is revoked.
    """
    user = await authenticate()
    body = await request.get_json(silent=True)
    accounts = lab().accounts
    if isinstance(body, dict) and body.get("everywhere") is True:
        await accounts.revoke_all(user.id)
    claims = current_claims()
    if claims is not None:
        await accounts.revoke(claims)
    end_session()
    return jsonify({"message": "logged out"})


@bp.post("/v1/auth/change-password")
@json_body(ChangePasswordIn)
@document_response(PasswordChangedOut)
async def change_password(data: ChangePasswordIn) -> Response:
    """Change the password (event server body `{"data": {"old-password", "new-password"}}`).

    Needs a fresh token (from a password login; one from `/v1/auth/token/refresh` is 401
    `Fresh token required`) or the session cookie of a login. Every earlier token and session
    is revoked; the answer carries a fresh access token.
    """
    user = await authenticate()
    claims = current_claims()
    if claims is not None:  # a cookie session comes from a password login: fresh
        require_fresh(claims)
    accounts = lab().accounts
    updated = await accounts.change_password(
        user.id, data.data.old_password, data.data.new_password
    )
    access_token = await accounts.issue_fresh_access(updated)
    start_session(updated, time.time())
    return jsonify(
        {
            "id": updated.id,
            "email": updated.email,
            "name": updated.name,
            "password-changed": True,
            "access_token": access_token,
        }
    )


@bp.post("/v1/auth/reset-password")
@json_body(ResetRequestIn)
@document_response(NoticeOut)
async def reset_password_request(data: ResetRequestIn) -> Response:
    """Send a reset link if the email has an account (same answer either way).

    The answer comes at once: the mail is delivered in the background (tried again while
    the mail server is unreachable). 429 after too many requests.
    """
    email = data.data.email
    await lab().accounts.request_reset(email, address=client_address(), base_url=base_url())
    return jsonify(
        {
            "message": "If your email was registered with us, you'll get an email with reset "
            "link shortly",
            "email": email,
        }
    )


@bp.patch("/v1/auth/reset-password")
@json_body(ResetCompleteIn)
@document_response(ResetDoneOut)
async def reset_password_complete(data: ResetCompleteIn) -> Response:
    """Set a new password with the single-use token from the reset link."""
    user = await lab().accounts.complete_reset(data.data.token, data.data.password)
    return jsonify({"id": user.id, "email": user.email, "name": user.name})


@bp.post("/v1/auth/verify-email")
@json_body(VerifyEmailIn)
@document_response(VerifiedOut)
async def verify_email(data: VerifyEmailIn) -> Response:
    """Verify the account's email with the token from its verification link.

    Answers as the event server, `{"message": "Email Verified"}`; every link of the account
    stops working. 400 `Invalid Token` for an unknown, expired or already used token.
    """
    user = await lab().accounts.verify_email(data.data.token)
    return jsonify({"message": EMAIL_VERIFIED, "email": user.email})


async def _resend_verification(data: ResendVerificationIn) -> Response:
    email = data.data.email
    await lab().accounts.resend_verification(email, address=client_address(), base_url=base_url())
    return jsonify(
        {
            "message": "If your email was registered with us and is not verified yet, you'll "
            "get an email with a verification link shortly",
            "email": email,
        }
    )


@bp.post("/v1/auth/resend-verification")
@json_body(ResendVerificationIn)
@document_response(NoticeOut)
async def resend_verification(data: ResendVerificationIn) -> Response:
    """Mail a new verification link if the email has an unverified account.

    The same answer either way (no account probing); earlier links stay valid until they
    expire. 429 after `REMOTELAB_VERIFICATION_RESENDS_PER_WINDOW` requests for one email or
    from one address.
    """
    return await _resend_verification(data)


@bp.post("/v1/auth/resend-verification-email")
@json_body(ResendVerificationIn)
@document_response(NoticeOut)
async def resend_verification_email(data: ResendVerificationIn) -> Response:
    """The event server's path of `POST /v1/auth/resend-verification`.

    Unlike the event server (422 for an unknown email), the answer is the same either way.
    """
    return await _resend_verification(data)


@bp.get("/v1/admin/users")
@validate_querystring(ListQuery)
@validate_response(UserPage)
async def list_users(query_args: ListQuery) -> dict[str, Any]:
    """All users with their lab roles (admins only)."""
    user = await authenticate()
    if user.role is not Role.ADMIN:
        raise PermissionDenied("only an admin can list users")
    settings = lab().settings
    limit = min(
        query_args.limit or settings.scripts.page_size_default, settings.scripts.page_size_max
    )
    users, total = await lab().accounts.list_users(offset=query_args.offset, limit=limit)
    return {
        "items": [u.to_dict() for u in users],
        "total": total,
        "offset": query_args.offset,
        "limit": limit,
    }


@bp.put("/v1/admin/users/<int:user_id>/role")
@json_body(RoleIn)
@validate_response(UserOut)
async def set_role(user_id: int, data: RoleIn) -> dict[str, Any]:
    """Grant (`teacher`) or remove (`student`) the teacher role (admins only).

    Demoting an admin (the lab's admin role) is for super admins (the event server's
    `is_super_admin`) or that admin themselves: 403 otherwise. The last admin cannot be
    demoted, nor the event server's own admins (changed there): 409.
    """
    actor = await authenticate()
    updated = await lab().accounts.set_role(actor, user_id, Role(data.role))
    return updated.to_dict()
