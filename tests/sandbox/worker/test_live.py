"""A worker's output stream, in this process: the first batch at once only when followed."""

from __future__ import annotations

import time
from typing import Any

from remotelab.config import WidgetSettings
from remotelab.sandbox.worker.live import Live
from remotelab.sandbox.worker.runner import Output
from remotelab.widgets import WidgetCollector


def stream(first_at_once: bool) -> tuple[Live, WidgetCollector, Output, list[dict[str, Any]]]:
    frames: list[dict[str, Any]] = []
    collector = WidgetCollector(WidgetSettings())
    output = Output(1000)
    live = Live(frames.append, collector, output, 0.05, first_at_once=first_at_once)
    return live, collector, output, frames


def made(collector: WidgetCollector, output: Output, live: Live, text: str) -> None:
    output.write(collector.print(text))
    live.made()


def test_a_followed_run_sends_its_first_output_at_once() -> None:
    live, collector, output, frames = stream(first_at_once=True)
    made(collector, output, live, "a")
    assert [f["stdout"] for f in frames] == ["a\n"]
    made(collector, output, live, "b")  # within the interval: batched
    assert len(frames) == 1


def test_a_run_nobody_follows_batches_its_first_output_too() -> None:
    live, collector, output, frames = stream(first_at_once=False)
    made(collector, output, live, "a")
    assert frames == []  # a run that ends now sends it in its result only
    time.sleep(0.06)
    made(collector, output, live, "b")
    assert [f["stdout"] for f in frames] == ["a\nb\n"]
    assert [w["value"] for w in frames[0]["widgets"]] == [["a\nb"]]  # one print widget
