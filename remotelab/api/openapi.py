"""The OpenAPI document: quart-schema's, plus the error shape on every operation."""

from __future__ import annotations

from typing import Any

from quart_schema import OpenAPIProvider

from remotelab.api.schemas import ErrorOut

# Routes that need no login (security: [] in the document).
PUBLIC = {
    ("get", "/"),
    ("get", "/v1/health"),
    ("get", "/{path}"),
    ("get", "/v1/functions"),
    ("post", "/v1/users"),
    ("post", "/v1/auth/login"),
    ("post", "/auth/session"),
    ("post", "/v1/auth/token/refresh"),
    ("post", "/v1/auth/reset-password"),
    ("patch", "/v1/auth/reset-password"),
    ("post", "/v1/auth/verify-email"),
    ("post", "/v1/auth/resend-verification"),
    ("post", "/v1/auth/resend-verification-email"),
}

# The webapp's catch-all: JSON (IndexOut) without a build, the built files with one.
WEBAPP_PATHS = {"/", "/{path}"}
WEBAPP_FILES = {
    "schema": {
        "type": "string",
        "format": "binary",
        "description": "A file of the built webapp (index.html for its client-side routes), "
        "compressed as `Accept-Encoding` allows (`br`, `gzip`); files under /assets/ are "
        "cached for a year (`immutable`), the others revalidated (`no-cache`, `ETag`; 304 "
        "when unchanged).",
    }
}


class LabOpenAPIProvider(OpenAPIProvider):
    def schema(self) -> dict[str, Any]:
        document: dict[str, Any] = super().schema()
        components = document["components"]["schemas"]
        components["ErrorOut"] = ErrorOut.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        error = {
            "description": "An error: 4xx for the caller's problems, 503 when the device or "
            "sandbox cannot serve (see the status table in docs/reference/api.md).",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
        }
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                # Status keys as strings (OpenAPI's form; JSON sorting cannot mix int and str).
                responses = {
                    str(code): value for code, value in operation.get("responses", {}).items()
                }
                operation["responses"] = responses
                # Every response has a schema but a 204's, which has no body (the
                # websocket /v1/stream is no OpenAPI operation: docs/reference/streaming.md).
                if not any(code.startswith("2") for code in responses):
                    if method != "delete":
                        raise RuntimeError(f"{method.upper()} {path}: no documented response")
                    responses["204"] = {"description": "Done, no body"}
                if path in WEBAPP_PATHS and "200" in responses:
                    responses["200"].setdefault("content", {})["*/*"] = WEBAPP_FILES
                responses["default"] = error
                if (method, path) in PUBLIC:
                    operation["security"] = []
        return document
