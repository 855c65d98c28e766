"""The compiled-script cache: keys, the bound, offers through a real pipe, hits equal misses."""

from __future__ import annotations

import json
import marshal
import os
from types import CodeType

import pytest

from remotelab.sandbox.result import RunError
from remotelab.sandbox.worker.codecache import (
    CODE,
    HIT,
    RECORD,
    CachedCompiler,
    CodeCache,
    cache_key,
    offer_pipe,
    read_offers,
)
from remotelab.sandbox.worker.policy import TOO_COMPLEX, compile_script
from remotelab.sandbox.worker.runner import execute
from tests.sandbox.helpers import job_for

MAX = 65_536
SCRIPTS = {
    "ok": "import math\ndef f(x, acc=[]):\n    acc.append(x)\n    return len(acc)\n"
    "print(f(1), f(2), math.sqrt(16))\nlabel('done')\n",
    "runtime error": "x = 1\ny = [x]\nprint(y[3])\n",
    "error in a function": "def g(v):\n    return 1 / v\n\nprint('before')\ng(0)\n",
    "syntax error": "x = (\nprint(1)\n",
    "policy error": "x = 1\ny = x.__class__\nimport os\n",
    "indentation error": "if True:\nprint(1)\n",
}


@pytest.fixture
def pipe() -> tuple[int, int]:
    """An offer pipe; each test leaves both ends closed (the compiler closes the write
    end, ``read_offers`` the read end), so nothing here may close a reused number."""
    return offer_pipe()


