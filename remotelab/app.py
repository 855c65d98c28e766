"""The application factory: wiring only. Resources are opened by the lifespan.

``before_serving`` opens, in order: the database (migrations applied), the
built-in examples, the account service, the instrument (backend, device owner
thread, function registry). ``after_serving`` closes them in reverse order.
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
from remotelab.auth.mailer import OutboxMailer
from remotelab.auth.ratelimit import SlidingWindowLimiter
from remotelab.config import Settings
from remotelab.device.backends import select_backend
from remotelab.device.functions import FunctionLimits, default_registry
from remotelab.device.owner import DeviceOwner, OwnerLimits
from remotelab.device.scheduler import SchedulerLimits, UserGate
from remotelab.device.service import Instrument
from remotelab.sandbox import SandboxLimits, SandboxPool
from remotelab.storage.database import Database
from remotelab.storage.examples import publish_examples
from remotelab.streaming.hub import Hub, StreamLimits

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
    api.stream.parse_allowed_origins(settings.stream_allowed_origins)  # a bad entry: fail now
    app = Quart("remotelab")
    app.secret_key = settings.secret_key.reveal()
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        # Form bodies are refused (415) before parsing, but bound them anyway.
        MAX_FORM_MEMORY_SIZE=settings.max_request_bytes,
        QUART_AUTH_COOKIE_SECURE=settings.cookie_secure,
        QUART_AUTH_COOKIE_SAMESITE=settings.cookie_samesite,
        QUART_AUTH_COOKIE_HTTP_ONLY=True,
        QUART_AUTH_COOKIE_NAME="remotelab_session",
        QUART_AUTH_DURATION=settings.cookie_max_age_seconds,
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
    api.meta.install_webapp(app, settings.webapp_dir or default_webapp_dir())

    # Every resource registers its closing as it opens: a failure half-way through the
    # start closes what was already open, and the stop closes all in reverse order.
    resources = contextlib.AsyncExitStack()

    @app.before_serving
    async def open_resources() -> None:
        logging.basicConfig(level=settings.log_level.upper())
        # One process, one GIL: the device thread must get it back soon after each wait.
        if settings.device_gil_switch_ms > 0:
            sys.setswitchinterval(settings.device_gil_switch_ms / 1000)
        async with contextlib.AsyncExitStack() as stack:
            db = Database(
                settings.database_url,
                accounts=settings.accounts,
                sqlite_synchronous=settings.sqlite_synchronous,
            )
            stack.push_async_callback(db.close)
            await db.migrate()
            examples = settings.examples_dir or default_examples_dir()
            if settings.load_examples and examples is not None:
                await publish_examples(db, examples)
            mailer = OutboxMailer(settings.instance_path / "outbox.txt")
            accounts = Accounts(settings, db, mailer)
            await accounts.load_revocations()
            instrument = await open_instrument(settings)
            stack.push_async_callback(instrument.owner.close)
            sandbox = SandboxPool(
                sandbox_limits(settings),
                max_concurrent=settings.sandbox_max_concurrent,
                max_queued=settings.sandbox_max_queued,
                function_names=instrument.registry.names(),
            )
            stack.push_async_callback(sandbox.close)
            await sandbox.start()
            hub = Hub(
                instrument,
                StreamLimits(
                    max_subscriptions_per_user=settings.stream_max_subscriptions_per_user,
                    max_connections_per_user=settings.stream_max_connections_per_user,
                    max_fps=settings.stream_max_fps,
                    max_rate_hz=settings.stream_max_rate_hz,
                    max_message_bytes=settings.stream_max_message_bytes,
                    max_queued_messages=settings.stream_max_queued_messages,
                    status_interval=settings.stream_status_seconds,
                ),
            )
            stack.push_async_callback(hub.close)
            app.extensions[EXTENSION] = Lab(
                settings=settings,
                db=db,
                accounts=accounts,
                instrument=instrument,
                function_limiter=SlidingWindowLimiter(
                    settings.function_calls_per_minute, 60, max_keys=settings.rate_limit_max_keys
                ),
                user_gate=UserGate(
                    settings.device_inflight_per_user, settings.device_queue_per_user
                ),
                sandbox=sandbox,
                run_limiter=SlidingWindowLimiter(
                    settings.script_runs_per_minute, 60, max_keys=settings.rate_limit_max_keys
                ),
                hub=hub,
            )
            resources.push_async_exit(stack.pop_all())
        log.info(
            "remotelab %s ready (%s accounts, %s)",
            __version__,
            settings.accounts,
            instrument.owner.backend.describe(),
        )

    @app.after_serving
    async def close_resources() -> None:
        app.extensions.pop(EXTENSION, None)
        await resources.aclose()

    return app


def sandbox_limits(settings: Settings) -> SandboxLimits:
    return SandboxLimits(
        wall_seconds=settings.sandbox_wall_seconds,
        cpu_seconds=settings.sandbox_cpu_seconds,
        memory_bytes=settings.sandbox_memory_mb * 1024 * 1024,
        stdout_bytes=settings.sandbox_stdout_bytes,
        max_widgets=settings.sandbox_max_widgets,
        max_plot_points=settings.sandbox_max_plot_points,
        max_device_calls=settings.sandbox_max_device_calls,
        max_source_bytes=settings.max_script_bytes,
        max_result_bytes=settings.sandbox_max_result_bytes,
        max_open_files=settings.sandbox_max_open_files,
        nice=settings.sandbox_nice,
    )


async def shutdown_trigger(app: Quart, stop: asyncio.Event) -> None:
    """Hypercorn's shutdown trigger: on ``stop``, first close the live streams.

    Hypercorn then waits for open connections before the lifespan's shutdown runs;
    websockets would otherwise stay open until its graceful timeout and be cut (1011).
    """
    await stop.wait()
    state: Lab | None = app.extensions.get(EXTENSION)
    if state is not None:
        await state.hub.close()


def function_limits(settings: Settings) -> FunctionLimits:
    return FunctionLimits(
        max_source_chars=settings.function_max_chars,
        max_nesting=settings.function_max_nesting,
        max_wait_seconds=settings.function_max_wait_seconds,
        max_capture_seconds=settings.function_max_capture_seconds,
        max_average_samples=settings.function_max_average_samples,
        max_result_items=settings.function_max_result_items,
        max_result_depth=settings.function_max_result_depth,
        max_result_notes=settings.function_max_result_notes,
    )


async def open_instrument(settings: Settings) -> Instrument:
    """Pick the backend (a USB scan may block: off the loop), start the device owner."""
    backend = await asyncio.to_thread(
        select_backend,
        settings.device,
        port=settings.device_port,
        bench=settings.emulator_bench,
        realtime=settings.emulator_realtime,
        seed=settings.emulator_seed,
        read_timeout=settings.emulator_read_timeout,
    )
    owner = DeviceOwner(
        backend,
        OwnerLimits(
            scheduler=SchedulerLimits(
                max_queue=settings.device_queue_max,
                max_queue_per_user=settings.device_queue_per_user,
                call_timeout=settings.device_call_timeout,
            ),
            run_timeout=settings.device_run_timeout,
            batch_max=settings.device_batch_max,
            reconnect_initial=settings.device_reconnect_initial,
            reconnect_max=settings.device_reconnect_max,
        ),
    )
    await owner.start()
    limits = function_limits(settings)
    return Instrument(
        owner, default_registry(limits), limits, share_readings=settings.device_share_readings
    )
