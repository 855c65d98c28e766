"""Debian's Chromium as the browser tests and the webapp benchmark launch it (never a download)."""

from __future__ import annotations

import shutil

EXECUTABLE = shutil.which("chromium") or "/usr/bin/chromium"
# Headless as root, and quiet: without the background-networking flags Chromium keeps trying
# to reach Google's services, which this machine refuses.
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
