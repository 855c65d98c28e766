"""Typed settings, read once from ``REMOTELAB_*`` environment variables.

One tree: :class:`Settings` holds a section per area (``server``, ``storage``,
``auth``, ``scripts``, ``sandbox``, ``widgets``, ``streaming``, ``device``,
``emulator``, ``functions``, ``mail``, ``nats``); each area's code is handed its section and reads
its fields by the names declared in :mod:`remotelab.config.sections`. How a
field is named, parsed and range-checked is in :mod:`remotelab.config.fields`;
``docs/reference/settings.md`` is generated from the sections by
``python -m remotelab.config`` and a test keeps the two in sync.

Owns: declarations and parsing. Imports nothing of remotelab but
:mod:`remotelab.errors`, so every layer may import it.
"""

from remotelab.config.fields import PREFIX, Secret, Section, setting
from remotelab.config.sections import (
    MIB,
    AccountsMode,
    AuthSettings,
    DeviceKind,
    DeviceSettings,
    EmulatorSettings,
    FunctionSettings,
    MailSettings,
    NatsSettings,
    SandboxSettings,
    ScriptSettings,
    ServerSettings,
    SmtpServer,
    StorageSettings,
    StreamSettings,
    WidgetSettings,
)
from remotelab.config.settings import Settings, unknown_variables

__all__ = [
    "MIB",
    "PREFIX",
    "AccountsMode",
    "AuthSettings",
    "DeviceKind",
    "DeviceSettings",
    "EmulatorSettings",
    "FunctionSettings",
    "MailSettings",
    "NatsSettings",
    "SandboxSettings",
    "ScriptSettings",
    "Secret",
    "Section",
    "ServerSettings",
    "Settings",
    "SmtpServer",
    "StorageSettings",
    "StreamSettings",
    "WidgetSettings",
    "setting",
    "unknown_variables",
]
