"""The README's example script runs, and does what its comments say."""

from __future__ import annotations

import re
from pathlib import Path

from quart.typing import TestClientProtocol as Client

from tests.conftest import Signup

README = Path(__file__).resolve().parent.parent / "README.md"


async def test_the_readme_script_runs(client: Client, signup: Signup) -> None:
    match = re.search(r"```python\n(.*?)```", README.read_text(), re.S)
    assert match is not None
    headers = await signup("reader@example.org")
    response = await client.post("/v1/run", headers=headers, json={"code": match.group(1)})
    body = await response.get_json()
    assert body["status"] == "ok", body["error"]
    texts = [w["value"][0] for w in body["widgets"] if w["type"] == "text"]
    assert texts[0].startswith("peak to peak: ")
    assert 1.0 < float(texts[0].split()[-2]) < 7.0
    assert texts[-1] == "strongest frequency: 1000 Hz"
    kinds = [w["type"] for w in body["widgets"]]
    assert kinds.count("button") == 4
    assert kinds.count("plot") == 1
    capture = next(w for w in body["widgets"] if w["type"] == "button")
    assert capture["action"]["success"] == {
        "datapoint": "result",
        "type": "update-plot",
        "target": "scope",
        "stacking": "xy",
    }
