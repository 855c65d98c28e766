"""Cross-cutting HTTP behaviour: content types, the health check, the webapp's files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from quart import Blueprint, Quart, Request, Response, jsonify, request
from quart.sessions import SessionInterface, SessionMixin
from quart_schema import document_response
from werkzeug.exceptions import BadRequest, NotFound, UnsupportedMediaType
from werkzeug.routing import IntegerConverter, Map

from remotelab import __version__
from remotelab.api.schemas import HealthOut, IndexOut
from remotelab.api.static import StaticFiles, etag_matches
from remotelab.errors import NotFound as NoFile

bp = Blueprint("meta", __name__)

BODY_METHODS = {"POST", "PUT", "PATCH"}
WEBAPP_ENDPOINT = "webapp"  # the catch-all that answers GET on every other path


def _has_body() -> bool:
    if request.content_length:
        return True
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def check_json_type() -> None:
    """Raise 415 unless the body is declared JSON (which also keeps cross-site forms out)."""
    # The common case without werkzeug's header parsing; anything else is parsed.
    if request.headers.get("Content-Type") == "application/json":
        return
    if request.mimetype != "application/json":
        raise UnsupportedMediaType(
            f"expected Content-Type application/json, got {request.mimetype or 'none'}"
        )


async def require_json() -> None:
    """Any body sent to any route must be JSON (routes that take one check it again)."""
    if request.method in BODY_METHODS and _has_body():
        check_json_type()


class LabRequest(Request):
    """Quart's request, with JSON errors that name the problem in production too."""

    def on_json_loading_failed(self, error: Exception) -> Any:
        raise BadRequest(f"malformed JSON: {error}")

    async def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        try:
            return await super().get_json(force=force, silent=silent, cache=cache)
        except UnicodeDecodeError as exc:  # Quart decodes the body outside its JSON try
            if silent:
                return None
            raise BadRequest(
                f"malformed JSON: the body is not UTF-8 ({exc.reason} at byte {exc.start})"
            ) from None
        except RecursionError:
            # Arrays or objects nested deeper than the parser can go (about 950 levels) raise
            # RecursionError, not ValueError, so Quart lets it through. Refused even when
            # `silent`: no route has a use for such a body.
            raise BadRequest("malformed JSON: nested too deeply") from None


class NoSessions(SessionInterface):
    """The lab keeps no Quart session: quart-auth signs its own cookie, and the rest is in
    the database. Quart's default would build an itsdangerous serializer on every request
    just to find no session cookie."""

    async def open_session(self, app: Quart, request: Any) -> SessionMixin | None:
        return None

    async def save_session(self, app: Quart, session: SessionMixin, response: Any) -> None:
        return None


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` limited to what a database integer holds (larger ids: 404, not 500)."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)


@bp.get("/v1/health")
@document_response(HealthOut)
async def health() -> Response:
    """Liveness: answers while the server runs."""
    return jsonify({"status": "ok", "version": __version__})


def skip_conversion_of_responses(app: Quart) -> None:
    """Let finished Responses bypass quart-schema's return-value conversion.

    quart-schema wraps ``app.make_response`` to turn pydantic models and dataclasses into
    JSON; a view that already built its Response (the function-string hot path) gains
    nothing from the type checks on every request.
    """
    converting = app.make_response
    plain = getattr(converting, "__wrapped__", converting)

    async def make_response(result: Any) -> Any:
        if isinstance(result, Response):
            return await plain(result)
        return await converting(result)

    app.make_response = make_response  # type: ignore[method-assign]


def install_webapp(app: Quart, folder: Path | None) -> None:
    """Serve the built webapp at ``/`` (single-page app: unknown non-API paths get index.html).

    Without a build, ``/`` names the API's entry points instead and other paths are 404.
    """
    built = folder is not None and (folder / "index.html").is_file()
    files = StaticFiles(folder) if folder is not None and built else None

    @app.get("/", endpoint=WEBAPP_ENDPOINT)
    @app.get("/<path:path>", endpoint=WEBAPP_ENDPOINT)
    @document_response(IndexOut)  # and the webapp's files when built (see openapi.py)
    async def webapp(path: str = "index.html") -> Response:
        """The browser app: its files, or index.html for its client-side routes."""
        if path.startswith(("v1/", "auth/")):
            raise NotFound()
        if files is None:
            if path != "index.html":
                raise NotFound()
            return jsonify(
                {
                    "name": "remotelab",
                    "version": __version__,
                    "webapp": "not built (run `make webapp`)",
                    "openapi": "/openapi.json",
                }
            )
        target = files.find(path)
        if target is None:
            # A missing file (favicon.ico, an old build's asset) is a 404; any other path is
            # a client route (/verify, /reset-password, ...): the app.
            if "." in path.rpartition("/")[2]:
                raise NoFile(f"no file {path!r} in the browser app")
            target = files.find("index.html")
        if target is None:  # the build was removed while serving
            raise NotFound()
        entry = files.load(target)
        encoding, body = entry.pick(request.headers.get("Accept-Encoding", ""))
        headers = entry.headers(encoding)
        if etag_matches(request.headers.get("If-None-Match", ""), headers["ETag"]):
            return Response(b"", status=304, headers=headers)
        return Response(body, headers=headers)
