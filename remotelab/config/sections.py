"""The sections of the settings tree, one per area, each read where it is used.

``Settings.sandbox`` is handed to the sandbox, ``Settings.streaming`` to the
stream hub, and so on: the code reads its section's fields by the names
declared here, and each name is its variable's (``REMOTELAB_SANDBOX_NICE`` is
``SandboxSettings.nice``). Ranges are checked when a section is built.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from remotelab.config.fields import Secret, Section, parse_bool, setting
from remotelab.errors import ConfigError

MIB = 1024 * 1024

DeviceKind = Literal["emulator", "pslab", "auto"]
AccountsMode = Literal["standalone", "shared"]
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True)
class ServerSettings(Section):
    """The process: where it listens, what it logs, what it serves."""

    instance_path: Path = setting(
        Path("instance"),
        "Folder for the SQLite file, the generated secret key and the mail outbox.",
    )
    host: str = setting("127.0.0.1", "Address `remotelab serve` binds to.")
    port: int = setting(8000, "Port `remotelab serve` listens on (0: any free port).", le=65535)
    workers: int = setting(
        1,
        "Web-front processes `remotelab serve` runs on the port (`--workers`). More than 1 "
        "needs `REMOTELAB_NATS_URL` (device agents on NATS): without it the server owns the "
        "device, which has one owner. See ADR 0019.",
        ge=1,
        le=64,
    )
    log_level: str = setting(
        "INFO", "Python logging level: DEBUG, INFO, WARNING, ERROR or CRITICAL (any case)."
    )
    access_log: bool = setting(True, "Log every request (Hypercorn's access log, to stdout).")
    webapp_dir: Path | None = setting(
        None,
        "Folder with the built webapp (default: `webapp/dist` beside the package, if present).",
    )
    max_request_bytes: int = setting(
        1_048_576, "Largest request body accepted, in bytes; larger bodies get 413.", ge=1
    )

    def check(self) -> None:
        if self.log_level.upper() not in LOG_LEVELS:
            raise ConfigError(
                f"{self.variable('log_level')}={self.log_level!r}: expected one of "
                + ", ".join(LOG_LEVELS)
            )


@dataclass(frozen=True)
class StorageSettings(Section):
    """The database and what is loaded into it at start."""

    database_url: str = setting(
        "",
        "SQLAlchemy async URL. Empty: SQLite file `remotelab.sqlite3` in the instance folder. "
        "PostgreSQL: `postgresql+asyncpg://user:pass@host/db`.",
    )
    accounts: AccountsMode = setting(
        "standalone",
        "`standalone`: the lab owns its `users` table and writes bcrypt hashes. `shared`: the "
        "`users` table belongs to the Open Event server (same database); the lab never creates or "
        "alters it and writes new accounts with the event server's scrypt scheme.",
    )
    load_examples: bool = setting(
        True, "Publish the scripts of the examples folder as examples on start."
    )
    sqlite_synchronous: Literal["NORMAL", "FULL", "EXTRA"] = setting(
        "FULL",
        "SQLite's `PRAGMA synchronous` (ignored on PostgreSQL). `FULL`: the write-ahead log is "
        "synced to disk at every commit, so an acknowledged change survives a power cut or OS "
        "crash. `NORMAL`: faster, but the last commits before one may be lost (the database "
        "stays consistent). `EXTRA`: `FULL` and a directory sync that only rollback journals "
        "need (the lab uses WAL). See ADR 0008.",
    )
    examples_dir: Path | None = setting(
        None,
        "Folder of built-in example scripts (default: `examples/` beside the package, if present).",
    )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@dataclass(frozen=True)
class AuthSettings(Section):
    """Tokens, passwords, cookies and the rate limits on logging in."""

    secret_key: Secret = setting(
        Secret(""),
        "HS256 key for JWTs and cookie sessions. Set it to the Open Event server's `SECRET_KEY` to "
        "share tokens (at least 32 bytes is advised; a shorter key works with a warning). "
        "Empty: generated once and kept in `<instance>/secret_key`.",
    )
    access_token_seconds: int = setting(86_400, "Lifetime of an access token.", ge=1)
    access_token_remember_seconds: int = setting(
        5_400,
        "Lifetime of an access token when logging in with `remember-me` (as the event server).",
        ge=1,
    )
    refresh_token_seconds: int = setting(365 * 86_400, "Lifetime of a refresh token.", ge=1)
    reset_token_seconds: int = setting(3_600, "How long a password-reset token stays valid.", ge=1)
    bcrypt_rounds: int = setting(
        12, "bcrypt cost factor for accounts the lab creates in standalone mode.", ge=4, le=31
    )
    bcrypt_max_rounds: int = setting(
        16, "bcrypt cost above which a stored hash is refused instead of computed.", ge=4, le=31
    )
    token_max_chars: int = setting(
        4_096, "Longest JWT accepted; a longer one is refused (422).", ge=64
    )
    password_min_length: int = setting(8, "Shortest password accepted at sign up.", ge=1)
    password_max_length: int = setting(
        1_024, "Longest password accepted (bounds hashing work).", ge=1
    )
    login_attempts_per_account: int = setting(
        5, "Failed logins allowed per account per window before 429.", ge=1
    )
    login_attempts_per_address: int = setting(
        30, "Login attempts allowed per client address per window before 429.", ge=1
    )
    login_window_seconds: int = setting(300, "Window of the login rate limits, in seconds.", ge=1)
    signups_per_address: int = setting(
        20, "Sign ups allowed per client address per window before 429.", ge=1
    )
    signup_window_seconds: int = setting(
        3_600, "Window of the sign-up rate limit, in seconds.", ge=1
    )
    resets_per_window: int = setting(
        3, "Password-reset requests per email and per address per sign-up window.", ge=1
    )
    rate_limit_max_keys: int = setting(
        100_000, "Keys each rate limiter remembers at most; the stalest is forgotten.", ge=1
    )
    auth_cache_seconds: float = setting(
        5.0,
        "How long a user's standing (blocked, deleted, role, token cut-off) is cached. Changes "
        "made through the lab apply at once; changes made directly in a shared event-server "
        "database apply within this time. 0 turns the cache off.",
    )
    auth_cache_max_users: int = setting(10_000, "Users whose standing is cached at most.", ge=1)
    cookie_secure: bool = setting(False, "Mark the session cookie `Secure` (turn on behind HTTPS).")
    cookie_samesite: Literal["Lax", "Strict"] = setting(
        "Lax", "SameSite attribute of the session cookie."
    )
    cookie_max_age_seconds: int = setting(86_400, "Lifetime of a browser session cookie.", ge=1)
    trust_proxy_headers: bool = setting(
        False, "Take the client address from `X-Forwarded-For` (only behind a proxy you control)."
    )
    require_verified_email: bool = setting(
        False,
        "Refuse logins and requests of accounts whose email is not verified (403) until they "
        "open the link of the verification mail sent at sign up. Off: unverified accounts work.",
    )
    verification_token_seconds: int = setting(
        3 * 86_400, "How long the link of an email-verification mail stays valid.", ge=1
    )
    public_examples: bool = setting(
        False,
        "Let signed-out visitors list, read and run published examples (read-only; runs in the "
        "sandbox, rate limited per address and by `public_runs_per_minute`). Off: examples "
        "need an account.",
    )
    public_runs_per_minute: int = setting(
        60,
        "Example runs all signed-out visitors together may start per minute (then 429), when "
        "`public_examples` is on; each address also has the per-user script-run limit.",
        ge=1,
    )
    verification_resends_per_window: int = setting(
        3,
        "Verification mails one may ask for again, per email and per address per sign-up window "
        "(then 429).",
        ge=1,
    )

    def check(self) -> None:
        if self.password_min_length > self.password_max_length:
            raise ConfigError(
                f"{self.variable('password_min_length')}={self.password_min_length}: must not "
                f"exceed {self.variable('password_max_length')} ({self.password_max_length})"
            )


@dataclass(frozen=True)
class ScriptSettings(Section):
    """Stored scripts and the lists that show them."""

    max_script_bytes: int = setting(
        65_536, "Largest script source, in bytes (UTF-8); checked on save and on run.", ge=1
    )
    max_title_chars: int = setting(200, "Longest script title.", ge=1)
    max_description_chars: int = setting(4_000, "Longest script description.", ge=1)
    max_author_chars: int = setting(
        120, "Longest author name of a published example.", ge=1, le=120
    )
    max_scripts_per_user: int = setting(
        500, "Scripts one user may keep (not counting deleted ones).", ge=1
    )
    page_size_default: int = setting(20, "Items per page when `limit` is not given.", ge=1)
    page_size_max: int = setting(100, "Largest `limit` accepted on lists.", ge=1)
    script_run_history: int = setting(
        10,
        "Runs of each saved script kept for its owner (older ones are deleted); 0 keeps none.",
        le=100,
    )

    def check(self) -> None:
        if self.page_size_default > self.page_size_max:
            raise ConfigError(
                f"{self.variable('page_size_default')}={self.page_size_default}: must not "
                f"exceed {self.variable('page_size_max')} ({self.page_size_max})"
            )


@dataclass(frozen=True)
class SandboxSettings(Section):
    """One script run's bounds, and how many runs go at once."""

    PREFIX = "SANDBOX_"

    wall_seconds: float = setting(
        10.0, "Wall-clock limit of a script run; the server kills the worker.", gt=0
    )
    cpu_seconds: int = setting(10, "CPU-time limit of a script run (RLIMIT_CPU).", ge=1)
    memory_mb: int = setting(
        512, "Address space of a worker in MiB (numpy's own ~150 MiB included).", ge=64
    )
    stdout_bytes: int = setting(
        65_536, "Printed text kept per run; more is cut with a marker.", ge=1
    )
    max_device_calls: int = setting(1_000, "Instrument calls one run may make.", ge=1)
    max_result_bytes: int = setting(
        16 * MIB, "Largest encoded result a worker may send back.", ge=1024
    )
    max_open_files: int = setting(16, "File descriptors a worker may hold.", ge=8)
    nice: int = setting(
        10,
        "Scheduling niceness of script workers: the server and the instrument get the CPU first.",
        ge=1,
        le=19,
    )
    max_concurrent: int = setting(
        4, "Script runs executing at once (one worker process each).", ge=1
    )
    max_queued: int = setting(32, "Script runs waiting for a worker; more get 429.")
    live_interval_ms: int = setting(
        50,
        "A worker sends what its script made (widgets, printed text, the line it is on) at "
        "most this often, plus at once for the first output of a run followed live; a "
        "killed run keeps it.",
        ge=5,
        le=1000,
    )
    spare_workers: int = setting(
        2,
        "Workers forked, isolated and rehearsed ahead of time, waiting for the next runs "
        "(never shared, never reused); they count against `max_concurrent`. 0 forks at "
        "each run.",
        le=8,
    )
    code_cache_bytes: int = setting(
        4 * MIB,
        "Compiled scripts the zygote keeps for the next runs of the same source, in "
        "marshalled bytes (least recently used dropped first; only code, never a run's "
        "data; shared by users who run the same source). 0 keeps none.",
        ge=0,
    )
    script_runs_per_minute: int = setting(
        30,
        "Script runs one user may start per minute (then 429).",
        env="SCRIPT_RUNS_PER_MINUTE",
        ge=1,
    )

    @property
    def memory_bytes(self) -> int:
        return self.memory_mb * MIB


