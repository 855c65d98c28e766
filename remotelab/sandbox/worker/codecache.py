"""Compiled scripts by source hash: kept by the zygote, inherited by every worker it forks.

Compiling happens in the worker, never in the zygote (the compile step can blow up on
hostile source), so the cache is filled from *offers*: a worker that compiled a script
writes the result — the code object (``marshal``) or the compile error — to a pipe that
only the zygote reads, then closes the pipe **before any of the script runs**. Whatever
it offers was made by trusted code from the source alone. A worker that finds the script
in its (forked) copy of the cache writes a *hit* note instead, so the zygote keeps the
most recently used entries. The zygote reads the pipe when it reaps the worker: no extra
wake-up, no message on the server's side.

The cache holds code, never users' data: a key is the hash of the source and of the one
setting the compile step reads (``max_script_bytes``); a value is what compiling that
source gives (every run builds its own globals, so a cached code object carries nothing
from the run that compiled it). Two users who run the same source share the compiled
code, and only that. Its size (marshalled bytes) is bounded by
``REMOTELAB_SANDBOX_CODE_CACHE_BYTES``; the least recently used entries go first.

Offer format, one or more records per pipe: ``kind`` (1 byte: ``c`` code, ``e`` error,
``h`` hit), ``key`` (32 bytes), ``length`` (4 bytes, big-endian), ``payload``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import marshal
import os
import struct
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from types import CodeType

from remotelab.sandbox.result import POLICY_ERROR, RunError
from remotelab.sandbox.worker.policy import TOO_COMPLEX, compile_script

RECORD = struct.Struct(">c32sI")
CODE, ERROR, HIT = b"c", b"e", b"h"
#: Compile errors worth keeping (deterministic for a source); a size refusal and
#: ``TOO_COMPLEX`` (it depends on the stack and memory of the moment) are not kept.
CACHED_ERRORS = frozenset({"SyntaxError", "IndentationError", "TabError", POLICY_ERROR})
PIPE_BYTES = 1 << 20
"""Capacity asked for an offer pipe (the largest offer that fits is the largest kept)."""
F_SETPIPE_SZ = 1031

Compiled = CodeType | RunError


def cache_key(source: str, max_script_bytes: int) -> bytes:
    """SHA-256 of the source and of the settings the compile step reads."""
    digest = hashlib.sha256(f"{max_script_bytes}\0".encode())
    digest.update(source.encode("utf-8", "surrogatepass"))
    return digest.digest()


@dataclass(frozen=True)
class CacheInfo:
    entries: int
    bytes: int
    max_bytes: int
    hits: int
    misses: int

    def to_dict(self) -> dict[str, int]:
        return {
            "entries": self.entries,
            "bytes": self.bytes,
            "max_bytes": self.max_bytes,
            "hits": self.hits,
            "misses": self.misses,
        }


class CodeCache:
    """Least-recently-used compiled scripts, at most ``max_bytes`` (marshalled size)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[bytes, tuple[Compiled, int]] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: bytes) -> Compiled | None:
        """The compiled script, or None. Read-only: a worker looks, the zygote orders."""
        entry = self._entries.get(key)
        return None if entry is None else entry[0]

    def touch(self, key: bytes) -> None:
        """A worker used ``key``: it becomes the most recently used."""
        self.hits += 1
        if key in self._entries:
            self._entries.move_to_end(key)

    def put(self, key: bytes, value: Compiled, size: int) -> None:
        """Keep ``value`` (``size`` marshalled bytes), dropping the least recently used
        entries to stay within ``max_bytes``; a value larger than the bound is not kept."""
        self.misses += 1
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old[1]
        if size > self.max_bytes:
            return
        while self._entries and self._bytes + size > self.max_bytes:
            _key, (_value, dropped) = self._entries.popitem(last=False)
            self._bytes -= dropped
        self._entries[key] = (value, size)
        self._bytes += size

    def resize(self, max_bytes: int) -> None:
        """A new bound (the limits of the latest run); shrinking drops the oldest entries."""
        self.max_bytes = max_bytes
        while self._entries and self._bytes > max_bytes:
            _key, (_value, dropped) = self._entries.popitem(last=False)
            self._bytes -= dropped

    def info(self) -> CacheInfo:
        return CacheInfo(len(self._entries), self._bytes, self.max_bytes, self.hits, self.misses)

    # --- the zygote's side of the pipe ----------------------------------------------

    def absorb(self, data: bytes) -> None:
        """Take the records a worker wrote (its whole pipe, read after its exit).

        A truncated or malformed record ends the reading; what came before it counts.
        """
        offset = 0
        while offset + RECORD.size <= len(data):
            kind, key, length = RECORD.unpack_from(data, offset)
            offset += RECORD.size
            payload = data[offset : offset + length]
            if len(payload) != length:
                return
            offset += length
            if kind == HIT:
                self.touch(key)
                continue
            value = _load(kind, payload)
            if value is None:
                return
            self.put(key, value, length)


