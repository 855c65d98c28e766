"""Typed settings, read once from ``REMOTELAB_*`` environment variables.

Every bound the server enforces is a field here, with a default and a one-line
doc. ``docs/reference/settings.md`` is generated from this module
(``python -m remotelab.config > docs/reference/settings.md``) and a test keeps
the two in sync.

Precedence: explicit overrides (CLI flags) > environment > defaults.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import sys
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from remotelab.errors import InputError

PREFIX = "REMOTELAB_"


class Secret:
    """A string that never shows itself in ``repr`` or logs."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and secrets.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


DeviceKind = Literal["emulator", "pslab", "auto"]
AccountsMode = Literal["standalone", "shared"]


def _setting(default: Any, doc: str, *, group: str = "server") -> Any:
    return field(default=default, metadata={"doc": doc, "group": group})


@dataclass(frozen=True)
class Settings:
    """All settings of one server. Build with :meth:`from_env`."""

    # --- server ---
    instance_path: Path = _setting(
        Path("instance"),
        "Folder for the SQLite file, the generated secret key and the mail outbox.",
    )
    host: str = _setting("127.0.0.1", "Address `remotelab serve` binds to.")
    port: int = _setting(8000, "Port `remotelab serve` listens on.")
    log_level: str = _setting("INFO", "Python logging level name.")
    access_log: bool = _setting(True, "Log every request (Hypercorn's access log, to stdout).")
    webapp_dir: Path | None = _setting(
        None,
        "Folder with the built webapp (default: `webapp/dist` beside the package, if present).",
    )
    max_request_bytes: int = _setting(
        1_048_576, "Largest request body accepted, in bytes; larger bodies get 413."
    )
    # --- storage ---
    database_url: str = _setting(
        "",
        "SQLAlchemy async URL. Empty: SQLite file `remotelab.sqlite3` in the instance folder. "
        "PostgreSQL: `postgresql+asyncpg://user:pass@host/db`.",
        group="storage",
    )
    accounts: AccountsMode = _setting(
        "standalone",
        "`standalone`: the lab owns its `users` table and writes bcrypt hashes. `shared`: the "
        "`users` table belongs to the Open Event server (same database); the lab never creates or "
        "alters it and writes new accounts with the event server's scrypt scheme.",
        group="storage",
    )
    load_examples: bool = _setting(
        True, "Publish the scripts of the examples folder as examples on start.", group="storage"
    )
    sqlite_synchronous: Literal["NORMAL", "FULL", "EXTRA"] = _setting(
        "FULL",
        "SQLite's `PRAGMA synchronous` (ignored on PostgreSQL). `FULL`: the write-ahead log is "
        "synced to disk at every commit, so an acknowledged change survives a power cut or OS "
        "crash. `NORMAL`: faster, but the last commits before one may be lost (the database "
        "stays consistent). `EXTRA`: `FULL` and a directory sync that only rollback journals "
        "need (the lab uses WAL). See ADR 0008.",
        group="storage",
    )
    examples_dir: Path | None = _setting(
        None,
        "Folder of built-in example scripts (default: `examples/` beside the package, if present).",
        group="storage",
    )
    # --- auth ---
    secret_key: Secret = _setting(
        Secret(""),
        "HS256 key for JWTs and cookie sessions. Set it to the Open Event server's `SECRET_KEY` to "
        "share tokens (at least 32 bytes is advised; a shorter key works with a warning). "
        "Empty: generated once and kept in `<instance>/secret_key`.",
        group="auth",
    )
    access_token_seconds: int = _setting(86_400, "Lifetime of an access token.", group="auth")
    access_token_remember_seconds: int = _setting(
        5_400,
        "Lifetime of an access token when logging in with `remember-me` (as the event server).",
        group="auth",
    )
    refresh_token_seconds: int = _setting(
        365 * 86_400, "Lifetime of a refresh token.", group="auth"
    )
    reset_token_seconds: int = _setting(
        3_600, "How long a password-reset token stays valid.", group="auth"
    )
    bcrypt_rounds: int = _setting(
        12, "bcrypt cost factor for accounts the lab creates in standalone mode.", group="auth"
    )
    bcrypt_max_rounds: int = _setting(
        16, "bcrypt cost above which a stored hash is refused instead of computed.", group="auth"
    )
    token_max_chars: int = _setting(
        4_096, "Longest JWT accepted; a longer one is refused (422).", group="auth"
    )
    password_min_length: int = _setting(8, "Shortest password accepted at sign up.", group="auth")
    password_max_length: int = _setting(
        1_024, "Longest password accepted (bounds hashing work).", group="auth"
    )
    login_attempts_per_account: int = _setting(
        5, "Failed logins allowed per account per window before 429.", group="auth"
    )
    login_attempts_per_address: int = _setting(
        30, "Login attempts allowed per client address per window before 429.", group="auth"
    )
    login_window_seconds: int = _setting(
        300, "Window of the login rate limits, in seconds.", group="auth"
    )
    signups_per_address: int = _setting(
        20, "Sign ups allowed per client address per window before 429.", group="auth"
    )
    signup_window_seconds: int = _setting(
        3_600, "Window of the sign-up rate limit, in seconds.", group="auth"
    )
    resets_per_window: int = _setting(
        3, "Password-reset requests per email and per address per sign-up window.", group="auth"
    )
    rate_limit_max_keys: int = _setting(
        100_000, "Keys each rate limiter remembers at most; the stalest is forgotten.", group="auth"
    )
    auth_cache_seconds: float = _setting(
        5.0,
        "How long a user's standing (blocked, deleted, role, token cut-off) is cached. Changes "
        "made through the lab apply at once; changes made directly in a shared event-server "
        "database apply within this time. 0 turns the cache off.",
        group="auth",
    )
    auth_cache_max_users: int = _setting(
        10_000, "Users whose standing is cached at most.", group="auth"
    )
    cookie_secure: bool = _setting(
        False, "Mark the session cookie `Secure` (turn on behind HTTPS).", group="auth"
    )
    cookie_samesite: Literal["Lax", "Strict"] = _setting(
        "Lax", "SameSite attribute of the session cookie.", group="auth"
    )
    cookie_max_age_seconds: int = _setting(
        86_400, "Lifetime of a browser session cookie.", group="auth"
    )
    trust_proxy_headers: bool = _setting(
        False,
        "Take the client address from `X-Forwarded-For` (only behind a proxy you control).",
        group="auth",
    )
    # --- scripts ---
    max_script_bytes: int = _setting(
        65_536, "Largest script source, in bytes (UTF-8).", group="scripts"
    )
    max_title_chars: int = _setting(200, "Longest script title.", group="scripts")
    max_description_chars: int = _setting(4_000, "Longest script description.", group="scripts")
    max_scripts_per_user: int = _setting(
        500, "Scripts one user may keep (not counting deleted ones).", group="scripts"
    )
    page_size_default: int = _setting(
        20, "Items per page when `limit` is not given.", group="scripts"
    )
    page_size_max: int = _setting(100, "Largest `limit` accepted on lists.", group="scripts")
    # --- sandbox ---
    sandbox_wall_seconds: float = _setting(
        10.0, "Wall-clock limit of a script run; the server kills the worker.", group="sandbox"
    )
    sandbox_cpu_seconds: int = _setting(10, "CPU-time limit of a script run.", group="sandbox")
    sandbox_memory_mb: int = _setting(
        512,
        "Address space of a worker in MiB (numpy's own ~150 MiB included).",
        group="sandbox",
    )
    sandbox_stdout_bytes: int = _setting(
        65_536, "Printed text kept per run; more is cut with a marker.", group="sandbox"
    )
    sandbox_max_widgets: int = _setting(200, "Widgets one run may create.", group="sandbox")
    sandbox_max_plot_points: int = _setting(
        100_000, "Points one plot keeps over all series; more are decimated.", group="sandbox"
    )
    sandbox_max_device_calls: int = _setting(
        1_000, "Instrument calls one run may make.", group="sandbox"
    )
    sandbox_max_result_bytes: int = _setting(
        16 * 1024 * 1024, "Largest encoded result a worker may send back.", group="sandbox"
    )
    sandbox_max_open_files: int = _setting(
        16, "File descriptors a worker may hold.", group="sandbox"
    )
    sandbox_nice: int = _setting(
        10,
        "Scheduling niceness of script workers (1-19): the server and the instrument get the "
        "CPU first.",
        group="sandbox",
    )
    sandbox_max_concurrent: int = _setting(
        4, "Script runs executing at once (one worker process each).", group="sandbox"
    )
    sandbox_max_queued: int = _setting(
        32, "Script runs waiting for a worker; more get 429.", group="sandbox"
    )
    script_runs_per_minute: int = _setting(
        30, "Script runs one user may start per minute (then 429).", group="sandbox"
    )
    # --- streaming ---
    stream_max_subscriptions_per_user: int = _setting(
        4, "Live subscriptions one user may hold over all their connections.", group="streaming"
    )
    stream_max_connections_per_user: int = _setting(
        8, "Stream websockets one user may hold open; more are refused (429).", group="streaming"
    )
    stream_max_fps: float = _setting(
        60.0,
        "Frames per second an oscilloscope stream captures at most (0: as fast as the device).",
        group="streaming",
    )
    stream_max_rate_hz: float = _setting(
        20.0, "Highest `rate` a multimeter or logic-analyzer stream may ask for.", group="streaming"
    )
    stream_max_message_bytes: int = _setting(
        4_096, "Longest message a client may send on the stream.", group="streaming"
    )
    stream_max_queued_messages: int = _setting(
        32,
        "Text messages waiting for one client; beyond it the oldest is dropped (frames are "
        "always latest-wins, one per subscription).",
        group="streaming",
    )
    stream_status_seconds: float = _setting(
        1.0, "How often a client gets a `status` message.", group="streaming"
    )
    stream_allowed_origins: str = _setting(
        "",
        "Web origins besides the lab's own whose pages may open `/v1/stream`, comma-separated "
        "(e.g. `https://app.example.org,http://localhost:5173`). The lab's own is the request's "
        "`Host` (without a port in it, any port of that host). A page of any other origin gets "
        "403 before the handshake, so it cannot ride a student's session cookie. Connections "
        "without an `Origin` header (programs with a token) are not affected. Empty: the lab's "
        "own origin only.",
        group="streaming",
    )
    # --- device ---
    device: DeviceKind = _setting(
        "emulator",
        "`emulator` (built-in PSLab emulator), `pslab` (hardware; fails if none) or `auto` "
        "(hardware when found, else the emulator, said in the log and `/v1/device`).",
        group="device",
    )
    device_port: str = _setting(
        "", "Serial port of the PSLab (e.g. `/dev/ttyACM0`). Empty: scan USB ports.", group="device"
    )
    emulator_bench: Path | None = _setting(
        None,
        "TOML file with the emulator's `wiring = [...]`. Empty: the default bench.",
        group="device",
    )
    emulator_realtime: bool = _setting(
        False, "Emulator takes real capture and 1 Mbaud transfer time.", group="device"
    )
    emulator_seed: int | None = _setting(
        None, "Seed of the emulator's noise. Empty: different each start.", group="device"
    )
    emulator_read_timeout: float = _setting(
        0.05,
        "Seconds an emulator read waits for bytes that never come (real-time mode, silent fault).",
        group="device",
    )
    device_queue_max: int = _setting(
        256, "Instrument calls waiting at most, all users together; more get 429.", group="device"
    )
    device_queue_per_user: int = _setting(
        32, "Instrument calls one user may have waiting; more get 429.", group="device"
    )
    device_inflight_per_user: int = _setting(
        2,
        "Requests of one user that use the instrument at the same time; more wait before any "
        "work is done for them, so one user cannot slow the server for everyone.",
        group="device",
    )
    device_call_timeout: float = _setting(
        30.0,
        "Seconds an instrument call may wait in the queue and run (then 503).",
        group="device",
    )
    device_run_timeout: float = _setting(
        20.0,
        "Seconds one call may run on the device before the device counts as hung.",
        group="device",
    )
    device_gil_switch_ms: float = _setting(
        0.5,
        "Longest the event loop holds Python's GIL while the device thread waits for it "
        "(sys.setswitchinterval; Python's default is 5 ms). Shorter lets a capture resume "
        "sooner after its waits while streams are being sent. 0: leave Python's default.",
        group="device",
    )
    device_share_readings: bool = _setting(
        True,
        "Identical shared readings (marked in docs/reference/functions.md) that wait at the "
        "same moment are answered by one measurement. Off: every call measures on its own.",
        group="device",
    )
    device_batch_max: int = _setting(
        8,
        "Queued calls handed to the device thread at once, in fair order (fewer thread "
        "switches under load).",
        group="device",
    )
    device_reconnect_initial: float = _setting(
        0.2,
        "First wait before reconnecting a faulted device, in seconds (doubles each try).",
        group="device",
    )
    device_reconnect_max: float = _setting(
        10.0, "Longest wait between reconnection attempts, in seconds.", group="device"
    )
    # --- function strings ---
    function_calls_per_minute: int = _setting(
        1_200,
        "Function strings one user may run per minute over HTTP (then 429).",
        group="functions",
    )
    function_max_chars: int = _setting(
        1_000, "Longest function string, checked before parsing.", group="functions"
    )
    function_max_nesting: int = _setting(
        8, "Deepest bracket nesting in a function string.", group="functions"
    )
    function_max_wait_seconds: float = _setting(
        10.0, "Largest `timeout`/`interval` argument a function accepts.", group="functions"
    )
    function_max_capture_seconds: float = _setting(
        10.0,
        "Longest oscilloscope capture (samples x timegap) a function accepts.",
        group="functions",
    )
    function_max_average_samples: int = _setting(
        100, "Most readings `get_average_voltage` may average.", group="functions"
    )
    function_max_result_items: int = _setting(
        100_000, "Most values in one function result.", group="functions"
    )
    function_max_result_depth: int = _setting(
        16, "Deepest list nesting in one function result.", group="functions"
    )
    function_max_result_notes: int = _setting(
        10, "Most `inf`/`nan` notes listed for one result.", group="functions"
    )

    # ------------------------------------------------------------------

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read settings from ``environ`` (default ``os.environ``), then apply ``overrides``.

        Overrides whose value is ``None`` are ignored (unset CLI flags).
        Raises :class:`InputError` naming the variable when a value does not parse.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            name = PREFIX + f.name.upper()
            if name in env:
                values[f.name] = _parse(f, env[name], name)
        for key, value in overrides.items():
            if value is None:
                continue
            f = _FIELDS[key]
            values[key] = (
                _parse(f, value, "--" + key.replace("_", "-")) if isinstance(value, str) else value
            )
        return cls(**values)

    def with_instance_defaults(self) -> Settings:
        """Fill what depends on the instance folder: database URL and secret key.

        Creates the instance folder. The generated secret is written once with
        mode 0600 and reused on every later start.
        """
        self.instance_path.mkdir(parents=True, exist_ok=True)
        changes: dict[str, Any] = {}
        if not self.database_url:
            db = (self.instance_path / "remotelab.sqlite3").resolve()
            changes["database_url"] = f"sqlite+aiosqlite:///{db}"
        if not self.secret_key:
            changes["secret_key"] = Secret(_instance_secret(self.instance_path))
        return dataclasses.replace(self, **changes) if changes else self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}


