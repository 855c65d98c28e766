"""Accounts, passwords, tokens and roles, compatible with the Open Event server.

- :mod:`.tokens` — the event server's JWT format, issued and checked (pure);
- :mod:`.passwords` — bcrypt (standalone) and the event server's scrypt scheme;
- :mod:`.accounts` — sign up, login, logout, password change and reset, roles:
  the service the API calls, on top of :mod:`remotelab.storage`;
- :mod:`.standing` — a short cache of each user's standing and the revoked tokens;
- :mod:`.ratelimit` — sliding-window limits on logins, sign ups and runs;
- :mod:`.roles` — student, teacher, admin; :mod:`.mailer` — how reset links leave.

Runs in the server process. May import storage, config and errors; never quart
(the API maps its errors to HTTP) and never the device or the sandbox.
"""
