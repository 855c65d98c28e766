"""Cross-cutting HTTP behaviour: content types, the health check, the webapp's files."""

from __future__ import annotations

from pathlib import Path

from quart import Blueprint, Quart, Response, jsonify, request, send_from_directory
from werkzeug.exceptions import NotFound, UnsupportedMediaType

from remotelab import __version__

bp = Blueprint("meta", __name__)

BODY_METHODS = {"POST", "PUT", "PATCH"}


def _has_body() -> bool:
    if request.content_length:
        return True
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()


async def require_json() -> None:
    """Bodies must be JSON: 415 otherwise (also keeps cross-site HTML forms out)."""
    if request.method in BODY_METHODS and _has_body() and request.mimetype != "application/json":
        raise UnsupportedMediaType(
            f"expected Content-Type application/json, got {request.mimetype or 'none'}"
        )


@bp.get("/v1/health")
async def health() -> Response:
    """Liveness: answers while the server runs."""
    return jsonify({"status": "ok", "version": __version__})


def install_webapp(app: Quart, folder: Path | None) -> None:
    """Serve the built webapp at ``/`` (single-page app: unknown non-API paths get index.html)."""
    if folder is None or not (folder / "index.html").is_file():

        @app.get("/")
        async def no_webapp() -> Response:
            """Where the webapp would be: names the API entry points until it is built."""
            return jsonify(
                {
                    "name": "remotelab",
                    "version": __version__,
                    "webapp": "not built (run `make webapp`)",
                    "openapi": "/openapi.json",
                }
            )

        return

    root = folder.resolve()

    @app.get("/")
    @app.get("/<path:path>")
    async def webapp(path: str = "index.html") -> Response:
        """The browser app (its files, or index.html for its client-side routes)."""
        if path.startswith(("v1/", "auth/")):
            raise NotFound()
        target = (root / path).resolve()
        if target.is_relative_to(root) and target.is_file():
            return await send_from_directory(root, path)
        return await send_from_directory(root, "index.html")