@dataclass(frozen=True)
class WidgetSettings(Section):
    """What one run may put into its widget list."""

    PREFIX = "SANDBOX_"

    max_widgets: int = setting(
        200,
        "Widgets one run may create (a button's automatic label counts; consecutive prints "
        "share one).",
        ge=1,
    )
    max_plot_points: int = setting(
        100_000,
        "Points one plot keeps over all its series; beyond it every series is decimated "
        "evenly, keeping its first and last points.",
        ge=2,
    )
    max_text_chars: int = setting(
        10_000,
        "Characters one print/print_/label widget may show; beyond it the text is cut and "
        'the widget marked `"truncated": true`.',
        ge=1,
    )
    max_series: int = setting(16, "Series one plot (or one `update-plot` stacking) may hold.", ge=1)
    max_name_chars: int = setting(
        100, "Characters in a widget name, target, CSS class or button label.", ge=1
    )

    def check(self) -> None:
        # Decimation keeps at least the first and the last point of every series.
        if self.max_plot_points < 2 * self.max_series:
            raise ConfigError(
                f"{self.variable('max_plot_points')}={self.max_plot_points}: must be at least "
                f"2 x {self.variable('max_series')} ({2 * self.max_series})"
            )


@dataclass(frozen=True)
class StreamSettings(Section):
    """Live streams over the websocket."""

    PREFIX = "STREAM_"

    max_subscriptions_per_user: int = setting(
        4, "Live subscriptions one user may hold over all their connections.", ge=1
    )
    max_connections_per_user: int = setting(
        8, "Stream websockets one user may hold open; more are refused (429).", ge=1
    )
    max_fps: float = setting(
        60.0,
        "Frames per second an oscilloscope stream captures at most (0: as fast as the device). "
        "Over NATS the captures run on the agents: each agent's own setting applies.",
    )
    max_rate_hz: float = setting(
        20.0, "Highest `rate` a multimeter or logic-analyzer stream may ask for.", gt=0
    )
    max_message_bytes: int = setting(
        4_096, "Longest message a client may send on the stream.", ge=256
    )
    max_queued_messages: int = setting(
        32,
        "Text messages waiting for one client; beyond it the oldest is dropped (frames are "
        "always latest-wins, one per subscription).",
        ge=1,
    )
    status_seconds: float = setting(1.0, "How often a client gets a `status` message.", gt=0)
    allowed_origins: str = setting(
        "",
        "Web origins besides the lab's own whose pages may open `/v1/stream`, comma-separated "
        "(e.g. `https://app.example.org,http://localhost:5173`). The lab's own is the request's "
        "`Host` (without a port in it, any port of that host). A page of any other origin gets "
        "403 before the handshake, so it cannot ride a student's session cookie. Connections "
        "without an `Origin` header (programs with a token) are not affected. Empty: the lab's "
        "own origin only.",
    )


