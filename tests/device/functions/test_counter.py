"""Each user's count on the device's one pulse counter (pure: a fake counter register)."""

from __future__ import annotations

import pytest

from remotelab.device.functions.counter import PulseCounter, caller, calling_as
from remotelab.errors import Conflict, InputError


class Register:
    """The firmware's 16-bit counter: ``restarts`` on which inputs, ``value`` now."""

    def __init__(self) -> None:
        self.value = 0
        self.restarts: list[str] = []

    def restart(self, pin: str) -> None:
        self.restarts.append(pin)
        self.value = 0

    def fetch(self) -> int:
        return self.value % 65536


def test_users_on_one_input_share_the_counter_each_from_their_start() -> None:
    counter, reg = PulseCounter(), Register()
    counter.start("a", "LA1", lambda: reg.restart("LA1"), reg.fetch)
    reg.value = 100
    counter.start("b", "LA1", lambda: reg.restart("LA1"), reg.fetch)
    reg.value = 130
    assert counter.read("a", reg.fetch) == 130
    assert counter.read("b", reg.fetch) == 30
    assert reg.restarts == ["LA1"]  # b did not start it again


def test_a_count_is_kept_across_the_16_bit_wrap() -> None:
    counter, reg = PulseCounter(), Register()
    counter.start("a", "LA1", lambda: reg.restart("LA1"), reg.fetch)
    reg.value = 65530
    counter.start("b", "LA1", lambda: reg.restart("LA1"), reg.fetch)
    reg.value = 65536 + 4
    assert counter.read("b", reg.fetch) == 10


def test_no_count_of_ones_own_is_an_input_error() -> None:
    with pytest.raises(InputError, match="you have no pulse count running"):
        PulseCounter().read("a", lambda: 7)


def test_another_input_or_a_stop_ends_the_counts_with_the_reason() -> None:
    counter, reg = PulseCounter(), Register()
    counter.start("a", "LA1", lambda: reg.restart("LA1"), reg.fetch)
    counter.start("b", "LA2", lambda: reg.restart("LA2"), reg.fetch)
    with pytest.raises(Conflict, match=r"your pulse count on LA1 was stopped: another count "):
        counter.read("a", reg.fetch)
    assert counter.read("b", reg.fetch) == 0
    counter.stopped("a capture used its timer")
    with pytest.raises(Conflict, match="was stopped: a capture used its timer; start it again"):
        counter.read("b", reg.fetch)
    counter.start("b", "LA2", lambda: reg.restart("LA2"), reg.fetch)  # counting again
    assert reg.restarts == ["LA1", "LA2", "LA2"]
    assert counter.read("b", reg.fetch) == 0


def test_calling_as_names_the_caller_for_its_block() -> None:
    assert caller() == ""
    with calling_as("u1"):
        assert caller() == "u1"
        with calling_as("u2"):
            assert caller() == "u2"
        assert caller() == "u1"
    assert caller() == ""
