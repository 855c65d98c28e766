"""``python -m remotelab.config``: print the settings reference page."""

from __future__ import annotations

import sys

from remotelab.config.reference import settings_markdown

sys.stdout.write(settings_markdown())