@dataclass(frozen=True)
class DeviceSettings(Section):
    """The instrument: which backend, and the fair queue in front of it."""

    PREFIX = "DEVICE_"

    kind: DeviceKind = setting(
        "emulator",
        "`emulator` (built-in PSLab emulator), `pslab` (hardware; fails if none) or `auto` "
        "(hardware when found, else the emulator, said in the log and `/v1/device`).",
        env="DEVICE",
    )
    port: str = setting(
        "", "Serial port of the PSLab (e.g. `/dev/ttyACM0`). Empty: scan USB ports."
    )
    queue_max: int = setting(
        256, "Instrument calls waiting at most, all users together; more get 429.", ge=1
    )
    queue_per_user: int = setting(
        32, "Instrument calls one user may have waiting; more get 429.", ge=1
    )
    inflight_per_user: int = setting(
        2,
        "Requests of one user that use the instrument at the same time; more wait before any "
        "work is done for them, so one user cannot slow the server for everyone.",
        ge=1,
    )
    call_timeout: float = setting(
        30.0, "Seconds an instrument call may wait in the queue and run (then 503).", gt=0
    )
    run_timeout: float = setting(
        20.0, "Seconds one call may run on the device before the device counts as hung.", gt=0
    )
    gil_switch_ms: float = setting(
        0.5,
        "Longest the event loop holds Python's GIL while the device thread waits for it "
        "(sys.setswitchinterval; Python's default is 5 ms). Shorter lets a capture resume "
        "sooner after its waits while streams are being sent. 0: leave Python's default.",
        le=100,
    )
    share_readings: bool = setting(
        True,
        "Identical shared readings (marked in docs/reference/functions.md) that wait at the "
        "same moment are answered by one measurement. Off: every call measures on its own.",
    )
    batch_max: int = setting(
        8,
        "Queued calls handed to the device thread at once, in fair order (fewer thread "
        "switches under load); a batch also stops once its expected device time, at the pace "
        "each function's calls really took lately, reaches one quantum.",
        ge=1,
    )
    quantum_ms: float = setting(
        10.0,
        "Device time each user is granted per round of the fair queue (deficit round robin, "
        "docs/reference/device.md): users with calls waiting share the instrument by the time "
        "their calls take, not by their number.",
        gt=0,
        le=1_000,
    )
    slice_ms: float = setting(
        50.0,
        "Longest piece of a wait for edges or pulses (`get_freq`, `DutyCycle`, `r2r_time`, "
        "logic captures, pulse counting) that holds the device at once; between pieces, other "
        "users' calls run. Bounds how long a short call waits behind someone's long wait.",
        gt=0,
        le=1_000,
    )
    max_call_seconds: float = setting(
        1.0,
        "Longest expected device time of one call (a function string, a script's call or a "
        "stream's capture): its waits, its capture window and its data transfer. A longer call "
        "is refused before it queues (400, naming the parameter to change).",
        gt=0,
    )
    hold_max_seconds: float = setting(
        10.0,
        "Longest a student's script may hold the device (`with hold(seconds):`): meanwhile "
        "only its calls run, in its context; other users' calls wait and their streams pause "
        "(docs/reference/contexts.md). The hold's time is charged to the holder as device "
        "time. 0: no holds.",
        ge=0,
        le=3_600,
    )
    hold_max_seconds_teacher: float = setting(
        60.0,
        "The same bound for teachers' and admins' scripts.",
        ge=0,
        le=3_600,
    )
    reconnect_initial: float = setting(
        0.2,
        "First wait before reconnecting a faulted device, in seconds (doubles each try).",
        gt=0,
    )
    reconnect_max: float = setting(
        10.0, "Longest wait between reconnection attempts, in seconds.", gt=0
    )
    context_idle_seconds: float = setting(
        3600.0,
        "A user's own outputs (their context: docs/reference/contexts.md) are forgotten after "
        "this long without an instrument call; they then see the bench again.",
        gt=0,
    )
    settle_ms_wave: float = setting(
        5.0,
        "After a change of SI1 or SI2 (a context switch or a user's own setting), the device "
        "waits this long before the next call measures.",
        ge=0,
        le=10_000,
    )
    settle_ms_power: float = setting(
        5.0, "The same wait after a change of PV1, PV2, PV3 or PCS.", ge=0, le=10_000
    )
    settle_ms_pwm: float = setting(1.0, "The same wait after a change of SQ1-SQ4.", ge=0, le=10_000)
    settle_ms_range: float = setting(
        0.0, "The same wait after a change of the CH1 or CH2 input range (gain).", ge=0, le=10_000
    )


