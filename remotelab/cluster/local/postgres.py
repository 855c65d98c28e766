"""A private PostgreSQL server: a real cluster in a temp folder, loopback only.

``make cluster`` runs one for its fronts, and the test suite one per session
(``tests/support/postgres.py`` wraps it in a fixture)::

    with running_postgres() as server:
        url = server.create_database("test_x")   # postgresql+asyncpg://...
        server.psql("SELECT 1", db="test_x")       # as the superuser, via psql

What it does: finds the Debian server binaries (``/usr/lib/postgresql/<version>/bin``),
``initdb`` into a fresh folder under the system temp dir (``--no-sync``; the server runs with
``fsync=off``: nothing here needs to survive a crash), runs ``postgres`` as a child process
(its own process group, ended with its parent: :mod:`.children`) listening on 127.0.0.1 on a
free port and on a unix socket inside that folder, creates the login role ``remotelab``
with a random password (scram-sha-256 over TCP) and its database ``remotelab``. The
superuser ``postgres`` is reachable only through the unix socket (trust; the folder is mode
0700). PostgreSQL refuses to run as root, so under root the server runs as the ``postgres``
system user and the folder is handed to it.

Missing binaries raise :class:`PostgresUnavailable`, whose message says to run
``scripts/ensure-system-packages.sh postgres``.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from remotelab.cluster.local.children import spawn, stop
from remotelab.cluster.local.ports import free_port

PG_ROOT = Path("/usr/lib/postgresql")
SERVER_PROGRAMS = ("initdb", "postgres", "psql")
INSTALL_HINT = (
    "run `bash scripts/ensure-system-packages.sh postgres` (as root, or with password-less "
    "sudo) to install the Debian package postgresql"
)
SUPERUSER = "postgres"
ROLE = "remotelab"
DATABASE = "remotelab"
SYSTEM_USER = "postgres"  # runs the server when the tests run as root
START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 10
PSQL_TIMEOUT_S = 30
START_ATTEMPTS = 3  # the free port can be taken between choosing it and binding it

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_counter = itertools.count(1)


class PostgresUnavailable(RuntimeError):
    """The server binaries are missing, or the server did not start."""


class PsqlError(RuntimeError):
    """``psql`` exited non-zero; the message carries its stderr."""


def find_bin_dir(root: Path = PG_ROOT) -> Path:
    """The ``bin`` folder of the newest PostgreSQL under ``root`` with every server program.

    Raises :class:`PostgresUnavailable` (with the install hint) when there is none.
    """

    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", path.parent.name))

    found = [
        path
        for path in root.glob("*/bin")
        if all(os.access(path / name, os.X_OK) for name in SERVER_PROGRAMS)
    ]
    if not found:
        raise PostgresUnavailable(
            f"PostgreSQL server programs ({', '.join(SERVER_PROGRAMS)}) not found under "
            f"{root}/*/bin: {INSTALL_HINT}"
        )
    return max(found, key=version)


def _clean_env() -> dict[str, str]:
    # A developer's PGHOST/PGPORT/PGUSER/... must not redirect the helpers elsewhere.
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["LC_ALL"] = "C"
    return env


@dataclass
class PostgresServer:
    """A running throwaway cluster. Build with :func:`start_postgres`; end with :meth:`stop`."""

    bin_dir: Path
    base_dir: Path
    port: int
    password: str
    run_as: str | None = None
    host: str = "127.0.0.1"
    user: str = ROLE
    database: str = DATABASE
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _stopped: bool = field(default=False, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base_dir / "socket"

    @property
    def log_path(self) -> Path:
        return self.base_dir / "server.log"

    def url(self, dbname: str = DATABASE) -> str:
        """SQLAlchemy URL of ``dbname`` for the role (``postgresql+asyncpg://``, over TCP)."""
        return f"postgresql+asyncpg://{self.user}:{self.password}@{self.host}:{self.port}/{dbname}"

    def dsn(self, dbname: str = DATABASE) -> str:
        """libpq/asyncpg DSN of ``dbname`` for the role (``asyncpg.connect(dsn)``)."""
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{dbname}"

    def psql(self, sql: str, db: str = DATABASE) -> str:
        """Run ``sql`` (one or more statements) with ``psql`` as the superuser.

        Returns psql's unaligned, tuples-only output (rows on lines, columns joined by ``|``).
        Stops at the first error. Raises :class:`PsqlError` with psql's stderr.
        """
        command = [
            str(self.bin_dir / "psql"),
            "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
            "-h", str(self.socket_dir), "-p", str(self.port), "-U", SUPERUSER, "-d", db,
            "-f", "-",
        ]  # fmt: skip
        done = subprocess.run(
            command,
            input=sql,
            capture_output=True,
            text=True,
            env=_clean_env(),
            timeout=PSQL_TIMEOUT_S,
            check=False,
        )
        if done.returncode != 0:
            raise PsqlError(f"psql on {db!r} failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout

    def create_database(self, name: str) -> str:
        """Create database ``name`` owned by the role; return its :meth:`url`.

        ``name``: lower-case letters, digits and ``_``, starting with a letter or ``_``.
        Raises :class:`ValueError` for another name, :class:`PsqlError` if it exists.
        """
        if not _IDENTIFIER.match(name):
            raise ValueError(f"not a plain database name: {name!r}")
        self.psql(f'CREATE DATABASE "{name}" OWNER "{self.user}"', db="postgres")
        return self.url(name)

    def new_database(self, prefix: str = "test") -> str:
        """Create a database with a fresh name starting with ``prefix``; return the name."""
        name = f"{prefix}_{next(_counter)}_{secrets.token_hex(3)}"
        self.create_database(name)
        return name

    def stop(self) -> None:
        """Stop the server (immediately: nothing is kept) and delete its folder. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        try:
            if self.process is not None:
                # SIGQUIT: PostgreSQL's immediate shutdown.
                stop(self.process, signal.SIGQUIT, STOP_TIMEOUT_S)
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)


def _run_server_program(
    server: PostgresServer, command: list[str]
) -> subprocess.CompletedProcess[str]:
    if server.run_as is not None:
        command = ["runuser", "-u", server.run_as, "--", *command]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=server.base_dir,  # the server user may not be allowed into our cwd
        env=_clean_env(),
        timeout=START_TIMEOUT_S + 10,
        check=False,
    )


def _server_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise PostgresUnavailable(
            f"running as root, but there is no {SYSTEM_USER!r} system user to run PostgreSQL "
            f"as (PostgreSQL refuses root): {INSTALL_HINT}"
        ) from None
    return SYSTEM_USER


def start_postgres() -> PostgresServer:
    """Create and start a throwaway cluster with the role and database ``remotelab``.

    Raises :class:`PostgresUnavailable` when the binaries are missing or the server does not
    start (the message includes the end of the server log).
    """
    bin_dir = find_bin_dir()
    run_as = _server_user()
    # Not pytest's tmp_path: that folder is private to the test user (0700) and too deep for
    # the 107-byte unix socket path limit.
    base_dir = Path(tempfile.mkdtemp(prefix="remotelab-pg-"))
    server = PostgresServer(
        bin_dir=bin_dir, base_dir=base_dir, port=0, password=secrets.token_hex(16), run_as=run_as
    )
    try:
        _init_cluster(server)
        _start(server)
        server.psql(
            f"CREATE ROLE \"{server.user}\" LOGIN CREATEDB PASSWORD '{server.password}';\n"
            f'CREATE DATABASE "{server.database}" OWNER "{server.user}";\n',
            db="postgres",
        )
    except BaseException:
        server.stop()
        raise
    return server


def _init_cluster(server: PostgresServer) -> None:
    server.socket_dir.mkdir()
    if server.run_as is not None:
        record = pwd.getpwnam(server.run_as)
        for path in (server.base_dir, server.socket_dir):
            os.chown(path, record.pw_uid, record.pw_gid)
    done = _run_server_program(
        server,
        [
            str(server.bin_dir / "initdb"),
            "-D", str(server.data_dir),
            "-U", SUPERUSER,
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ],
    )  # fmt: skip
    if done.returncode != 0:
        raise PostgresUnavailable(f"initdb failed ({done.returncode}): {done.stderr.strip()}")


def _start(server: PostgresServer) -> None:
    last_log = ""
    for _ in range(START_ATTEMPTS):
        server.port = free_port()
        options = [
            "-c", "listen_addresses=127.0.0.1",
            "-p", str(server.port),
            "-k", str(server.socket_dir),
            "-c", "unix_socket_permissions=0700",
            "-c", "fsync=off",
            "-c", "synchronous_commit=off",
            "-c", "full_page_writes=off",
            "-c", "max_connections=100",
        ]  # fmt: skip
        process = spawn(
            [str(server.bin_dir / "postgres"), "-D", str(server.data_dir), *options],
            log=server.log_path,
            env=_clean_env(),
            cwd=server.base_dir,  # the server user may not be allowed into our cwd
            user=server.run_as,
        )
        if _wait_ready(server, process):
            server.process = process
            return
        stop(process, signal.SIGQUIT, STOP_TIMEOUT_S)
        with contextlib.suppress(OSError):
            last_log = server.log_path.read_text(errors="replace")[-2000:]
        if "could not bind" not in last_log and "already in use" not in last_log:
            break
    raise PostgresUnavailable(f"PostgreSQL did not start ({server.bin_dir}):\n{last_log}")


def _wait_ready(server: PostgresServer, process: subprocess.Popen[bytes]) -> bool:
    """Whether the server answers a query within ``START_TIMEOUT_S`` (False: it exited or
    did not answer in time)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(PsqlError, subprocess.TimeoutExpired):
            server.psql("SELECT 1", db="postgres")
            return True
        time.sleep(0.05)
    return False


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """:func:`start_postgres` as a context manager that stops the server on exit."""
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()
