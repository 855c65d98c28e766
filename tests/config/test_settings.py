from __future__ import annotations

import dataclasses
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from remotelab.config import (
    DeviceSettings,
    SandboxSettings,
    Secret,
    Settings,
    StreamSettings,
    WidgetSettings,
    unknown_variables,
)
from remotelab.config.reference import COMMAND, settings_markdown
from remotelab.config.settings import override_index, sections
from remotelab.errors import ConfigError, InputError

ROOT = Path(__file__).resolve().parent.parent.parent


def test_defaults_need_no_environment() -> None:
    s = Settings.from_env({})
    assert s.server.port == 8000
    assert s.server.host == "127.0.0.1"
    assert s.device.kind == "emulator"
    assert s.storage.accounts == "standalone"
    assert s.sandbox.nice == 10
    assert s.storage.sqlite_synchronous == "FULL"
    assert s == Settings()


def test_environment_is_parsed_and_typed() -> None:
    s = Settings.from_env(
        {
            "REMOTELAB_PORT": "9001",
            "REMOTELAB_COOKIE_SECURE": "yes",
            "REMOTELAB_DEVICE": "auto",
            "REMOTELAB_INSTANCE_PATH": "/tmp/x",
            "REMOTELAB_SECRET_KEY": "k" * 40,
            "REMOTELAB_SANDBOX_WALL_SECONDS": "2.5",
            "REMOTELAB_SANDBOX_MAX_PLOT_POINTS": "500",
            "REMOTELAB_STREAM_STATUS_SECONDS": "0.5",
            "REMOTELAB_SCRIPT_RUNS_PER_MINUTE": "7",
            "REMOTELAB_EMULATOR_SEED": "",
        }
    )
    assert s.server.port == 9001
    assert s.auth.cookie_secure is True
    assert s.device.kind == "auto"
    assert s.server.instance_path == Path("/tmp/x")
    assert s.auth.secret_key.reveal() == "k" * 40
    assert s.sandbox.wall_seconds == 2.5
    assert s.widgets.max_plot_points == 500
    assert s.streaming.status_seconds == 0.5
    assert s.sandbox.script_runs_per_minute == 7
    assert s.emulator.seed is None


def test_every_variable_keeps_its_name_and_names_one_field() -> None:
    # The variables a deployment sets never change name; the field is the variable's
    # name less its section's prefix, save for the few that predate the sections.
    variables = [spec.variable for _, section in sections() for spec in section.specs()]
    assert len(variables) == len(set(variables))
    assert {
        "REMOTELAB_DEVICE",
        "REMOTELAB_SANDBOX_NICE",
        "REMOTELAB_SANDBOX_MAX_WIDGETS",
        "REMOTELAB_SCRIPT_RUNS_PER_MINUTE",
        "REMOTELAB_STREAM_STATUS_SECONDS",
        "REMOTELAB_FUNCTION_MAX_CHARS",
        "REMOTELAB_EMULATOR_READ_TIMEOUT",
        "REMOTELAB_DEVICE_QUEUE_MAX",
    } <= set(variables)
    assert SandboxSettings.variable("nice") == "REMOTELAB_SANDBOX_NICE"
    assert DeviceSettings.variable("kind") == "REMOTELAB_DEVICE"
    assert WidgetSettings.variable("max_plot_points") == "REMOTELAB_SANDBOX_MAX_PLOT_POINTS"


def test_overrides_beat_environment_and_none_is_ignored() -> None:
    s = Settings.from_env({"REMOTELAB_PORT": "9001"}, port=9002, host=None)
    assert s.server.port == 9002
    assert s.server.host == "127.0.0.1"
    assert Settings.from_env({}, sandbox_nice="3").sandbox.nice == 3
    assert set(override_index()) >= {"port", "sandbox_nice", "device", "stream_max_fps"}


