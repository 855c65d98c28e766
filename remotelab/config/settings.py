"""The settings tree: one :class:`Settings` of sections, read once from the environment."""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from remotelab.config import sections as s
from remotelab.config.fields import PREFIX, Secret, Section, Spec, parse
from remotelab.errors import ConfigError


@dataclass(frozen=True)
class Settings:
    """All settings of one server, by area. Build with :meth:`from_env`.

    Precedence: explicit overrides (CLI flags, tests) > environment > defaults.
    """

    server: s.ServerSettings = field(default_factory=s.ServerSettings)
    storage: s.StorageSettings = field(default_factory=s.StorageSettings)
    auth: s.AuthSettings = field(default_factory=s.AuthSettings)
    scripts: s.ScriptSettings = field(default_factory=s.ScriptSettings)
    sandbox: s.SandboxSettings = field(default_factory=s.SandboxSettings)
    widgets: s.WidgetSettings = field(default_factory=s.WidgetSettings)
    streaming: s.StreamSettings = field(default_factory=s.StreamSettings)
    device: s.DeviceSettings = field(default_factory=s.DeviceSettings)
    emulator: s.EmulatorSettings = field(default_factory=s.EmulatorSettings)
    functions: s.FunctionSettings = field(default_factory=s.FunctionSettings)
    mail: s.MailSettings = field(default_factory=s.MailSettings)
    nats: s.NatsSettings = field(default_factory=s.NatsSettings)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read every section from ``environ`` (default ``os.environ``), then apply ``overrides``.

        An override is named by its variable without ``REMOTELAB_``, in lower case
        (``port=9000``, ``sandbox_nice=5``); a text value is parsed like the
        variable's, any other value is taken as is; ``None`` is ignored (an unset
        CLI flag). Raises :class:`~remotelab.errors.ConfigError` naming the
        variable when a value does not parse or is out of range, and
        :class:`TypeError` for an override that names no setting.
        """
        env = os.environ if environ is None else environ
        values: dict[str, dict[str, Any]] = {name: {} for name, _ in sections()}
        for name, section in sections():
            for spec in section.specs():
                if spec.variable in env:
                    values[name][spec.name] = parse(spec, env[spec.variable])
        index = override_index()
        for key, value in overrides.items():
            if value is None:
                continue
            if key not in index:
                raise TypeError(f"no setting is named {key!r}")
            name, spec = index[key]
            values[name][spec.name] = parse(spec, value) if isinstance(value, str) else value
        built: dict[str, Any] = {name: section(**values[name]) for name, section in sections()}
        return cls(**built)

    def with_instance_defaults(self) -> Settings:
        """Fill what depends on the instance folder: database URL and secret key.

        Creates the instance folder. The generated secret is written once with
        mode 0600 and reused on every later start.
        """
        instance = self.server.instance_path
        instance.mkdir(parents=True, exist_ok=True)
        storage, auth = self.storage, self.auth
        if not storage.database_url:
            db = (instance / "remotelab.sqlite3").resolve()
            storage = dataclasses.replace(storage, database_url=f"sqlite+aiosqlite:///{db}")
        if not auth.secret_key:
            auth = dataclasses.replace(auth, secret_key=Secret(_instance_secret(instance)))
        return dataclasses.replace(self, storage=storage, auth=auth)


def sections() -> Iterator[tuple[str, type[Section]]]:
    """Each section's attribute name on :class:`Settings` and its class, in order."""
    for f in dataclasses.fields(Settings):
        yield f.name, f.default_factory  # type: ignore[misc]


def override_index() -> dict[str, tuple[str, Spec]]:
    """Override keys (variable names without the prefix, lower case) -> section and field."""
    return {
        spec.variable.removeprefix(PREFIX).lower(): (name, spec)
        for name, section in sections()
        for spec in section.specs()
    }


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """``REMOTELAB_*`` variables in ``environ`` that name no setting (typos, old names)."""
    known = {spec.variable for _, section in sections() for spec in section.specs()}
    return sorted(k for k in environ if k.startswith(PREFIX) and k not in known)


def _instance_secret(instance: Path) -> str:
    """The instance's generated secret: read, or written once (the first writer wins).

    Written to a temporary file and linked into place, which fails when another process
    got there first: every process then uses the one key that is on disk.
    """
    path = instance / "secret_key"
    for _ in range(2):
        try:
            value = path.read_text().strip()
            if value:
                return value
        except FileNotFoundError:
            pass
        temporary = instance / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process wrote it: read theirs
        finally:
            temporary.unlink()
    raise ConfigError(f"{path} is empty: delete it, and a new secret key is generated")