@dataclass(frozen=True)
class EmulatorSettings(Section):
    """The built-in PSLab emulator (used when the device is `emulator`, or `auto` finds none)."""

    PREFIX = "EMULATOR_"

    bench: Path | None = setting(
        None, "TOML file with the emulator's `wiring = [...]`. Empty: the default bench."
    )
    realtime: bool = setting(False, "Emulator takes real capture and 1 Mbaud transfer time.")
    seed: int | None = setting(
        None, "Seed of the emulator's noise. Empty: different each start.", ge=None
    )
    read_timeout: float = setting(
        0.05,
        "Seconds an emulator read waits for bytes that never come (real-time mode, silent fault).",
        gt=0,
    )
    baudrate: int = setting(
        1_000_000,
        "Modelled serial link speed in real-time mode (bits per second, 10 bits per byte).",
        ge=9600,
    )
    history: int = setting(
        64,
        "Changes remembered per output (and per capacitive node), so that a capture read back "
        "late still sees its whole window.",
        ge=2,
    )
    max_logic_samples: int = setting(
        1_000_000,
        "Most points sampled to find the logic edges of several signals mixed on one input.",
        ge=1000,
    )
    settle_ms_wave: float = setting(
        2.0,
        "Real-time mode: a change of SI1 or SI2 reaches the bench this long after the "
        "command (before that, the old waveform is measured).",
        ge=0,
        le=10_000,
    )
    settle_ms_power: float = setting(
        2.0,
        "Real-time mode: the same delay for PV1, PV2, PV3 and PCS.",
        ge=0,
        le=10_000,
    )
    settle_ms_pwm: float = setting(
        0.5, "Real-time mode: the same delay for SQ1-SQ4.", ge=0, le=10_000
    )


