"""Access to the lab's resources from inside a request, and request facts."""

from __future__ import annotations

from dataclasses import dataclass

from quart import current_app, has_websocket_context, request, websocket

from remotelab.auth.accounts import Accounts
from remotelab.auth.delivery import MailQueue
from remotelab.auth.ratelimit import RateLimit
from remotelab.config import Settings
from remotelab.device.interface import Device
from remotelab.device.scheduler import UserGate
from remotelab.sandbox import SandboxPool
from remotelab.storage.database import Database
from remotelab.streaming.hub import Hub

EXTENSION = "remotelab"


@dataclass
class Lab:
    """The resources the lifespan opened, kept on ``app.extensions``."""

    settings: Settings
    db: Database
    mail: MailQueue
    accounts: Accounts
    instrument: Device
    function_limiter: RateLimit
    user_gate: UserGate
    sandbox: SandboxPool
    run_limiter: RateLimit
    hub: Hub
    # Example runs of all signed-out visitors together (REMOTELAB_PUBLIC_EXAMPLES).
    public_run_limiter: RateLimit


def lab() -> Lab:
    state: Lab = current_app.extensions[EXTENSION]
    return state


def client_address() -> str:
    """The caller's address (of a request or a websocket); the first X-Forwarded-For hop
    only when trusted."""
    source = websocket if has_websocket_context() else request
    if lab().settings.auth.trust_proxy_headers:
        forwarded = source.headers.get("X-Forwarded-For", "")
        first = forwarded.split(",")[0].strip()
        if first:
            return first
    return source.remote_addr or "unknown"


def base_url() -> str:
    """Where links in mails point: ``REMOTELAB_MAIL_BASE_URL``, else this request's host."""
    return lab().settings.mail.links_base or request.host_url.rstrip("/")
