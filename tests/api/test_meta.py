"""Cross-cutting HTTP behaviour of remotelab/api/meta.py: how request bodies are read."""

from __future__ import annotations

import pytest
from quart import Quart

from tests.conftest import Signup

JSON = {"Content-Type": "application/json"}


def nested(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


@pytest.mark.parametrize("levels", [979, 100_000])
@pytest.mark.parametrize(
    "path",
    ["/v1/users", "/v1/auth/login", "/auth/session", "/v1/auth/reset-password", "/v1/scripts"],
)
async def test_deeply_nested_json_is_a_400(
    app: Quart, signup: Signup, path: str, levels: int
) -> None:
    headers = {**JSON, **await signup("a@example.org")}
    response = await app.test_client().post(path, data=nested(levels), headers=headers)
    assert response.status_code == 400
    body = await response.get_json()
    assert body["error"] == "malformed JSON: nested too deeply"
    assert body["code"] == "bad_request"


async def test_deep_json_on_logout_is_a_400_too(app: Quart, signup: Signup) -> None:
    headers = {**JSON, **await signup("a@example.org")}
    client = app.test_client()
    response = await client.post("/v1/auth/logout", data=nested(5_000), headers=headers)
    assert response.status_code == 400
    assert (await client.get("/v1/users/me", headers=headers)).status_code == 200
