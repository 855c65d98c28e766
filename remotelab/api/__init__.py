"""The HTTP and websocket layer: the only package that imports quart."""

from __future__ import annotations

from quart import Quart

from remotelab.api import auth, device, errors, meta, runs, scripts, stream


def register(app: Quart) -> None:
    """Attach every blueprint, the error handlers and the request checks to ``app``."""
    app.request_class = meta.LabRequest
    app.session_interface = meta.NoSessions()  # type: ignore[assignment]
    app.url_map.converters["int"] = meta.BoundedIntConverter
    app.before_request(meta.require_json)
    app.register_blueprint(meta.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(scripts.bp)
    app.register_blueprint(device.bp)
    app.register_blueprint(runs.bp)
    app.register_blueprint(stream.bp)
    errors.install(app)
    stream.refuse_compression()
