from __future__ import annotations

import stat
from pathlib import Path

import pytest

from remotelab.config import Secret, Settings, settings_markdown
from remotelab.errors import InputError

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_need_no_environment() -> None:
    s = Settings.from_env({})
    assert s.port == 8000
    assert s.host == "127.0.0.1"
    assert s.device == "emulator"
    assert s.accounts == "standalone"
    assert s.sqlite_synchronous == "FULL"


def test_environment_is_parsed_and_typed() -> None:
    s = Settings.from_env(
        {
            "REMOTELAB_PORT": "9001",
            "REMOTELAB_COOKIE_SECURE": "yes",
            "REMOTELAB_DEVICE": "auto",
            "REMOTELAB_INSTANCE_PATH": "/tmp/x",
            "REMOTELAB_SECRET_KEY": "k" * 40,
        }
    )
    assert s.port == 9001
    assert s.cookie_secure is True
    assert s.device == "auto"
    assert s.instance_path == Path("/tmp/x")
    assert s.secret_key.reveal() == "k" * 40


def test_overrides_beat_environment_and_none_is_ignored() -> None:
    s = Settings.from_env({"REMOTELAB_PORT": "9001"}, port=9002, host=None)
    assert s.port == 9002
    assert s.host == "127.0.0.1"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("REMOTELAB_PORT", "eighty", "REMOTELAB_PORT='eighty': invalid literal"),
        ("REMOTELAB_PORT", "-1", "REMOTELAB_PORT='-1': must not be negative"),
        ("REMOTELAB_COOKIE_SECURE", "maybe", "expected true or false"),
        ("REMOTELAB_DEVICE", "arduino", "expected one of emulator, pslab, auto"),
        ("REMOTELAB_ACCOUNTS", "both", "expected one of standalone, shared"),
        ("REMOTELAB_COOKIE_SAMESITE", "None", "expected one of Lax, Strict"),
        ("REMOTELAB_SQLITE_SYNCHRONOUS", "OFF", "expected one of NORMAL, FULL, EXTRA"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        Settings.from_env({name: value})
    assert message in info.value.message
    assert name in info.value.message


def test_secret_never_shows() -> None:
    s = Settings.from_env({"REMOTELAB_SECRET_KEY": "hunter2-very-secret"})
    assert "hunter2" not in repr(s)
    assert "hunter2" not in str(s.secret_key)
    assert s.secret_key == Secret("hunter2-very-secret")


def test_generated_secret_is_kept_private_and_reused(tmp_path: Path) -> None:
    first = Settings.from_env({}, instance_path=tmp_path / "inst").with_instance_defaults()
    second = Settings.from_env({}, instance_path=tmp_path / "inst").with_instance_defaults()
    key_file = tmp_path / "inst" / "secret_key"
    assert first.secret_key.reveal() == second.secret_key.reveal()
    assert len(first.secret_key.reveal()) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert (
        first.database_url
        == f"sqlite+aiosqlite:///{(tmp_path / 'inst').resolve()}/remotelab.sqlite3"
    )


def test_explicit_secret_is_not_written(tmp_path: Path) -> None:
    Settings.from_env(
        {"REMOTELAB_SECRET_KEY": "given"}, instance_path=tmp_path / "i"
    ).with_instance_defaults()
    assert not (tmp_path / "i" / "secret_key").exists()


def test_settings_reference_is_in_sync() -> None:
    doc = (ROOT / "docs" / "reference" / "settings.md").read_text()
    assert doc == settings_markdown(), (
        "run: python -m remotelab.config > docs/reference/settings.md"
    )
