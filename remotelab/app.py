"""The application factory: wiring only. Resources are opened by the lifespan.

``before_serving`` opens, in order: the database (migrations applied), the
built-in examples, the mail queue, the account service, the instrument
(backend, device owner thread with the bench teachers stored, function registry).
``after_serving`` closes them in reverse order (the mail queue waits a bounded time
for mail in flight).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from pathlib import Path

from quart import Quart
from quart_schema import Info, QuartSchema

from remotelab import __version__, api
from remotelab.api.context import EXTENSION, Lab
from remotelab.api.identity import LabAuth
from remotelab.api.openapi import LabOpenAPIProvider
from remotelab.auth.accounts import Accounts
from remotelab.auth.delivery import MailQueue
from remotelab.auth.mailer import open_transport
from remotelab.auth.ratelimit import Limits, LocalLimits
from remotelab.config import Settings
from remotelab.device.interface import Device
from remotelab.device.scheduler import UserGate
from remotelab.device.service import open_instrument
from remotelab.sandbox import SandboxPool
from remotelab.storage import bench as bench_queries
from remotelab.storage.database import Database
from remotelab.storage.examples import publish_examples
from remotelab.streaming.acquisition import local_sources
from remotelab.streaming.hub import Hub
from remotelab.streaming.sources import OpenSource

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_webapp_dir() -> Path | None:
    candidate = PROJECT_ROOT / "webapp" / "dist"
    return candidate if candidate.is_dir() else None


def default_examples_dir() -> Path | None:
    candidate = PROJECT_ROOT / "examples"
    return candidate if candidate.is_dir() else None


def create_app(settings: Settings | None = None) -> Quart:
    """Build the Quart app for ``settings`` (default: read from ``REMOTELAB_*``)."""
    settings = (settings or Settings.from_env()).with_instance_defaults()
    api.stream.parse_allowed_origins(settings.streaming.allowed_origins)  # a bad entry: fail now
    app = Quart("remotelab")
    app.secret_key = settings.auth.secret_key.reveal()
    app.config.update(
        MAX_CONTENT_LENGTH=settings.server.max_request_bytes,
        # Form bodies are refused (415) before parsing, but bound them anyway.
        MAX_FORM_MEMORY_SIZE=settings.server.max_request_bytes,
        QUART_AUTH_COOKIE_SECURE=settings.auth.cookie_secure,
        QUART_AUTH_COOKIE_SAMESITE=settings.auth.cookie_samesite,
        QUART_AUTH_COOKIE_HTTP_ONLY=True,
        QUART_AUTH_COOKIE_NAME="remotelab_session",
        QUART_AUTH_DURATION=settings.auth.cookie_max_age_seconds,
        QUART_AUTH_SALT="remotelab session",
        QUART_SCHEMA_CONVERT_CASING=False,
    )
    LabAuth(app)
    QuartSchema(
        app,
        info=Info(
            title="remotelab",
            version=__version__,
            description="Remote PSLab lab: accounts, scripts, instruments. Authenticate with "
            "`Authorization: JWT <token>` (or `Bearer`) or the session cookie set by login.",
        ),
        openapi_path="/openapi.json",
        # The bundled UIs load scripts from a CDN; the lab serves nothing from outside.
        swagger_ui_path=None,
        redoc_ui_path=None,
        scalar_ui_path=None,
        security_schemes={
            "jwt": {"type": "apiKey", "in_": "header", "name": "Authorization"},
            "cookie": {"type": "apiKey", "in_": "cookie", "name": "remotelab_session"},
        },
        security=[{"jwt": []}, {"cookie": []}],
        openapi_provider_class=LabOpenAPIProvider,
    )
    api.register(app)
    api.meta.skip_conversion_of_responses(app)  # after QuartSchema wrapped make_response
    api.meta.install_webapp(app, settings.server.webapp_dir or default_webapp_dir())

    # Every resource registers its closing as it opens: a failure half-way through the
    # start closes what was already open, and the stop closes all in reverse order.
    resources = contextlib.AsyncExitStack()

    @app.before_serving
    async def open_resources() -> None:
        logging.basicConfig(level=settings.server.log_level.upper())
        # One process, one GIL: the device thread must get it back soon after each wait.
        if settings.device.gil_switch_ms > 0:
            sys.setswitchinterval(settings.device.gil_switch_ms / 1000)
        async with contextlib.AsyncExitStack() as stack:
            db = Database(
                settings.storage.database_url,
                accounts=settings.storage.accounts,
                sqlite_synchronous=settings.storage.sqlite_synchronous,
            )
            stack.push_async_callback(db.close)
            async with db.startup_lock():  # one process at a time (workers, hosts)
                await db.migrate()
                examples = settings.storage.examples_dir or default_examples_dir()
                if settings.storage.load_examples and examples is not None:
                    await publish_examples(db, examples)
            mail = MailQueue(
                open_transport(settings.mail, settings.server.instance_path), settings.mail
            )
            stack.push_async_callback(mail.close)
            log.info("mail goes to the %s", mail.describe())
            if settings.mail.smtp() is None and settings.auth.require_verified_email:
                log.warning(
                    "REMOTELAB_REQUIRE_VERIFIED_EMAIL is on but no SMTP server is set: "
                    "verification links only reach the outbox file"
                )
            instrument, sources, described = await open_device(settings, db, stack)
            limits = await open_limits(settings, instrument)
            accounts = Accounts(settings, db, mail, limits)
            await accounts.load_revocations()
            sandbox = SandboxPool(
                settings.sandbox,
                widgets=settings.widgets,
                max_script_bytes=settings.scripts.max_script_bytes,
                function_names=instrument.registry.names(),
            )
            stack.push_async_callback(sandbox.close)
            await sandbox.start()
            hub = Hub(instrument, sources, settings.streaming)
            stack.push_async_callback(hub.close)
            app.extensions[EXTENSION] = Lab(
                settings=settings,
                db=db,
                mail=mail,
                accounts=accounts,
                instrument=instrument,
                function_limiter=limits.limit("functions", settings.functions.calls_per_minute, 60),
                user_gate=UserGate(
                    settings.device.inflight_per_user, settings.device.queue_per_user
                ),
                sandbox=sandbox,
                run_limiter=limits.limit("runs", settings.sandbox.script_runs_per_minute, 60),
                hub=hub,
                public_run_limiter=limits.limit(
                    "public_runs", settings.auth.public_runs_per_minute, 60
                ),
            )
            resources.push_async_exit(stack.pop_all())
        log.info(
            "remotelab %s ready (%s accounts, %s)",
            __version__,
            settings.storage.accounts,
            described,
        )

    @app.after_serving
    async def close_resources() -> None:
        app.extensions.pop(EXTENSION, None)
        await resources.aclose()

    return app


async def open_device(
    settings: Settings, db: Database, stack: contextlib.AsyncExitStack
) -> tuple[Device, OpenSource, str]:
    """The device interface the lab serves, its stream sources, and what it is.

    With no ``REMOTELAB_NATS_URL``: the device in this process (the bench teachers stored
    applied over the configured one). With it: the devices of the agents on NATS.
    """
    if settings.nats.url:
        from remotelab.cluster.front import NatsDevice
        from remotelab.cluster.front_streams import nats_sources

        remote = NatsDevice(settings)
        stack.push_async_callback(remote.close)  # also after a start that failed half-way
        await remote.start()
        return remote, nats_sources(remote), remote.describe()
    async with db.session() as session:
        stored = await bench_queries.load(session)
    local = await open_instrument(settings, stored)
    stack.push_async_callback(local.owner.close)
    return local, local_sources(local), local.owner.backend.describe()


async def open_limits(settings: Settings, instrument: Device) -> Limits:
    """What makes the lab's rate limits: counted in this process, or, over NATS, shared by
    every front process and host in a JetStream bucket (ADR 0019)."""
    max_keys = settings.auth.rate_limit_max_keys
    if settings.nats.url:
        from remotelab.cluster.front import NatsDevice
        from remotelab.cluster.limits import SharedLimits

        assert isinstance(instrument, NatsDevice) and instrument.nc is not None
        auth = settings.auth
        longest = max(60, auth.login_window_seconds, auth.signup_window_seconds)
        return await SharedLimits.open(instrument.nc, max_keys=max_keys, window_seconds=longest)
    return LocalLimits(max_keys=max_keys)


async def shutdown_trigger(app: Quart, stop: asyncio.Event) -> None:
    """Hypercorn's shutdown trigger: on ``stop``, first close the live streams.

    Hypercorn then waits for open connections before the lifespan's shutdown runs;
    websockets would otherwise stay open until its graceful timeout and be cut (1011).
    """
    await stop.wait()
    state: Lab | None = app.extensions.get(EXTENSION)
    if state is not None:
        await state.hub.close()
