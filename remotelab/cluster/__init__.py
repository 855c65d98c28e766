"""Scale-out: device agents and web fronts over NATS (ADR 0017, docs/reference/deploy.md).

- :mod:`.wire` — subjects, message formats and typed errors on the wire (pure);
- :mod:`.connection` — connecting to NATS with the settings' credentials;
- :mod:`.agent` — ``remotelab agent``: one device owner (the local
  :class:`~remotelab.device.service.Instrument`) served by request/reply, its registry entry
  and heartbeat, its drain on SIGTERM; :mod:`.agent_streams` — its acquisition loops,
  publishing frames;
- :mod:`.front` — :class:`~.front.NatsDevice`, the NATS implementation of
  :class:`~remotelab.device.interface.Device` that ``remotelab serve`` uses when
  ``REMOTELAB_NATS_URL`` is set; :mod:`.front_streams` — frame sources fed by agents.

The agent side runs in ``remotelab agent`` processes, the front side in ``remotelab serve``;
they share only :mod:`.wire`. May import device, streaming, config and errors; never quart,
the API or the sandbox.
"""