def closed(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return True
    return False


def test_the_key_is_the_source_and_the_setting_the_compile_step_reads() -> None:
    key = cache_key("print(1)", MAX)
    assert len(key) == 32
    assert key == cache_key("print(1)", MAX)
    assert key != cache_key("print(1) ", MAX)
    assert key != cache_key("print(1)", MAX - 1)
    assert cache_key("\udcff", MAX) != cache_key("", MAX)  # lone surrogates hash too


def test_a_miss_compiles_and_offers_then_the_zygote_keeps_it(pipe: tuple[int, int]) -> None:
    read_fd, write_fd = pipe
    source = SCRIPTS["ok"]
    code = CachedCompiler(CodeCache(MAX), write_fd)(source, MAX)
    assert isinstance(code, CodeType)
    assert closed(write_fd), "the offer pipe must be closed before the script runs"
    data = read_offers(read_fd)
    kind, key, length = RECORD.unpack_from(data)
    assert (kind, key) == (CODE, cache_key(source, MAX))
    assert len(data) == RECORD.size + length
    zygote = CodeCache(MAX)
    zygote.absorb(data)
    kept = zygote.get(key)
    assert isinstance(kept, CodeType) and marshal.dumps(kept) == marshal.dumps(code)
    assert zygote.info().to_dict() == {
        "entries": 1,
        "bytes": length,
        "max_bytes": MAX,
        "hits": 0,
        "misses": 1,
    }


def test_a_hit_writes_a_note_and_does_not_compile(pipe: tuple[int, int]) -> None:
    read_fd, write_fd = pipe
    source = "print(1)"
    cache = CodeCache(MAX)
    code = compile_script(source, MAX)
    assert isinstance(code, CodeType)
    cache.put(cache_key(source, MAX), code, 100)

    def never(source: str, max_bytes: int) -> CodeType | RunError:
        raise AssertionError("a hit must not compile")

    assert CachedCompiler(cache, write_fd, never)(source, MAX) is code
    assert closed(write_fd)
    data = read_offers(read_fd)
    assert data == RECORD.pack(HIT, cache_key(source, MAX), 0)
    cache.absorb(data)
    assert (cache.info().hits, cache.info().misses) == (1, 1)


def test_the_pipe_is_closed_even_when_compiling_fails(pipe: tuple[int, int]) -> None:
    read_fd, write_fd = pipe

    def boom(source: str, max_bytes: int) -> CodeType | RunError:
        raise MemoryError

    with pytest.raises(MemoryError):
        CachedCompiler(CodeCache(MAX), write_fd, boom)("print(1)", MAX)
    assert closed(write_fd)
    assert read_offers(read_fd) == b""


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_a_hit_gives_the_same_result_and_error_lines_as_a_miss(
    name: str, pipe: tuple[int, int]
) -> None:
    source = SCRIPTS[name]
    read_fd, write_fd = pipe
    miss = execute(
        job_for(source),
        None,
        device=False,
        validate=False,
        compile_source=CachedCompiler(CodeCache(MAX), write_fd),
    )
    zygote = CodeCache(MAX)
    zygote.absorb(read_offers(read_fd))
    assert zygote.info().entries == 1
    second_read, second_write = offer_pipe()
    hit = execute(
        job_for(source),
        None,
        device=False,
        validate=False,
        compile_source=CachedCompiler(zygote, second_write),
    )
    assert read_offers(second_read)[:1] == HIT
    assert hit == miss
    fresh = execute(job_for(source), None, device=False, validate=False)
    assert hit == fresh
    if name != "ok":
        assert hit["error"]["line"] is not None


def test_the_bound_holds_and_the_least_recently_used_go_first() -> None:
    cache = CodeCache(1000)
    code = compile_script("1", MAX)
    assert isinstance(code, CodeType)
    keys = [cache_key(str(i), MAX) for i in range(6)]
    for key in keys[:4]:
        cache.put(key, code, 300)
    assert cache.info().entries == 3 and cache.info().bytes == 900
    assert cache.get(keys[0]) is None  # the oldest went
    cache.touch(keys[1])  # used again: now the newest
    cache.put(keys[4], code, 300)
    assert cache.get(keys[1]) is not None and cache.get(keys[2]) is None
    cache.put(keys[5], code, 1001)  # larger than the whole cache: not kept
    assert cache.get(keys[5]) is None
    assert cache.info().bytes <= 1000
    cache.resize(400)
    assert cache.info().entries == 1 and cache.info().bytes == 300
    assert cache.get(keys[4]) is not None
    cache.resize(0)
    assert cache.info().entries == 0 and cache.info().bytes == 0


def test_the_bound_holds_for_real_offers() -> None:
    zygote = CodeCache(2000)
    for i in range(40):
        read_fd, write_fd = offer_pipe()
        CachedCompiler(zygote, write_fd)(f"x = {i}\nprint(x * 2, 'run {i}')\n", MAX)
        zygote.absorb(read_offers(read_fd))
        assert zygote.info().bytes <= 2000
    info = zygote.info()
    assert info.misses == 40 and 0 < info.entries < 40


def test_what_is_not_deterministic_or_malformed_is_not_kept() -> None:
    cache = CodeCache(MAX)
    key = cache_key("x", MAX)
    for error in (
        RunError("SyntaxError", TOO_COMPLEX, None),
        RunError("LimitExceeded", "the script is 9 bytes long; the limit is 1", None),
    ):
        read_fd, write_fd = offer_pipe()
        CachedCompiler(cache, write_fd, lambda s, m, e=error: e)("x", MAX)
        assert read_offers(read_fd) == b""
    code = marshal.dumps(compile_script("1", MAX))
    bad = [
        RECORD.pack(CODE, key, len(code) + 5) + code,  # cut short
        RECORD.pack(CODE, key, 3) + b"abc",  # not marshal data
        RECORD.pack(CODE, key, 2) + marshal.dumps(42),  # not a code object
        RECORD.pack(b"e", key, 2) + b"{}",  # an error without its fields
        _error_record(key, {"type": "LimitExceeded", "message": "m", "line": None}),
        _error_record(key, {"type": "SyntaxError", "message": "m", "line": "1"}),
        RECORD.pack(b"x", key, 0),  # an unknown kind
        RECORD.pack(CODE, key, 0)[:10],  # a cut header
    ]
    for data in bad:
        cache.absorb(data)
    assert cache.info().entries == 0
    cache.absorb(_error_record(key, {"type": "SyntaxError", "message": "m", "line": 1}))
    assert cache.get(key) == RunError("SyntaxError", "m", 1)
    cache.resize(0)  # emptied
    cache.resize(MAX)
    # Records before a bad one count.
    good = RECORD.pack(CODE, key, len(code)) + code
    cache.absorb(good + bad[1])
    assert cache.info().entries == 1


def _error_record(key: bytes, fields: dict[str, object]) -> bytes:
    payload = json.dumps(fields).encode()
    return RECORD.pack(b"e", key, len(payload)) + payload
