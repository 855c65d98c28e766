"""The one place where errors become HTTP responses.

Every error body has one shape, compatible with the Open Event server's
``{"error": "<message>"}``::

    {"error": "<message shown to the user>", "code": "<machine code>", "details": {...}}

``details`` is present only when there is something to add (the field at fault,
suggestions, ``retry_after``...).
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from quart import Quart, Response, current_app, jsonify, request
from quart_schema import RequestSchemaValidationError
from werkzeug.exceptions import HTTPException

from remotelab import errors as e
from remotelab.api.meta import WEBAPP_ENDPOINT
from remotelab.auth.tokens import InvalidToken
from remotelab.device.emulator import UnsupportedCommand
from remotelab.device.functions import ResultError
from remotelab.sandbox import SandboxBusy

log = logging.getLogger(__name__)

# Status of each domain error class; the most specific class in the MRO wins.
STATUS: dict[type[e.RemotelabError], int] = {
    e.RemotelabError: 500,
    e.InputError: 400,
    e.ScriptTooLarge: 413,
    e.AuthError: 401,
    # The event server (flask-jwt-extended) answers 422 for tokens it cannot use.
    InvalidToken: 422,
    e.PermissionDenied: 403,
    e.NotFound: 404,
    e.Conflict: 409,
    e.RateLimited: 429,
    e.DeviceError: 503,
    UnsupportedCommand: 501,  # the emulator does not model that part of the firmware
    ResultError: 400,  # a result too large or deep for JSON: the arguments asked for it
    e.DeviceBusy: 429,
    e.DeviceUnavailable: 503,
    e.DeviceTimeout: 503,
    e.OutOfRange: 422,  # the device is fine: the bench holds what it cannot measure
    e.SandboxError: 503,
    SandboxBusy: 429,  # too many runs waiting for a worker: try again shortly
}


def status_of(exc: e.RemotelabError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_body(message: str, code: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": message, "code": code}
    if details:
        body["details"] = details
    return body


def error_response(
    status: int, message: str, code: str, details: dict[str, Any] | None = None
) -> Response:
    response = jsonify(error_body(message, code, details))
    response.status_code = status
    return response


def _describe_validation(exc: ValidationError) -> tuple[str, list[dict[str, Any]]]:
    problems = []
    for err in exc.errors(include_url=False, include_input=False):
        field = ".".join(str(p) for p in err["loc"]) or "body"
        problems.append({"field": field, "problem": err["msg"]})
    text = "; ".join(f"{p['field']}: {p['problem']}" for p in problems[:5])
    return f"invalid request: {text}", problems


def routed_methods(path: str, methods: list[str]) -> list[str]:
    """Which of ``methods`` a route other than the webapp's catch-all serves at ``path``.

    The webapp answers GET on every path, so werkzeug says 405 (allow GET) for any other
    method on a path no route has; such a path is unknown: 404. Used only on a 405.
    """
    adapter = current_app.create_url_adapter(request)
    if adapter is None:
        return methods
    served = []
    for method in methods:
        if method == "OPTIONS":
            continue
        try:
            rule, _ = adapter.match(path, method=method, return_rule=True)
        except HTTPException:  # NotFound, MethodNotAllowed, a redirect
            continue
        if rule.endpoint != WEBAPP_ENDPOINT:
            served.append(method)
    return [*served, "OPTIONS"] if served else []


def install(app: Quart) -> None:
    """Register the error handlers on ``app``."""

    @app.errorhandler(e.RemotelabError)
    async def domain_error(exc: e.RemotelabError) -> Response:
        status = status_of(exc)
        if status >= 500 and not isinstance(exc, e.DeviceError | e.SandboxError):
            log.error("unexpected domain error: %r", exc)
        response = error_response(status, exc.message, exc.code, exc.details or None)
        if isinstance(exc, e.RateLimited):
            response.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
        if status == 401:
            response.headers["WWW-Authenticate"] = 'JWT realm="remotelab"'
        return response

    @app.errorhandler(RequestSchemaValidationError)
    async def schema_error(exc: RequestSchemaValidationError) -> Response:
        cause = exc.validation_error
        if isinstance(cause, ValidationError):
            message, problems = _describe_validation(cause)
            return error_response(400, message, "invalid_request", {"problems": problems})
        return error_response(400, f"invalid request: {cause}", "invalid_request")

    @app.errorhandler(HTTPException)
    async def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        codes = {
            400: "bad_request",
            404: "not_found",
            405: "method_not_allowed",
            413: "too_large",
            415: "unsupported_media_type",
        }
        allowed: list[str] = []
        if status == 405:
            allowed = routed_methods(request.path, getattr(exc, "valid_methods", None) or [])
            if not allowed:  # only the webapp's GET pages are there: no route at all
                status = 404
        message = exc.description or exc.name
        if status == 404:
            message = "no such route"
        elif status == 413:
            message = "request body too large"
        response = error_response(status, message, codes.get(status, exc.name.lower()))
        if status == 405:
            response.headers["Allow"] = ", ".join(allowed)
        return response

    @app.errorhandler(Exception)
    async def unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(500, "internal server error", "internal")
