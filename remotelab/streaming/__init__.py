"""Live captures over the ``/v1/stream`` websocket.

- :mod:`.messages` — the wire format: JSON control messages and binary frames (pure);
- :mod:`.sources` — the seam between the hub and where frames come from;
- :mod:`.acquisition` — one local capture loop per distinct configuration, shared by
  every subscriber with the same one;
- :mod:`.hub` — connections, subscriptions, per-client latest-frame-wins queues.

Runs on the server's event loop; captures go through the device's fair queue
like every other call. May import device, config and errors; never quart (the
websocket route in :mod:`remotelab.api.stream` is a thin shell around the hub).
"""
