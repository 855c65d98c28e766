"""Shared fixtures: settings in a temp instance folder, a fresh app per test, clients."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from remotelab.config import Secret, Settings
from tests.support.nats import nats_server  # noqa: F401  (fixture)
from tests.support.postgres import postgres_server  # noqa: F401  (session fixture)
from tests.support.smtp import smtp_server, tls_certificate  # noqa: F401  (fixtures)

SECRET = "test-secret-key-shared-with-the-event-server-0123456789"


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "instance_path": tmp_path / "instance",
        "secret_key": Secret(SECRET),
        "bcrypt_rounds": 4,  # fast hashing in tests; production default is 12
        "load_examples": False,
    }
    values.update(overrides)
    return Settings.from_env({}, **values).with_instance_defaults()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Quart]:
    from remotelab.app import create_app

    application = create_app(settings)
    async with application.test_app() as test_app:
        yield test_app.app  # type: ignore[attr-defined]


@pytest.fixture
def client(app: Quart) -> Client:
    return app.test_client()


Signup = Callable[..., Awaitable[dict[str, str]]]


@pytest.fixture
def signup(app: Quart) -> Signup:
    """Create an account (optionally with a lab role) and return its JWT headers."""

    async def make(
        email: str, password: str = "password123", role: str = "student"
    ) -> dict[str, str]:
        from remotelab.api.context import EXTENSION
        from remotelab.auth.roles import Role

        accounts = app.extensions[EXTENSION].accounts
        await accounts.create_account(email=email, password=password, role=Role(role))
        client = app.test_client()
        response = await client.post("/v1/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, await response.get_data()
        token = (await response.get_json())["access_token"]
        return {"Authorization": f"JWT {token}"}

    return make


def in_ci() -> bool:
    return os.environ.get("CI") == "true"