@dataclass(frozen=True)
class FunctionSettings(Section):
    """Function strings: their size, their arguments' bounds and their results' size."""

    PREFIX = "FUNCTION_"

    calls_per_minute: int = setting(
        1_200, "Function strings one user may run per minute over HTTP (then 429).", ge=1
    )
    max_chars: int = setting(1_000, "Longest function string, checked before parsing.", ge=16)
    max_nesting: int = setting(
        8,
        "Deepest bracket nesting in a function string (the call's own parentheses count), "
        "and longest run of consecutive operators.",
        ge=1,
    )
    max_wait_seconds: float = setting(
        10.0, "Largest `timeout`/`interval` argument a function accepts.", gt=0
    )
    max_capture_seconds: float = setting(
        10.0, "Longest oscilloscope capture (samples x timegap) a function accepts.", gt=0
    )
    max_average_samples: int = setting(
        100, "Most readings `get_average_voltage` may average.", ge=1
    )
    max_result_items: int = setting(
        100_000,
        "Most values in one function result (each number, string, list and dict counts one).",
        ge=1,
    )
    max_result_depth: int = setting(16, "Deepest list nesting in one function result.", ge=1)
    max_result_notes: int = setting(
        10, "Most `inf`/`nan` notes listed for one result; the rest are counted.", ge=0
    )


