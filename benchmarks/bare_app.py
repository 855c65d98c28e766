"""A bare Quart JSON endpoint served like `remotelab serve` (Hypercorn, one worker).

The yardstick for the function endpoint's throughput: same framework, same server, none of
the lab's work (auth, validation, scheduling, the device).
"""

from __future__ import annotations

import asyncio
import sys

from hypercorn.asyncio import serve
from quart import Quart, request

from remotelab.cli import hypercorn_config

app = Quart("bare")


@app.post("/echo")
async def echo() -> dict[str, object]:
    body = await request.get_json()
    return {"function": "echo", "result": 1.234, "notes": [], "elapsed_ms": 0.0, "got": body}


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


def main() -> None:
    access_log = sys.argv[2] == "true" if len(sys.argv) > 2 else True
    config = hypercorn_config("127.0.0.1", int(sys.argv[1]), access_log=access_log)
    asyncio.run(serve(app, config))


if __name__ == "__main__":
    main()