def test_an_override_that_names_no_setting_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match="no setting is named 'prot'"):
        Settings.from_env({}, prot=1)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("REMOTELAB_PORT", "eighty", "REMOTELAB_PORT='eighty': expected a whole number"),
        ("REMOTELAB_PORT", "-1", "REMOTELAB_PORT=-1: must be between 0 and 65535"),
        ("REMOTELAB_PORT", "70000", "REMOTELAB_PORT=70000: must be between 0 and 65535"),
        ("REMOTELAB_SANDBOX_NICE", "40", "REMOTELAB_SANDBOX_NICE=40: must be between 1 and 19"),
        ("REMOTELAB_SANDBOX_NICE", "0", "REMOTELAB_SANDBOX_NICE=0: must be between 1 and 19"),
        ("REMOTELAB_SANDBOX_WALL_SECONDS", "0", "must be more than 0"),
        ("REMOTELAB_SANDBOX_WALL_SECONDS", "inf", "must be a finite number"),
        ("REMOTELAB_SANDBOX_WALL_SECONDS", "nan", "must be a finite number"),
        ("REMOTELAB_STREAM_MAX_FPS", "fast", "REMOTELAB_STREAM_MAX_FPS='fast': expected a number"),
        ("REMOTELAB_COOKIE_SECURE", "maybe", "expected true or false"),
        ("REMOTELAB_DEVICE", "arduino", "expected one of emulator, pslab, auto"),
        ("REMOTELAB_ACCOUNTS", "both", "expected one of standalone, shared"),
        ("REMOTELAB_COOKIE_SAMESITE", "None", "expected one of Lax, Strict"),
        ("REMOTELAB_SQLITE_SYNCHRONOUS", "OFF", "expected one of NORMAL, FULL, EXTRA"),
        ("REMOTELAB_LOG_LEVEL", "loud", "expected one of DEBUG, INFO"),
        ("REMOTELAB_BCRYPT_ROUNDS", "3", "REMOTELAB_BCRYPT_ROUNDS=3: must be between 4 and 31"),
    ],
)
def test_bad_values_name_the_variable_the_value_and_what_is_allowed(
    name: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({name: value})
    assert message in info.value.message
    assert info.value.message.startswith(name + "=")
    assert "\n" not in info.value.message
    # A configuration error is not a client's bad request (it never becomes a 400).
    assert not isinstance(info.value, InputError)


def test_sections_check_themselves_when_built_in_code() -> None:
    with pytest.raises(ConfigError, match="REMOTELAB_SANDBOX_NICE=40: must be between 1 and 19"):
        SandboxSettings(nice=40)
    with pytest.raises(ConfigError, match="REMOTELAB_STREAM_MAX_FPS=True: expected a number"):
        StreamSettings(max_fps=True)
    with pytest.raises(ConfigError, match="REMOTELAB_DEVICE_QUEUE_MAX='9': expected a whole"):
        DeviceSettings(queue_max="9")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"REMOTELAB_SANDBOX_MAX_PLOT_POINTS": "20"},
            "REMOTELAB_SANDBOX_MAX_PLOT_POINTS=20: must be at least 2 x "
            "REMOTELAB_SANDBOX_MAX_SERIES (32)",
        ),
        (
            {"REMOTELAB_PAGE_SIZE_DEFAULT": "500"},
            "REMOTELAB_PAGE_SIZE_DEFAULT=500: must not exceed REMOTELAB_PAGE_SIZE_MAX (100)",
        ),
        (
            {"REMOTELAB_PASSWORD_MIN_LENGTH": "2000"},
            "REMOTELAB_PASSWORD_MIN_LENGTH=2000: must not exceed",
        ),
    ],
)
def test_rules_between_settings_name_both(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(environ)
    assert message in info.value.message


def test_unknown_variables_are_found() -> None:
    environ = {"REMOTELAB_SANDBOX_NCE": "4", "REMOTELAB_PORT": "1", "HOME": "/"}
    assert unknown_variables(environ) == ["REMOTELAB_SANDBOX_NCE"]


def test_secret_never_shows() -> None:
    s = Settings.from_env({"REMOTELAB_SECRET_KEY": "hunter2-very-secret"})
    assert "hunter2" not in repr(s)
    assert "hunter2" not in str(s.auth.secret_key)
    assert s.auth.secret_key == Secret("hunter2-very-secret")


def test_generated_secret_is_kept_private_and_reused(tmp_path: Path) -> None:
    first = Settings.from_env({}, instance_path=tmp_path / "inst").with_instance_defaults()
    second = Settings.from_env({}, instance_path=tmp_path / "inst").with_instance_defaults()
    key_file = tmp_path / "inst" / "secret_key"
    assert first.auth.secret_key.reveal() == second.auth.secret_key.reveal()
    assert len(first.auth.secret_key.reveal()) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert (
        first.storage.database_url
        == f"sqlite+aiosqlite:///{(tmp_path / 'inst').resolve()}/remotelab.sqlite3"
    )
    assert first.storage.is_sqlite


GENERATE = """
import pathlib, sys, time
from remotelab.config import Settings
go = pathlib.Path(sys.argv[1]) / "go"
while not go.exists():
    time.sleep(0.001)
s = Settings.from_env({}, instance_path=pathlib.Path(sys.argv[1]) / "inst")
print(s.with_instance_defaults().auth.secret_key.reveal())
"""


def test_processes_starting_together_all_take_the_one_generated_secret(tmp_path: Path) -> None:
    # `remotelab serve` on several ports or by several workers on one instance folder: two
    # generated keys would make one process refuse the tokens of another.
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", GENERATE, str(tmp_path)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(8)
    ]
    time.sleep(1.0)  # all of them waiting for the same moment
    (tmp_path / "go").touch()
    keys = {p.communicate(timeout=60)[0].strip() for p in processes}
    assert keys == {(tmp_path / "inst" / "secret_key").read_text().strip()}
    assert sorted(p.name for p in (tmp_path / "inst").iterdir()) == ["secret_key"]


