"""The life of one worker: the zygote's forked child, from fork to ``os._exit``.

Trusted code first (reset the inherited process state, apply the isolation plan,
reseed randomness, rehearse a run, read the job, compile it or find it in the code
cache and close the cache's offer pipe), then the script
(:func:`~remotelab.sandbox.worker.runner.execute`), then trusted code again (encode
and send the result). The worker never returns into the zygote's code: every
path ends in ``os._exit``.
"""

from __future__ import annotations

import fcntl
import json
import os
import resource
import signal
import socket
import time
from types import CodeType
from typing import NoReturn

import numpy as np

from remotelab.config import SandboxSettings
from remotelab.sandbox.protocol import HEADER, Job, decode, encode, recv_frame, send_frame
from remotelab.sandbox.worker.codecache import CachedCompiler, CodeCache
from remotelab.sandbox.worker.isolation import IsolationError, Plan, harden, relax_memory_limit
from remotelab.sandbox.worker.live import Live
from remotelab.sandbox.worker.policy import compile_script
from remotelab.sandbox.worker.rpc import Channel
from remotelab.sandbox.worker.runner import Output, encode_result, execute
from remotelab.widgets import WidgetCollector

RUN_FD = 3
OFFER_FD = 4
MAX_JOB_BYTES = 4 * 1024 * 1024
MT19937_WORDS = 624
MT19937_STATE_BYTES = 4 * MT19937_WORDS
EXIT_OK = 0
EXIT_FATAL = 70  # EX_SOFTWARE
# Encoded in the zygote, before any script: sent when even the result does not fit.
OUT_OF_MEMORY_RESULT = json.dumps(
    {
        "type": "result",
        "status": "error",
        "widgets": [],
        "stdout": "",
        "error": {
            "type": "MemoryError",
            "message": "the run's output did not fit in memory",
            "line": None,
        },
    }
).encode()


# What a spare runs while it waits for its job (ADR 0022): trusted, fixed, compiled once by
# the zygote. A fork shares the zygote's memory until a page is written, and a first run
# writes hundreds of pages (reference counts, the allocator, the result's encoding): each
# one a page fault and a copy. The rehearsal takes those faults before the job arrives,
# so the real run's path is already the worker's own memory.
REHEARSAL_SOURCE = "print(1)\nlabel('rehearsal')\n"


def compile_rehearsal() -> CodeType:
    """The rehearsal's code (in the zygote, once; every worker inherits it)."""
    code = compile_script(REHEARSAL_SOURCE, len(REHEARSAL_SOURCE))
    if not isinstance(code, CodeType):
        raise RuntimeError(f"the rehearsal does not compile: {code.message}")
    return code


def rehearse(code: CodeType, limits: SandboxSettings) -> dict[str, object]:
    """Go once through a job's path in this process (decode the job, run the rehearsal's
    code with its own widgets and text, encode the result) and return that result.

    Nothing of it reaches the server or the code cache: no channel, no offer pipe, no
    instrument; its widgets, text and namespace are dropped. What it leaves is what the
    zygote's warm-up left already: modules loaded, caches filled by trusted code.
    """
    message = Job(REHEARSAL_SOURCE, limits).to_message(device=False, validate=False)
    job = Job.from_message(decode(encode(message)[HEADER.size :]))
    interval = limits.live_interval_ms / 1000

    def live(collector: WidgetCollector, output: Output) -> Live:
        return Live(lambda frame: None, collector, output, interval, first_at_once=False)

    result = execute(
        job, None, device=False, validate=False, live=live, compile_source=lambda s, n: code
    )
    encode_result(result, limits.max_result_bytes)
    return result


def reseed_numpy() -> None:
    """Give numpy's global generator a whole new state from the kernel's random source
    (the 624 words of MT19937; ``np.random.seed()`` does the same through a SeedSequence,
    at ten times the cost), with no Gaussian left over from the zygote."""
    key = np.frombuffer(os.urandom(MT19937_STATE_BYTES), dtype=np.uint32)
    np.random.set_state(("MT19937", key, MT19937_WORDS, 0, 0.0))


