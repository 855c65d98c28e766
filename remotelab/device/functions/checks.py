"""Rules across parameters, as pslab 4.x enforces them (pure).

A single parameter's range lives on its :class:`~.params.Param`; what depends on
several parameters (the most samples for a channel count, the shortest timegap
with a trigger, list lengths that must match) is checked here, before the
device sees anything.
"""

from __future__ import annotations

from typing import Any

from remotelab.device.functions.bindings import sampled_channels
from remotelab.device.functions.hardware import MAX_SAMPLES, MIN_TIMEGAP
from remotelab.device.functions.params import argument_error, format_number


def check_capture(
    function: str,
    *,
    channels: int,
    channel_one: str,
    samples: tuple[str, int],
    timegap: tuple[str, float],
    trigger: float | None,
    trigger_channel: str | None,
    max_seconds: float,
) -> None:
    """Samples, timegap and trigger pin of one oscilloscope capture.

    Three channels use the firmware's four-channel mode, so they share its limits
    (pslab 4.0.1 would allow 3333 samples there, past the 10000-sample buffer).
    """
    mode = 4 if channels >= 3 else channels
    plural = "" if channels == 1 else "s"
    samples_name, count = samples
    timegap_name, gap = timegap
    most = MAX_SAMPLES // mode
    if count > most:
        raise argument_error(
            function,
            samples_name,
            f"must be at most {most} when sampling {channels} channel{plural}, got {count}",
            maximum=most,
        )
    triggered = trigger is not None
    least = MIN_TIMEGAP[mode][triggered]
    if gap < least:
        how = " with a trigger" if triggered else ""
        raise argument_error(
            function,
            timegap_name,
            f"must be at least {format_number(least)} µs when sampling {channels} "
            f"channel{plural}{how}, got {format_number(gap)}",
            minimum=least,
        )
    sampled = sampled_channels(channels, channel_one)
    if trigger_channel is not None and trigger_channel not in sampled:
        raise argument_error(
            function,
            "trigger_channel",
            f"must be a sampled channel ({', '.join(repr(c) for c in sampled)}), "
            f"got {trigger_channel!r}",
            allowed=sampled,
        )
    if count * gap > max_seconds * 1e6:
        most_samples = int(max_seconds * 1e6 // gap)
        raise argument_error(
            function,
            samples_name,
            f"must be at most {most_samples} with a timegap of {format_number(gap)} µs "
            f"(a capture lasts at most {format_number(max_seconds)} s), got {count}",
            maximum=most_samples,
        )


def check_per_channel(function: str, args: dict[str, Any], channels_name: str, *names: str) -> None:
    """Each list-valued parameter in ``names`` has one item per channel."""
    channels = args[channels_name]
    count = len(channels) if isinstance(channels, list) else 1
    for name in names:
        value = args[name]
        if isinstance(value, list) and len(value) != count:
            raise argument_error(
                function,
                name,
                f"must have {count} item{'' if count == 1 else 's'} (one per channel in "
                f"'{channels_name}'), got {len(value)}",
            )


def check_distinct(function: str, args: dict[str, Any], name: str) -> None:
    value = args[name]
    if isinstance(value, list) and len(set(value)) != len(value):
        raise argument_error(function, name, "must not name the same pin twice")


def check_modes(function: str, args: dict[str, Any]) -> None:
    """A logic capture needs one mode per channel it captures."""
    channels = args["channels"]
    count = (
        1
        if isinstance(channels, str)
        else len(channels)
        if isinstance(channels, list)
        else channels
    )
    modes = args["modes"]
    if len(modes) < count:
        raise argument_error(
            function,
            "modes",
            f"must have at least {count} items (one per channel), got {len(modes)}",
        )