def _instance_secret(instance: Path) -> str:
    path = instance / "secret_key"
    try:
        value = path.read_text().strip()
        if value:
            return value
    except FileNotFoundError:
        pass
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _parse(f: dataclasses.Field[Any], raw: str, source: str) -> Any:
    kind = f.type if isinstance(f.type, str) else str(f.type)
    raw = raw.strip()
    try:
        if kind == "int":
            value: Any = int(raw)
            if value < 0:
                raise ValueError("must not be negative")
            return value
        if kind == "float":
            number = float(raw)
            if not number >= 0 or number == float("inf"):
                raise ValueError("must be a finite number, not negative")
            return number
        if kind == "bool":
            low = raw.lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise ValueError("expected true or false")
        if kind == "Path":
            return Path(raw)
        if kind == "int | None":
            return int(raw) if raw else None
        if kind == "Path | None":
            return Path(raw) if raw else None
        if kind == "Secret":
            return Secret(raw)
        if kind.startswith("Literal[") or kind in ("DeviceKind", "AccountsMode"):
            allowed = _literal_values(f)
            if raw not in allowed:
                raise ValueError("expected one of " + ", ".join(allowed))
            return raw
        return raw
    except ValueError as exc:
        raise InputError(f"{source}={raw!r}: {exc}") from None