@dataclass(frozen=True)
class SmtpServer:
    """Where and how mail is handed over: from `REMOTELAB_MAIL_URL` or the host fields."""

    host: str
    port: int
    user: str
    password: Secret | None
    tls: bool  # implicit TLS from the first byte (smtps, usually port 465)
    starttls: bool | None  # None: upgrade when the server offers it

    def describe(self) -> str:
        """Where mail goes, for the log: never the password."""
        if self.tls:
            security = "TLS"
        else:
            security = {True: "STARTTLS", False: "no TLS", None: "STARTTLS if offered"}[
                self.starttls
            ]
        who = f" as {self.user}" if self.user else ""
        return f"SMTP {self.host}:{self.port}{who} ({security})"


URL_EXAMPLE = "smtp://user:password@host:587?starttls=true or smtps://user:password@host:465"


@dataclass(frozen=True)
class MailSettings(Section):
    """Mail to users (password-reset and email-verification links): SMTP, or the outbox file."""

    PREFIX = "MAIL_"

    url: Secret | None = setting(
        None,
        "The SMTP server as a URL: `smtp://user:password@host:587?starttls=true`, or "
        "`smtps://...` for TLS from the first byte (port 465). Percent-encode special "
        "characters of the user and password. Instead of the host fields; empty and no "
        "`REMOTELAB_MAIL_HOST`: mail is written to `<instance>/outbox.txt` and the log.",
    )
    host: str = setting("", "SMTP server's host name (instead of `REMOTELAB_MAIL_URL`).")
    port: int = setting(
        0, "SMTP server's port. 0: 465 with TLS, 587 with STARTTLS on, else 25.", le=65535
    )
    user: str = setting("", "User name to log in to the SMTP server with (empty: no login).")
    password: Secret | None = setting(None, "Password for `REMOTELAB_MAIL_USER`.")
    starttls: bool | None = setting(
        None,
        "Upgrade the connection with STARTTLS. true: required (fails if not offered); false: "
        "never; empty: when the server offers it.",
    )
    tls: bool = setting(
        False, "TLS from the first byte (SMTPS, usually port 465) instead of STARTTLS."
    )
    verify_tls: bool = setting(
        True,
        "Check the SMTP server's certificate and host name. Turn off only to test against a "
        "server whose certificate cannot be checked; prefer `REMOTELAB_MAIL_CA_FILE`.",
    )
    ca_file: Path | None = setting(
        None,
        "PEM file of the certificate authorities (or the self-signed certificate) to trust for "
        "the SMTP server. Empty: the system's.",
    )
    timeout_seconds: float = setting(
        30.0, "Longest wait for the SMTP server to connect or answer one command.", gt=0
    )
    sender: str = setting(
        "",
        "From address of the mails (e.g. `lab@example.org`). Empty: the SMTP user when it is an "
        "address; one of the two is needed for SMTP.",
    )
    sender_name: str = setting("", "Name shown with the From address. Empty: the lab's name.")
    lab_name: str = setting("remotelab", "The lab's name, in subjects and texts of the mails.")
    base_url: str = setting(
        "",
        "Public address of the lab that links in mails start with (e.g. "
        "`https://lab.example.org`). Empty: the address the request came to (its Host header; "
        "set this in production).",
    )
    attempts: int = setting(
        5,
        "Tries to deliver one mail (the first included) when the server is unreachable or "
        "answers a temporary error (4xx); then it is given up and logged.",
        ge=1,
        le=100,
    )
    backoff_seconds: float = setting(
        5.0, "Wait before the second try; it doubles for each further try.", gt=0
    )
    backoff_max_seconds: float = setting(300.0, "Longest wait between two tries.", gt=0)
    stop_seconds: float = setting(
        5.0,
        "At stop, how long the server waits for mail still being delivered or waiting for its "
        "next try (which then comes at once); what is left is dropped and logged. Hypercorn's "
        "graceful shutdown plus this must stay below the unit's `TimeoutStopSec`.",
    )
    queue_max: int = setting(
        1_000, "Mails waiting for delivery at most; more are dropped and logged.", ge=1
    )

    def check(self) -> None:
        if self.url:
            # The URL says it all: a field beside it would be silently ignored.
            beside = [
                self.variable(name)
                for name, unset in (
                    ("host", ""),
                    ("port", 0),
                    ("user", ""),
                    ("password", None),
                    ("starttls", None),
                    ("tls", False),
                )
                if getattr(self, name) != unset
            ]
            if beside:
                raise ConfigError(
                    f"{self.variable('url')} and {', '.join(beside)} are both set: the URL "
                    "gives the server, its port, user, password and TLS; set one or the other"
                )
        if self.tls and self.starttls:
            raise ConfigError(
                f"{self.variable('tls')}=true and {self.variable('starttls')}=true: TLS from the "
                "first byte and STARTTLS exclude each other"
            )
        for name in ("sender", "sender_name", "lab_name", "host", "user"):
            value = getattr(self, name)
            if any(ord(c) < 32 or ord(c) == 127 for c in value):
                raise ConfigError(
                    f"{self.variable(name)}={value!r}: must not hold control characters"
                )
        if self.sender and "@" not in self.sender[1:-1]:
            raise ConfigError(f"{self.variable('sender')}={self.sender!r}: not an email address")
        if self.base_url and not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"{self.variable('base_url')}={self.base_url!r}: expected an http:// or https:// "
                "address"
            )
        if self.backoff_max_seconds < self.backoff_seconds:
            raise ConfigError(
                f"{self.variable('backoff_max_seconds')}={self.backoff_max_seconds}: must not be "
                f"less than {self.variable('backoff_seconds')} ({self.backoff_seconds})"
            )
        server = self.smtp()
        if server is not None and not self.from_address:
            raise ConfigError(
                f"{self.variable('sender')} is empty: mail through SMTP needs a From address "
                "(or a user name that is an address)"
            )

    @property
    def from_address(self) -> str:
        """The From address: the sender, else the SMTP user when it is an address."""
        if self.sender:
            return self.sender
        server = self.smtp()
        user = server.user if server is not None else self.user
        return user if "@" in user else ""

    @property
    def links_base(self) -> str:
        return self.base_url.rstrip("/")

    def smtp(self) -> SmtpServer | None:
        """The SMTP server to use, or None: mail goes to the outbox file."""
        if self.url:
            return self._from_url(self.url.reveal())
        if not self.host:
            return None
        return SmtpServer(
            host=self.host,
            port=self.port or _default_port(self.tls, self.starttls),
            user=self.user,
            password=self.password,
            tls=self.tls,
            starttls=None if self.tls else self.starttls,
        )

    def _from_url(self, raw: str) -> SmtpServer:
        # The URL holds a password: messages name the problem, never the text.
        var = self.variable("url")
        try:
            parts = urllib.parse.urlsplit(raw.strip())
            port = parts.port
        except ValueError:
            raise ConfigError(f"{var}: not a valid URL (expected {URL_EXAMPLE})") from None
        if parts.scheme not in ("smtp", "smtps"):
            raise ConfigError(
                f"{var}: the scheme must be smtp or smtps, not {parts.scheme or 'none'!r} "
                f"(expected {URL_EXAMPLE})"
            )
        if not parts.hostname:
            raise ConfigError(f"{var}: no host (expected {URL_EXAMPLE})")
        if parts.path not in ("", "/"):
            raise ConfigError(f"{var}: a path is not allowed (expected {URL_EXAMPLE})")
        query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
        unknown = sorted(set(query) - {"starttls"})
        if unknown:
            raise ConfigError(f"{var}: unknown option {', '.join(unknown)} (allowed: starttls)")
        tls = parts.scheme == "smtps"
        starttls: bool | None = None
        if "starttls" in query:
            try:
                starttls = parse_bool(query["starttls"][-1])
            except ValueError:
                raise ConfigError(f"{var}: starttls must be true or false") from None
        if tls and starttls:
            raise ConfigError(f"{var}: smtps (TLS from the first byte) excludes starttls=true")
        password = parts.password
        return SmtpServer(
            host=parts.hostname,
            port=port or _default_port(tls, starttls),
            user=urllib.parse.unquote(parts.username or ""),
            password=Secret(urllib.parse.unquote(password)) if password is not None else None,
            tls=tls,
            starttls=None if tls else starttls,
        )


