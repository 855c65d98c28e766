"""The application factory: wiring only. Resources are opened by the lifespan.

``before_serving`` opens, in order: the database (migrations applied), the
built-in examples, the account service. ``after_serving`` closes them in
reverse order.
"""

from __future__ import annotations

import logging
from pathlib import Path

from quart import Quart
from quart_auth import QuartAuth
from quart_schema import Info, QuartSchema

from remotelab import __version__, api
from remotelab.api.context import EXTENSION, Lab
from remotelab.auth.accounts import Accounts
from remotelab.auth.mailer import OutboxMailer
from remotelab.config import Settings
from remotelab.storage.database import Database
from remotelab.storage.examples import publish_examples

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
    QuartAuth(app)
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
    )
    api.register(app)
    api.meta.install_webapp(app, settings.webapp_dir or default_webapp_dir())

    @app.before_serving
    async def open_resources() -> None:
        logging.basicConfig(level=settings.log_level.upper())
        db = Database(settings.database_url, accounts=settings.accounts)
        await db.migrate()
        examples = settings.examples_dir or default_examples_dir()
        if settings.load_examples and examples is not None:
            await publish_examples(db, examples)
        mailer = OutboxMailer(settings.instance_path / "outbox.txt")
        app.extensions[EXTENSION] = Lab(
            settings=settings, db=db, accounts=Accounts(settings, db, mailer), extra={}
        )
        log.info("remotelab %s ready (%s accounts)", __version__, settings.accounts)

    @app.after_serving
    async def close_resources() -> None:
        state: Lab | None = app.extensions.pop(EXTENSION, None)
        if state is not None:
            await state.db.close()

    return app