def reset_process(run_socket: socket.socket, offers: int) -> socket.socket:
    """Keep only the run socket (as fd 3), the code cache's offer pipe (as fd 4) and
    /dev/null as stdio; default signals."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)
    # The server's "sample now" signal, handled once the script runs (worker/live.py).
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    # Both above fd 4 first, so that neither lands on the other's place.
    run_fd = fcntl.fcntl(run_socket.detach(), fcntl.F_DUPFD, OFFER_FD + 1)
    offer_fd = fcntl.fcntl(offers, fcntl.F_DUPFD, OFFER_FD + 1)
    os.dup2(run_fd, RUN_FD)
    os.dup2(offer_fd, OFFER_FD)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    # Every other descriptor inherited from the zygote (control socket,
    # selector, siblings' pidfds and offer pipes) goes; the Python objects that
    # still name them are never used again in this process.
    os.closerange(OFFER_FD + 1, os.sysconf("SC_OPEN_MAX"))
    os.setsid()
    return socket.socket(fileno=RUN_FD)


def own_usage() -> dict[str, float | int]:
    """This worker's CPU time and peak memory so far, as the kernel counts them: sent with
    the result, so that the server can answer before the worker has exited."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "cpu_ms": round((usage.ru_utime + usage.ru_stime) * 1000, 3),
        "max_rss_kb": usage.ru_maxrss,
    }


def worker_main(
    run_socket: socket.socket,
    run_dir: str,
    plan: Plan,
    zygote_pid: int,
    limits: SandboxSettings,
    cache: CodeCache,
    offers: int,
    rehearsal: CodeType | None = None,
) -> NoReturn:
    """Isolate this process under ``limits``, then run one job received on ``run_socket``;
    never returns.

    The isolation comes first, before the job is even read: a worker may be forked ahead
    of time (a spare) and wait, fully isolated, for a job that only then reaches it. A
    job whose limits are not the ones it was isolated with is refused. ``cache`` is the
    zygote's compiled scripts as they were at the fork; ``offers`` the pipe on which the
    worker offers what it compiles (closed before the script runs; worker/codecache.py).
    ``rehearsal`` (from :func:`compile_rehearsal`) is run once, isolated, before the job.
    """
    code = EXIT_FATAL
    try:
        sock = reset_process(run_socket, offers)
        try:
            harden(plan, run_dir, limits, zygote_pid)
        except IsolationError as exc:
            send_frame(sock, {"type": "fatal", "message": f"isolation failed: {exc}"})
            os._exit(EXIT_FATAL)
        # os.fork reseeded `random`; numpy's global generator needs it too, or every run
        # would replay the zygote's sequence. Done before the job: a spare does it waiting.
        reseed_numpy()
        if rehearsal is not None:
            rehearse(rehearsal, limits)
        message = recv_frame(sock, MAX_JOB_BYTES)
        if message is None or message.get("type") != "job":
            os._exit(EXIT_FATAL)
        job = Job.from_message(message)
        started = time.monotonic()
        if job.limits != limits:
            send_frame(sock, {"type": "fatal", "message": "the job's limits are not the worker's"})
            os._exit(EXIT_FATAL)
        channel = Channel(
            sock,
            max_calls=job.limits.max_device_calls,
            max_frame_bytes=job.limits.max_result_bytes,
        )
        interval = job.limits.live_interval_ms / 1000

        def live(collector: WidgetCollector, output: Output) -> Live:
            channel.live = Live(
                channel.send,
                collector,
                output,
                interval,
                first_at_once=message.get("live") is not False,
            )
            return channel.live

        result = execute(
            job,
            channel,
            device=bool(message.get("device")),
            validate=bool(message.get("validate")),
            started=started,
            live=live,
            compile_source=CachedCompiler(cache, OFFER_FD),
        )
        relax_memory_limit()
        result["usage"] = own_usage()
        try:
            body = encode_result(result, job.limits.max_result_bytes)
        except MemoryError:
            body = OUT_OF_MEMORY_RESULT
        sock.sendall(HEADER.pack(len(body)) + body)
        code = EXIT_OK
    except BaseException:  # noqa: S110 - nothing may unwind into the zygote's loop
        pass
    os._exit(code)
