"""Domain errors of remotelab: one root, one tree.

Every error that a user or a program can cause is a :class:`RemotelabError`
carrying a machine-readable ``code`` and a human message. ``api/errors.py``
maps each class to an HTTP status and a websocket close code, once.

Hierarchy::

    RemotelabError
    ├── InputError                  bad input from the client (400)
    │   ├── FunctionStringError     a function string that does not parse or validate
    │   └── ScriptTooLarge          source over the size limit (413)
    ├── AuthError                   not authenticated (401)
    │   ├── InvalidCredentials      wrong email or password
    │   └── TokenError              missing, malformed, expired or revoked token
    ├── PermissionDenied            authenticated but not allowed (403)
    │   └── EmailNotVerified        REMOTELAB_REQUIRE_VERIFIED_EMAIL and an unverified account
    ├── NotFound                    no such resource, or not yours (404)
    ├── Conflict                    e.g. an email already taken (409)
    ├── RateLimited                 too many attempts (429), with retry_after
    ├── DeviceError                 the instrument could not serve the call
    │   ├── DeviceBusy              scheduler queue full (429)
    │   ├── DeviceUnavailable       faulted, reconnecting or not connected (503)
    │   ├── DeviceTimeout           the call waited or ran too long (503)
    │   └── OutOfRange              the device answered, but what is on the bench is
    │                               beyond what it can measure (422)
    ├── SandboxError                the sandbox machinery itself failed (503)
    ├── MailError                   a mail could not be handed to the SMTP server
    │                               (delivery is off the request path: never an HTTP answer)
    └── ConfigError                 a setting that does not parse or is out of range
                                    (stops the server at start; never an HTTP answer)

User code errors inside a sandboxed run are *not* exceptions here: they are
data in the run result (``status``, ``error.type``, ``error.line``).
"""

from __future__ import annotations

from typing import Any


class RemotelabError(Exception):
    """Root of every remotelab error.

    ``code`` is a stable, machine-readable identifier; ``message`` is shown to
    the user verbatim; ``details`` is optional JSON-safe extra data.
    """

    code: str = "error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            data["details"] = self.details
        return data


class InputError(RemotelabError):
    code = "bad_request"


class FunctionStringError(InputError):
    code = "bad_function_string"


class ScriptTooLarge(InputError):
    code = "too_large"


class AuthError(RemotelabError):
    code = "unauthorized"


class InvalidCredentials(AuthError):
    code = "invalid_credentials"


class TokenError(AuthError):
    code = "invalid_token"


class PermissionDenied(RemotelabError):
    code = "forbidden"


class EmailNotVerified(PermissionDenied):
    code = "email_not_verified"


class NotFound(RemotelabError):
    code = "not_found"


class Conflict(RemotelabError):
    code = "conflict"


class RateLimited(RemotelabError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message, details={"retry_after": round(retry_after, 3)})
        self.retry_after = retry_after


class DeviceError(RemotelabError):
    code = "device_error"


class DeviceBusy(DeviceError):
    code = "device_busy"


class DeviceUnavailable(DeviceError):
    code = "device_unavailable"


class OutOfRange(DeviceError):
    """The device works and answered, but the quantity on the bench is outside what it
    can measure (a capacitor too large to charge measurably): not the device's fault."""

    code = "out_of_range"


class DeviceTimeout(DeviceError):
    code = "device_timeout"


class SandboxError(RemotelabError):
    code = "sandbox_error"


class MailError(RemotelabError):
    """A mail the SMTP server did not take. ``temporary``: worth another try later
    (unreachable server, a 4xx reply); otherwise trying again would fail the same way."""

    code = "mail_failed"

    def __init__(self, message: str, *, temporary: bool) -> None:
        super().__init__(message)
        self.temporary = temporary


class ConfigError(RemotelabError):
    """A setting with a value that does not parse or is not allowed.

    The message is one line naming the variable, the value and what is allowed,
    e.g. ``REMOTELAB_SANDBOX_NICE=40: must be between 1 and 19``.
    """

    code = "bad_setting"