def _load(kind: bytes, payload: bytes) -> Compiled | None:
    try:
        if kind == CODE:
            # Written by trusted code of a worker before its script ran (module docstring).
            code = marshal.loads(payload)  # noqa: S302
            return code if isinstance(code, CodeType) else None
        if kind == ERROR:
            fields = json.loads(payload)
            error = RunError(str(fields["type"]), str(fields["message"]), fields["line"])
            line_ok = error.line is None or type(error.line) is int
            return error if line_ok and error.type in CACHED_ERRORS else None
    except (ValueError, TypeError, KeyError, EOFError):
        return None
    return None


def read_offers(fd: int) -> bytes:
    """Everything in a (non-blocking) offer pipe whose writer has gone; closes ``fd``."""
    chunks: list[bytes] = []
    try:
        while True:
            chunk = os.read(fd, PIPE_BYTES)
            if not chunk:
                break
            chunks.append(chunk)
    except BlockingIOError:
        pass  # a writer still alive (never for a reaped worker): take what is there
    finally:
        os.close(fd)
    return b"".join(chunks)


def offer_pipe() -> tuple[int, int]:
    """A non-blocking pipe ``(read, write)`` as large as the kernel allows up to
    :data:`PIPE_BYTES` (a worker's write never waits: an offer that does not fit is cut
    and then ignored)."""
    read_fd, write_fd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    with contextlib.suppress(OSError):  # too large for this user: keep the default size
        fcntl.fcntl(write_fd, F_SETPIPE_SZ, PIPE_BYTES)
    return read_fd, write_fd


# --- the worker's side ---------------------------------------------------------------


class CachedCompiler:
    """The worker's compile step: the cache first, else compile and offer the result.

    Called once, before the script runs; it closes the offer pipe whatever happens, so
    nothing the script does can reach the zygote's cache.
    """

    def __init__(
        self,
        cache: CodeCache,
        offers: int | None,
        compile_source: Callable[[str, int], Compiled] = compile_script,
    ) -> None:
        self._cache = cache
        self._offers = offers
        self._compile = compile_source

    def __call__(self, source: str, max_script_bytes: int) -> Compiled:
        try:
            key = cache_key(source, max_script_bytes)
            cached = self._cache.get(key)
            if cached is not None:
                self._write(RECORD.pack(HIT, key, 0))
                return cached
            compiled = self._compile(source, max_script_bytes)
            payload = _dump(compiled)
            if payload is not None:
                kind = CODE if isinstance(compiled, CodeType) else ERROR
                self._write(RECORD.pack(kind, key, len(payload)) + payload)
            return compiled
        finally:
            self.close()

    def close(self) -> None:
        offers, self._offers = self._offers, None
        if offers is not None:
            with contextlib.suppress(OSError):
                os.close(offers)

    def _write(self, record: bytes) -> None:
        if self._offers is None:
            return
        # One write: a pipe too full takes part of it, and the zygote drops the rest.
        with contextlib.suppress(OSError):
            os.write(self._offers, record)


def _dump(compiled: Compiled) -> bytes | None:
    if isinstance(compiled, CodeType):
        try:
            return marshal.dumps(compiled)
        except ValueError:
            return None
    if compiled.type in CACHED_ERRORS and compiled.message != TOO_COMPLEX:
        return json.dumps(compiled.to_dict()).encode()
    return None