def test_an_empty_secret_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "inst").mkdir()
    (tmp_path / "inst" / "secret_key").write_text("\n")
    with pytest.raises(ConfigError, match=r"secret_key is empty: delete it"):
        Settings.from_env({}, instance_path=tmp_path / "inst").with_instance_defaults()


def test_explicit_secret_is_not_written(tmp_path: Path) -> None:
    Settings.from_env(
        {"REMOTELAB_SECRET_KEY": "given"}, instance_path=tmp_path / "i"
    ).with_instance_defaults()
    assert not (tmp_path / "i" / "secret_key").exists()


def test_sections_are_frozen() -> None:
    s = Settings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.sandbox.nice = 3  # type: ignore[misc]


def test_settings_reference_is_in_sync() -> None:
    doc = (ROOT / "docs" / "reference" / "settings.md").read_text()
    assert doc == settings_markdown(), f"run: {COMMAND} (or make docs)"


def test_mail_goes_to_the_outbox_unless_a_server_is_set() -> None:
    assert Settings().mail.smtp() is None


def test_mail_url_gives_the_server_and_hides_its_password() -> None:
    mail = Settings.from_env(
        {
            "REMOTELAB_MAIL_URL": "smtp://lab%40example.org:p%3Ass%2Fword@mail.example.org?starttls=true"
        }
    ).mail
    server = mail.smtp()
    assert server is not None
    assert (server.host, server.port, server.user) == ("mail.example.org", 587, "lab@example.org")
    assert server.password == Secret("p:ss/word")
    assert (server.tls, server.starttls) == (False, True)
    assert mail.from_address == "lab@example.org"
    for shown in (repr(mail), str(mail), repr(server), server.describe()):
        assert "p:ss" not in shown and "p%3Ass" not in shown
    assert server.describe() == "SMTP mail.example.org:587 as lab@example.org (STARTTLS)"