def _default_port(tls: bool, starttls: bool | None) -> int:
    if tls:
        return 465
    return 587 if starttls else 25


@dataclass(frozen=True)
class NatsSettings(Section):
    """Scale-out: web fronts and device agents over NATS (docs/reference/deploy.md).

    With no URL the lab runs in one process, the device in it (the embedded default).
    """

    PREFIX = "NATS_"

    url: str = setting(
        "",
        "The NATS server, e.g. `nats://127.0.0.1:4222` (comma-separated for a cluster). Set: "
        "`remotelab serve` opens no device and sends every call to a `remotelab agent` "
        "through NATS; `remotelab agent` needs it. Empty: the embedded default, the device in "
        "the server's own process.",
    )
    user: str = setting("", "User name to log in to NATS with (empty: no user/password).")
    password: Secret | None = setting(None, "Password for `REMOTELAB_NATS_USER`.")
    creds_file: Path | None = setting(
        None, "A NATS credentials file (JWT and NKey seed) instead of a user and password."
    )
    agent_name: str = setting(
        "",
        "The name an agent registers its device under (letters, digits, `-` and `_`; "
        "`remotelab agent --name` wins). Empty: the host's name.",
    )
    experiment: str = setting(
        "",
        "The experiment a user's calls go to until they choose one (`PUT /v1/experiment`): "
        "its least busy device. Empty: the least busy device of any experiment.",
    )
    heartbeat_seconds: float = setting(
        1.0,
        "How often an agent renews its entry in the device registry; an entry not renewed for "
        "3 heartbeats expires (the agent is gone).",
        gt=0,
    )
    connect_timeout_seconds: float = setting(
        2.0, "How long one try to connect to NATS may take.", gt=0
    )
    drain_seconds: float = setting(
        10.0,
        "On SIGTERM, how long an agent waits for the call running to finish before it stops.",
        gt=0,
    )

    def check(self) -> None:
        if self.agent_name and not AGENT_NAME.fullmatch(self.agent_name):
            raise ConfigError(
                f"{self.variable('agent_name')}={self.agent_name!r}: use letters, digits, "
                "'-' and '_' (at most 64)"
            )
        if self.password is not None and not self.user:
            raise ConfigError(
                f"{self.variable('password')} is set but {self.variable('user')} is empty"
            )


#: What an agent's name may be (a NATS subject token and a key-value key).
AGENT_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
