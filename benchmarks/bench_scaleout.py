"""Scale-out over NATS: what the hop front → NATS → agent costs a call.

Prints, from the same run: p50/p99 of `get_voltage('CH1')` through the embedded server
(`remotelab serve`, device in-process) and through a front with `REMOTELAB_NATS_URL` set
and one `remotelab agent` (both emulators, not realtime), each timed with a lean raw-socket
client over one keep-alive connection; the difference of the p50s is the NATS hop
(target: at most 1 ms). NATS is the real nats-server with the lab's users file
(`remotelab/cluster/local/nats.py`). Then the sections of `benchmarks/scaleout_*.py`: front CPU with
2 front processes versus 1 (`scaleout_fronts`); throughput of a device-bound capture with 1,
2, 4 and 10 realtime agents, and failover after a kill -9 (`scaleout_agents`); 1,000
websocket viewers of one scope stream through 2 fronts (`scaleout_viewers`).
"""

from __future__ import annotations

import statistics

from benchmarks import scaleout_agents, scaleout_fronts, scaleout_viewers
from benchmarks.bench_functions import http_latencies
from benchmarks.support import lab_server, nats_agent, summary, table
from tests.support.nats import running_nats_server

N = 1000
WARMUP = 100
ROUNDS = 3
CALL = "get_voltage('CH1')"
TARGET_MS = 1.0
LIMITS = {"function_calls_per_minute": "100000000", "access_log": "false"}


def measure(url: str, headers: dict[str, str]) -> list[float]:
    http_latencies(url, headers, CALL, WARMUP)
    return http_latencies(url, headers, CALL, N)


def main() -> None:
    rows = []
    hops = []
    with running_nats_server() as nats, lab_server(device="emulator", **LIMITS) as embedded:
        embedded_headers = embedded.account("bench@example.org")
        with (
            nats_agent(nats, "bench-agent"),
            lab_server(
                nats_url=nats.url,
                nats_user="front",
                nats_password=nats.front_password,
                **LIMITS,
            ) as front,
        ):
            front_headers = front.account("bench@example.org")
            for round_ in range(1, ROUNDS + 1):
                local = summary(measure(embedded.url, embedded_headers))
                remote = summary(measure(front.url, front_headers))
                hop = remote[0] - local[0]
                hops.append(hop)
                rows.append(
                    [
                        round_,
                        f"{local[0]:.3f} / {local[1]:.3f}",
                        f"{remote[0]:.3f} / {remote[1]:.3f}",
                        f"{hop:.3f}",
                    ]
                )
    table(
        f"get_voltage('CH1'), {N} calls per round, p50 / p99 in ms",
        ["round", "embedded", "front + NATS + agent", "NATS hop (p50 difference)"],
        rows,
    )
    middle = statistics.median(hops)
    verdict = "meets" if middle <= TARGET_MS else "misses"
    print(f"\nNATS hop: {middle:.3f} ms, the median of {ROUNDS} rounds ({verdict} {TARGET_MS} ms)")
    scaleout_fronts.section()
    scaleout_agents.section()
    scaleout_viewers.section()


if __name__ == "__main__":
    main()