@pytest.mark.parametrize(
    ("url", "port", "tls", "starttls"),
    [
        ("smtps://mail.example.org", 465, True, None),
        ("smtp://mail.example.org", 25, False, None),
        ("smtp://mail.example.org:2525?starttls=false", 2525, False, False),
    ],
)
def test_mail_url_schemes_and_default_ports(
    url: str, port: int, tls: bool, starttls: bool | None
) -> None:
    mail = Settings.from_env({"REMOTELAB_MAIL_URL": url, "REMOTELAB_MAIL_SENDER": "l@x.org"}).mail
    server = mail.smtp()
    assert server is not None
    assert (server.port, server.tls, server.starttls) == (port, tls, starttls)


def test_mail_host_fields_are_the_other_way() -> None:
    mail = Settings.from_env(
        {
            "REMOTELAB_MAIL_HOST": "mail.example.org",
            "REMOTELAB_MAIL_USER": "lab",
            "REMOTELAB_MAIL_PASSWORD": "hunter2",
            "REMOTELAB_MAIL_STARTTLS": "true",
            "REMOTELAB_MAIL_SENDER": "lab@example.org",
            "REMOTELAB_MAIL_BACKOFF_SECONDS": "0.001",
        }
    ).mail
    server = mail.smtp()
    assert server is not None
    assert (server.port, server.user, server.starttls) == (587, "lab", True)
    assert server.password is not None and server.password.reveal() == "hunter2"
    assert "hunter2" not in repr(mail)
    assert mail.backoff_seconds == 0.001


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"REMOTELAB_MAIL_URL": "http://secret@mail.example.org"},
            "REMOTELAB_MAIL_URL: the scheme must be smtp or smtps, not 'http'",
        ),
        ({"REMOTELAB_MAIL_URL": "smtp://u:secret@"}, "REMOTELAB_MAIL_URL: no host"),
        (
            {"REMOTELAB_MAIL_URL": "smtp://u:secret@h:99999"},
            "REMOTELAB_MAIL_URL: not a valid URL",
        ),
        (
            {"REMOTELAB_MAIL_URL": "smtp://u:secret@h?tls=1"},
            "REMOTELAB_MAIL_URL: unknown option tls",
        ),
        (
            {"REMOTELAB_MAIL_URL": "smtps://u:secret@h?starttls=true"},
            "REMOTELAB_MAIL_URL: smtps (TLS from the first byte) excludes starttls=true",
        ),
        (
            {"REMOTELAB_MAIL_URL": "smtp://u:secret@h", "REMOTELAB_MAIL_HOST": "h"},
            "REMOTELAB_MAIL_URL and REMOTELAB_MAIL_HOST are both set",
        ),
        (
            {"REMOTELAB_MAIL_URL": "smtp://u:secret@h", "REMOTELAB_MAIL_PASSWORD": "x"},
            "REMOTELAB_MAIL_URL and REMOTELAB_MAIL_PASSWORD are both set",
        ),
        ({"REMOTELAB_MAIL_HOST": "h"}, "REMOTELAB_MAIL_SENDER is empty"),
        (
            {"REMOTELAB_MAIL_HOST": "h", "REMOTELAB_MAIL_SENDER": "lab"},
            "REMOTELAB_MAIL_SENDER='lab': not an email address",
        ),
        (
            {"REMOTELAB_MAIL_TLS": "true", "REMOTELAB_MAIL_STARTTLS": "true"},
            "exclude each other",
        ),
        (
            {"REMOTELAB_MAIL_BASE_URL": "lab.example.org"},
            "REMOTELAB_MAIL_BASE_URL='lab.example.org': expected an http:// or https:// address",
        ),
        (
            {"REMOTELAB_MAIL_BACKOFF_SECONDS": "10", "REMOTELAB_MAIL_BACKOFF_MAX_SECONDS": "1"},
            "REMOTELAB_MAIL_BACKOFF_MAX_SECONDS=1.0: must not be less than",
        ),
        ({"REMOTELAB_MAIL_ATTEMPTS": "0"}, "REMOTELAB_MAIL_ATTEMPTS=0: must be between 1 and 100"),
    ],
)
def test_mail_settings_that_cannot_work_are_refused(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(environ)
    assert message in info.value.message
    assert "secret" not in info.value.message  # the URL's password never shows
