"""The emulated PSLab firmware: its state, its command loop and its command handlers.

This package owns everything between the bytes the host sends and the bytes the
device answers: the command loop, the state that outlives a command (sample buffer,
ADC settings, outputs, counters) and one handler per modelled command. It drives the
virtual bench (:mod:`..bench`) and reads its clock and noise; the transport around it
(:mod:`..emulator`) only feeds it bytes and collects :attr:`Firmware.out`.

Modules, from the top of the import graph down:

* :mod:`.commands` - the command table, (primary, secondary) byte pair -> handler. It
  imports every handler module, at the top.
* handler modules, one per instrument family - :mod:`.adc` (oscilloscope, voltmeter),
  :mod:`.ctmu` (capacitance, CTMU, temperature), :mod:`.timing` (logic analyzer,
  counters), :mod:`.wavegen` (SI and SQ outputs), :mod:`.general` (identity, buffer,
  RAM, LED, reset, power supply). They are independent: none imports another.
* :mod:`.frontend` - the analog front end the ADC and CTMU handlers share (input
  multiplexer, spans, conversion to counts).
* :mod:`.base` - :class:`Firmware` (state and command loop, given a command table),
  the handler and command types, and the state types handlers share.

A module imports only modules below it, never one beside or above it. From the
emulator package it may use the bench and what lies under it (bench, clock, noise,
signals, digital, errors), never :mod:`..emulator`, the transport built on top of it.
Both rules are import-linter contracts in pyproject.toml ("Emulator layers" and
"Emulated firmware layers"). A new handler family is a new module in the handler
layer, registered in :mod:`.commands`; what two families need in common goes down
into :mod:`.frontend` or :mod:`.base`, never sideways.
"""

from __future__ import annotations

from .base import HW_VERSION, Firmware
from .commands import COMMANDS

__all__ = ["COMMANDS", "HW_VERSION", "Firmware"]
