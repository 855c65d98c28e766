"""docs/reference/functions.md is generated from the registry and stays in sync with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from remotelab.config import FunctionSettings
from remotelab.device.functions import default_registry
from remotelab.device.functions.__main__ import main
from remotelab.device.functions.docs import COMMAND, render_markdown

ROOT = Path(__file__).resolve().parents[3]
PAGE = ROOT / "docs" / "reference" / "functions.md"


def test_reference_page_is_in_sync() -> None:
    assert PAGE.read_text(encoding="utf-8") == render_markdown(default_registry()), (
        f"run: {COMMAND}"
    )


def test_every_function_is_documented() -> None:
    text = render_markdown(default_registry())
    for function in default_registry():
        assert f"#### `{function.signature}`" in text
        assert f"Example: `{function.example}`" in text


def test_limits_show_in_the_page() -> None:
    limits = FunctionSettings(max_chars=500, max_wait_seconds=3)
    text = render_markdown(default_registry(limits), limits)
    assert "At most 500 characters" in text
    assert "waits of at most\n3 s" in text
    assert "between 0.001 and 3 s" in text


def test_command_prints_and_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    printed = capsys.readouterr().out
    assert printed == render_markdown(default_registry())
    page = tmp_path / "functions.md"
    assert main(["--check", str(page)]) == 1
    assert "out of date" in capsys.readouterr().err
    page.write_text(printed, encoding="utf-8")
    assert main(["--check", str(page)]) == 0
