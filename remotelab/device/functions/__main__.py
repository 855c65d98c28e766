"""``python -m remotelab.device.functions [--check FILE]``: print (or check) the reference page."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from remotelab.device.functions.catalog import default_registry
from remotelab.device.functions.docs import COMMAND, render_markdown


def main(argv: list[str] | None = None) -> int:
    """Print the Markdown reference of the function registry; 1 if ``--check`` finds it stale."""
    parser = argparse.ArgumentParser(
        prog="python -m remotelab.device.functions",
        description="Print docs/reference/functions.md, generated from the function registry.",
    )
    parser.add_argument("--check", type=Path, help="exit 1 if FILE differs from the output")
    options = parser.parse_args(argv)
    text = render_markdown(default_registry())
    if options.check is None:
        sys.stdout.write(text)
        return 0
    current = options.check.read_text(encoding="utf-8") if options.check.exists() else ""
    if current != text:
        sys.stderr.write(f"{options.check} is out of date; run: {COMMAND}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
