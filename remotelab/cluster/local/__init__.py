"""A whole lab on one machine: ``make cluster`` (``python -m remotelab.cluster.local``).

- :mod:`.lab` — starts PostgreSQL, NATS, three emulated device agents on two experiments,
  two web fronts and nginx in front, watches them, stops all of them on SIGINT or SIGTERM;
- :mod:`.postgres`, :mod:`.nats` — a private PostgreSQL and NATS server in a temp folder on
  loopback (the test suite runs the same ones: ``tests/support/postgres.py``, ``nats.py``);
- :mod:`.nginx` — the deployment's nginx site pointed at the local fronts;
- :mod:`.children` — child processes in their own process groups that end with the parent;
- :mod:`.ports` — free and taken loopback ports.

Everything here runs in the launcher's own process and drives the others as programs
(``remotelab serve``, ``remotelab agent``, ``nats-server``, ``postgres``, ``nginx``): it
imports none of the front or agent code, only the emulator's bench parser for the names of
the experiments.
"""
