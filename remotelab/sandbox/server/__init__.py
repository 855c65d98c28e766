"""The server side of the sandbox: it runs in the server process, on its event loop.

Owns the pool of run slots and the zygote's restarts (:mod:`.pool`), one run
seen from the server — the job, the worker's instrument calls and button
checks, the wall clock, the checks on the result (:mod:`.session`) — the zygote
process and its control socket (:mod:`.supervisor`), and the errors of the
machinery (:mod:`.errors`).

It must not import :mod:`remotelab.sandbox.worker` nor RestrictedPython: it
starts the zygote as a fresh interpreter given a module path
(:data:`.supervisor.BOOTSTRAP`) and talks to it and its workers only in the
messages of :mod:`remotelab.sandbox.protocol`. It may import the shared
:mod:`remotelab.sandbox.protocol` and :mod:`~remotelab.sandbox.result`, the
settings (:mod:`remotelab.config`), and the server's own packages
(:mod:`remotelab.device` for the function registry, :mod:`remotelab.errors`).
"""