def _literal_values(f: dataclasses.Field[Any]) -> list[str]:
    kind = f.type if isinstance(f.type, str) else str(f.type)
    alias = {"DeviceKind": DeviceKind, "AccountsMode": AccountsMode}.get(kind)
    if alias is not None:
        return [str(v) for v in typing.get_args(alias)]
    inner = kind[len("Literal[") : -1]
    return [part.strip().strip("'\"") for part in inner.split(",")]


def _default_text(f: dataclasses.Field[Any]) -> str:
    value = f.default
    if isinstance(value, Secret):
        return "(generated)"
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def settings_markdown() -> str:
    """The settings reference page, generated from :class:`Settings`."""
    lines = [
        "# Settings",
        "",
        "Generated from `remotelab/config.py` by `python -m remotelab.config`;",
        "do not edit by hand.",
        "",
        "Every setting is read from an environment variable `REMOTELAB_<NAME>`.",
        "Command-line flags of `remotelab serve` override them.",
        "Booleans accept `true/false`, `1/0`, `yes/no`, `on/off`.",
        "",
    ]
    group = None
    for f in dataclasses.fields(Settings):
        if f.metadata["group"] != group:
            group = f.metadata["group"]
            lines += [
                "",
                f"## {group}",
                "",
                "| variable | default | meaning |",
                "| --- | --- | --- |",
            ]
        lines.append(f"| `{PREFIX}{f.name.upper()}` | {_default_text(f)} | {f.metadata['doc']} |")
    return "\n".join(lines) + "\n"


def _main(argv: list[str]) -> int:
    sys.stdout.write(settings_markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
