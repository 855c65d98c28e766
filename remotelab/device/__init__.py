"""The instrument: one owner of the PSLab, a fair queue in front of it, function strings.

- :mod:`.backends` — real hardware over USB serial, or the emulator; detection
  scans USB ports only and never the network;
- :mod:`.owner` — the device thread: every pslab call runs there, one at a time;
- :mod:`.scheduler` — the fair queue of calls between users, and the per-user gate;
- :mod:`.outputs`, :mod:`.contexts`, :mod:`.switch` — what persists on the device, every
  user's own setting of it, and the switch between two settings (docs/reference/contexts.md);
- :mod:`.interface` — :class:`~.interface.Device`, the one interface the API, the sandbox
  and the streams use (a local and a NATS implementation behind it);
- :mod:`.checks` — the checks every call passes before it is queued or sent;
- :mod:`.service` — :class:`~.service.Instrument`, the local implementation;
- :mod:`.functions` — the whitelist of function strings, parsed without evaluation;
- :mod:`.emulator` — a byte-protocol PSLab emulator on a virtual bench.

Runs in the server process (the emulator on the device thread). May import
config and errors; never the API, the sandbox, storage or streaming.
"""
