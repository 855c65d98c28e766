"""Errors of the emulator package."""

from __future__ import annotations

from remotelab.errors import DeviceError


class UnsupportedCommand(DeviceError):
    """The real firmware implements this command but the emulator does not model it.

    Raised from :meth:`Emulator.write` as soon as the command bytes arrive, naming the
    command, instead of answering something made up.
    """

    code = "emulator_unsupported_command"
