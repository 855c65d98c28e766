"""``python -m remotelab.cluster.local [--port 8080]``: what ``make cluster`` runs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from remotelab.cluster.local.lab import Lab


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m remotelab.cluster.local",
        description="A whole lab on one machine: PostgreSQL, NATS, three emulated device "
        "agents on two experiments, two web fronts and nginx in front, on loopback. Ctrl+C "
        "stops all of it.",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=8080,
        help="the port nginx serves the lab on, at 127.0.0.1 (default 8080)",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.port <= 65535:
        parser.error(f"--port {args.port}: a port is between 1 and 65535")
    return Lab(port=args.port).run()


if __name__ == "__main__":
    sys.exit(main())
