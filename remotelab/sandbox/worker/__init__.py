"""The zygote and worker side of the sandbox: it runs outside the server process.

Runs in the zygote (a fresh ``python -I`` interpreter the server starts,
single-threaded, :mod:`.zygote`) and in the workers it forks, one per run
(:mod:`.child`). Owns process isolation (:mod:`.isolation`, :mod:`.seccomp`),
running a script (:mod:`.runner`) under RestrictedPython's compiler and our
policy (:mod:`.policy`), the compiled scripts the zygote keeps for later runs
(:mod:`.codecache`), the live output stream (:mod:`.live`), the run-time
guards (:mod:`.guards`), the builtins and module facades a script gets
(:mod:`.safe_builtins`, :mod:`.facades`, :mod:`.numpy_facade`), the instrument
proxies (:mod:`.rpc`) and the limit signal a script sees (:mod:`.errors`).

It must import nothing of the server side: not :mod:`remotelab.sandbox.server`,
:mod:`remotelab.api`, :mod:`remotelab.app`, :mod:`remotelab.cli`,
:mod:`remotelab.storage`, :mod:`remotelab.auth`, :mod:`remotelab.streaming`,
:mod:`remotelab.device` (nor pslab, serial, quart, hypercorn, sqlalchemy,
jwt): no server secret or state may be in a worker's memory, and the zygote
must stay small and single-threaded. It may import the shared
:mod:`remotelab.sandbox.protocol` and :mod:`~remotelab.sandbox.result`, the
settings' declarations (:mod:`remotelab.config`: a job's limits are its
sections), :mod:`remotelab.widgets`,
:mod:`remotelab.errors`, numpy and RestrictedPython. An import-linter contract
holds this statically; :func:`.zygote.check_imports` checks the zygote's
modules again at start.
"""
