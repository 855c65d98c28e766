"""Generate ``docs/reference/api.md`` from the OpenAPI document.

``python -m remotelab.reference > docs/reference/api.md``; a test keeps the
page in sync with the routes.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

from remotelab.config import Secret, Settings

INTRO = """# HTTP API

Generated from the OpenAPI document (`GET /openapi.json`) by
`python -m remotelab.reference`; do not edit by hand.

Authenticate with `Authorization: JWT <access token>` (or `Bearer <token>`) from
`POST /v1/auth/login`, or with the session cookie that the same login sets in a browser.
Request bodies are JSON (`Content-Type: application/json`; anything else is 415).

Every error has one shape, compatible with the Open Event server's `{"error": ...}`:

```json
{"error": "title: at most 200 characters", "code": "bad_request", "details": {"field": "title"}}
```

| status | when |
| --- | --- |
| 400 | malformed or too deeply nested JSON, wrong types, missing or invalid fields (named); \
a function string that does not parse, or that would hold the device too long |
| 401 | no, expired or revoked token or session; wrong credentials |
| 403 | authenticated but not allowed (e.g. a student publishing) |
| 404 | no such route or resource — also another user's script |
| 409 | conflict (email taken) |
| 413 | body over `REMOTELAB_MAX_REQUEST_BYTES`, script over `REMOTELAB_MAX_SCRIPT_BYTES` |
| 415 | body that is not JSON |
| 422 | a token the event server would also refuse as malformed (bad signature, wrong \
type...); `out_of_range`: the device answered, but what is on the bench is beyond what it \
can measure (a capacitor over about 300 µF), with `details` naming the range |
| 429 | rate limited (`Retry-After` header, `details.retry_after`) |
| 503 | the device or sandbox cannot serve now |
"""


async def openapi_document() -> dict[str, Any]:
    from remotelab.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env(
            {}, instance_path=Path(tmp), secret_key=Secret("docs"), load_examples=False
        )
        app = create_app(settings)
        response = await app.test_client().get("/openapi.json")
        document: dict[str, Any] = await response.get_json()
    return document


def render(document: dict[str, Any]) -> str:
    lines = [INTRO, "## Routes", ""]
    for path in sorted(document["paths"]):
        for method, op in sorted(document["paths"][path].items()):
            summary = (op.get("summary") or "").strip()
            lines.append(f"### `{method.upper()} {path}`")
            lines.append("")
            description = (op.get("description") or "").strip()
            if summary:
                lines.append(summary)
            if description:
                lines += ["", description]
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            ref = body.get("schema", {}).get("$ref")
            if ref:
                lines += ["", f"Body: `{ref.rsplit('/', 1)[-1]}` (see `/openapi.json`)."]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    sys.stdout.write(render(asyncio.run(openapi_document())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
