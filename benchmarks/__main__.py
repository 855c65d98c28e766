"""Run every benchmark (``make bench``) or the ones named: ``python -m benchmarks functions``."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def discover() -> list[str]:
    here = Path(__file__).parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))


def main(argv: list[str]) -> int:
    names = [f"bench_{n.removeprefix('bench_')}" for n in argv] or discover()
    if not names:
        print("no benchmarks found in benchmarks/")
        return 1
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"\n== {name} ==", flush=True)
        start = time.perf_counter()
        module.main()
        print(f"({name} took {time.perf_counter() - start:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
