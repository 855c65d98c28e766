"""How errors become HTTP answers (remotelab/api/errors.py): statuses of unknown routes."""

from __future__ import annotations

import pytest
from quart.typing import TestClientProtocol as Client


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("path", ["/v1/nothing-here", "/nothing-here", "/auth/nothing", "/"])
async def test_unknown_paths_are_404_whatever_the_method(
    client: Client, method: str, path: str
) -> None:
    response = await client.open(path, method=method)
    assert response.status_code == 404
    body = await response.get_json()
    assert (body["error"], body["code"]) == ("no such route", "not_found")
    assert "Allow" not in response.headers


async def test_a_known_path_with_another_method_is_405_naming_its_methods(
    client: Client,
) -> None:
    response = await client.delete("/v1/functions")
    assert response.status_code == 405
    assert (await response.get_json())["code"] == "method_not_allowed"
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    login = await client.delete("/v1/auth/login")
    assert login.status_code == 405
    assert set(login.headers["Allow"].split(", ")) == {"POST", "OPTIONS"}
