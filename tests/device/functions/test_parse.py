"""The function-string language, as a table: what parses to what, and what is refused how.

Every row runs with ``eval``/``exec`` replaced by tripwires, ``compile`` allowed only
to build syntax trees, an audit hook watching for code execution and imports, and a
registry whose bindings raise: parsing never evaluates anything, never runs a
binding, and never touches an instrument.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import dataclasses
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from remotelab.config import FunctionSettings
from remotelab.device.functions import (
    ParsedCall,
    Registry,
    bind_call,
    default_registry,
    parse_call,
)
from remotelab.errors import FunctionStringError

CHANNELS = "'CH1', 'CH2', 'CH3', 'MIC', 'CAP', 'RES', 'VOL', 'AN4'"
ONE_CALL = "only one call with literal arguments is allowed"
NOT_A_CALL = "expected one function call such as get_voltage('CH1')"
TOO_DEEP = "(at most 8 levels of brackets or operators)"

GOOD: list[tuple[str, str, dict[str, Any]]] = [
    # literals, quotes, whitespace, comments
    ("get_voltage('CH1')", "get_voltage", {"channel_name": "CH1"}),
    ('get_voltage("CH2")', "get_voltage", {"channel_name": "CH2"}),
    ('get_voltage("""VOL""")', "get_voltage", {"channel_name": "VOL"}),
    ("get_voltage('C' 'H1')", "get_voltage", {"channel_name": "CH1"}),
    ("  get_voltage('CAP')  ", "get_voltage", {"channel_name": "CAP"}),
    ("\tget_voltage('CH1')\n", "get_voltage", {"channel_name": "CH1"}),
    ("get_voltage('CH1')\u00a0", "get_voltage", {"channel_name": "CH1"}),
    ("get_voltage('CH1',)", "get_voltage", {"channel_name": "CH1"}),
    ("get_voltage('CH1')  # a comment", "get_voltage", {"channel_name": "CH1"}),
    ("get_voltage(\n    'CH1'\n)", "get_voltage", {"channel_name": "CH1"}),
    # old names and case
    ("get_voltage('SEN')", "get_voltage", {"channel_name": "RES"}),
    ("get_voltage('an8')", "get_voltage", {"channel_name": "VOL"}),
    ("get_voltage('ch3')", "get_voltage", {"channel_name": "CH3"}),
    ("get_voltage(channel_name='MIC')", "get_voltage", {"channel_name": "MIC"}),
    ("get_freq('ID2')", "get_freq", {"channel": "LA2", "timeout": 1}),
    ("get_freq('CNTR', timeout=0.5)", "get_freq", {"channel": "FRQ", "timeout": 0.5}),
    ("set_wave('W2', 440)", "set_wave", {"chan": "SI2", "freq": 440.0}),
    (
        "waveform_generate('W1', 1000)",
        "waveform_generate",
        {
            "channels": "SI1",
            "frequency": 1000.0,
            "phase": 0,
        },
    ),
    (
        "pwm_generate(['SQR1', 'sq3'], 1e3, [0.25, 0.75], 0.5)",
        "pwm_generate",
        {
            "channels": ["SQ1", "SQ3"],
            "frequency": 1000.0,
            "duty_cycles": [0.25, 0.75],
            "phases": 0.5,
        },
    ),
    (
        "MeasureInterval('ID1', 'ID2', 'rising', 'four rising edges')",
        "MeasureInterval",
        {
            "channel1": "LA1",
            "channel2": "LA2",
            "edge1": "rising",
            "edge2": "four rising edges",
            "timeout": 0.1,
        },
    ),
    # numbers: ints for floats, integral floats for ints, signs, bases
    (
        "get_average_voltage('CH1', 10)",
        "get_average_voltage",
        {
            "channel_name": "CH1",
            "samples": 10,
        },
    ),
    (
        "get_average_voltage('CH1', samples=1e1)",
        "get_average_voltage",
        {
            "channel_name": "CH1",
            "samples": 10,
        },
    ),
    ("capture1('CH1', 100, 10)", "capture1", {"ch": "CH1", "ns": 100, "tg": 10.0}),
    ("capture1('CH1', ns=0x64, tg=0.5)", "capture1", {"ch": "CH1", "ns": 100, "tg": 0.5}),
    ("set_pv1(-5)", "set_pv1", {"val": -5.0}),
    ("set_pv1(+4.5)", "set_pv1", {"val": 4.5}),
    ("set_pv1(0b1)", "set_pv1", {"val": 1.0}),
    ("set_pv2(-3.3)", "set_pv2", {"val": -3.3}),
    ("set_pv3(0)", "set_pv3", {"val": 0.0}),
    ("set_pcs(3.3e-3)", "set_pcs", {"val": 0.0033}),
    ("set_sine1(0.1)", "set_sine1", {"freq": 0.1}),
    ("select_range('CH1', 16.0)", "select_range", {"channel": "CH1", "voltage_range": 16.0}),
    (
        "oscilloscope_select_range('CH2', 1.5)",
        "oscilloscope_select_range",
        {
            "channel": "CH2",
            "voltage_range": 1.5,
        },
    ),
    # defaults and keywords
    ("capture2(50, 10)", "capture2", {"ns": 50, "tg": 10.0, "TraceOneRemap": "CH1"}),
    ("capture2(1600, 2, 'MIC')", "capture2", {"ns": 1600, "tg": 2.0, "TraceOneRemap": "MIC"}),
    (
        "capture2(100, 2, TraceOneRemap='SEN')",
        "capture2",
        {
            "ns": 100,
            "tg": 2.0,
            "TraceOneRemap": "RES",
        },
    ),
    ("capture4(2500, 1.75)", "capture4", {"ns": 2500, "tg": 1.75, "TraceOneRemap": "CH1"}),
    ("sqr1(1000)", "sqr1", {"freq": 1000.0, "duty_cycle": 50}),
    ("sqr1(freq=4, duty_cycle=0)", "sqr1", {"freq": 4.0, "duty_cycle": 0.0}),
    ("get_freq()", "get_freq", {"channel": "FRQ", "timeout": 1}),
    ("countPulses()", "countPulses", {"channel": "RES"}),
    ("get_resistance()", "get_resistance", {}),
    ("set_w2(5e3, 'tria')", "set_w2", {"freq": 5000.0, "waveType": "tria"}),
    ("set_w1(100, waveType=None)", "set_w1", {"freq": 100.0, "waveType": None}),
    # booleans: 0/1 accepted where a bool is expected
    (
        "set_state(SQR1=1, SQR2=0)",
        "set_state",
        {
            "SQR1": True,
            "SQR2": False,
            "SQR3": None,
            "SQR4": None,
        },
    ),
    (
        "set_state(SQR3=True)",
        "set_state",
        {
            "SQR1": None,
            "SQR2": None,
            "SQR3": True,
            "SQR4": None,
        },
    ),
    (
        "pwm_set_state(sq1='high', sq4=False)",
        "pwm_set_state",
        {
            "sq1": "HIGH",
            "sq2": None,
            "sq3": None,
            "sq4": False,
        },
    ),
    (
        "sqrPWM(1000, 0.5, 0.25, 0.5, 0.5, 0.5, 0.75, 0.5)",
        "sqrPWM",
        {
            "freq": 1000.0,
            "h0": 0.5,
            "p1": 0.25,
            "h1": 0.5,
            "p2": 0.5,
            "h2": 0.5,
            "p3": 0.75,
            "h3": 0.5,
        },
    ),
    # unions, lists and tuples
    (
        "oscilloscope_capture(1, 1000, 1)",
        "oscilloscope_capture",
        {
            "channels": 1,
            "samples": 1000,
            "timegap": 1.0,
            "trigger": None,
            "trigger_channel": None,
        },
    ),
    (
        "oscilloscope_capture('vol', 1000, 1, trigger=-1)",
        "oscilloscope_capture",
        {
            "channels": "VOL",
            "samples": 1000,
            "timegap": 1.0,
            "trigger": -1.0,
            "trigger_channel": None,
        },
    ),
    (
        "oscilloscope_capture(4, 2500, 1.75, None, 'MIC')",
        "oscilloscope_capture",
        {
            "channels": 4,
            "samples": 2500,
            "timegap": 1.75,
            "trigger": None,
            "trigger_channel": "MIC",
        },
    ),
    (
        "waveform_generate(['SI1', 'SI2'], (1000, 2000), 90)",
        "waveform_generate",
        {
            "channels": ["SI1", "SI2"],
            "frequency": [1000.0, 2000.0],
            "phase": 90.0,
        },
    ),
    (
        "power_supply_set(pcs=0)",
        "power_supply_set",
        {
            "pv1": None,
            "pv2": None,
            "pv3": None,
            "pcs": 0.0,
        },
    ),
    (
        "logic_analyzer_capture(2, 100, modes=['rising', 'falling'])",
        "logic_analyzer_capture",
        {
            "channels": 2,
            "events": 100,
            "timeout": 0.5,
            "modes": ["rising", "falling"],
            "e2e_time": None,
        },
    ),
    (
        "logic_analyzer_capture(['ID1', 'LA3'], events=1)",
        "logic_analyzer_capture",
        {
            "channels": ["LA1", "LA3"],
            "events": 1,
            "timeout": 0.5,
            "modes": ["any", "any", "any", "any"],
            "e2e_time": None,
        },
    ),
    (
        "logic_analyzer_measure_interval(('LA1', 'LA2'), ['rising', 'any'], timeout=0.01)",
        "logic_analyzer_measure_interval",
        {"channels": ["LA1", "LA2"], "modes": ["rising", "any"], "timeout": 0.01},
    ),
    (
        "logic_analyzer_count_pulses(interval=10)",
        "logic_analyzer_count_pulses",
        {
            "channel": "FRQ",
            "interval": 10.0,
        },
    ),
]

BAD: list[tuple[str, str, dict[str, Any]]] = [
    # empty, too long, too deep
    ("", "empty function string: write one call such as get_voltage('CH1')", {}),
    ("   \n ", "empty function string: write one call such as get_voltage('CH1')", {}),
    (
        "get_voltage('CH1')" + " " * 1000,
        "function string too long: 1018 characters (at most 1000 allowed)",
        {"length": 1018, "max_length": 1000},
    ),
    ("x" * 1001, "function string too long: 1001 characters (at most 1000 allowed)", {}),
    (
        "(" * 300 + ")" * 300,
        f"function string nested too deeply at column 9 {TOO_DEEP}",
        {"column": 9, "max_nesting": 8},
    ),
    ("-" * 999 + "1", f"function string nested too deeply at column 9 {TOO_DEEP}", {"column": 9}),
    (
        "set_pv1(" + "-" * 20 + "1)",
        f"function string nested too deeply at column 17 {TOO_DEEP}",
        {"column": 17},
    ),
    ("not " * 100 + "1", f"function string nested too deeply at column 33 {TOO_DEEP}", {}),
    (
        "get_voltage('CH1', [1, [2, [3, [4, [5, [6, [7, [8]]]]]]]])",
        f"function string nested too deeply at column 48 {TOO_DEEP}",
        {"column": 48},
    ),
    ("get_voltage('CH1\x00')", "a function string cannot contain a null character", {}),
    # not a call at all
    (
        "get_voltage",
        f"{NOT_A_CALL}; found the name get_voltage at column 1; call it with parentheses, "
        "e.g. get_voltage('CH1')",
        {"found": "Name", "column": 1},
    ),
    ("__builtins__", f"{NOT_A_CALL}; found the name __builtins__ at column 1", {"found": "Name"}),
    ("42", f"{NOT_A_CALL}; found a constant at column 1", {"found": "Constant"}),
    ("'CH1'", f"{NOT_A_CALL}; found a constant at column 1", {}),
    ("1 + 2", f"{NOT_A_CALL}; found an operator expression at column 1", {"found": "BinOp"}),
    ("[get_voltage('CH1')]", f"{NOT_A_CALL}; found a list at column 1", {"found": "List"}),
    (
        "get_voltage('CH1') and get_voltage('CH2')",
        f"{NOT_A_CALL}; found an operator expression at column 1",
        {"found": "BoolOp"},
    ),
    (
        "get_voltage('CH1') if True else 0",
        f"{NOT_A_CALL}; found a conditional expression at column 1",
        {"found": "IfExp"},
    ),
    ("lambda: get_voltage('CH1')", f"{NOT_A_CALL}; found a lambda at column 1", {}),
    ("await get_voltage('CH1')", f"{NOT_A_CALL}; found an await at column 1", {}),
    ("get_voltage('CH1')[0]", f"{NOT_A_CALL}; found a subscript at column 1", {}),
    (
        "get_voltage('CH1').real",
        f"{NOT_A_CALL}; found an attribute access (get_voltage('CH1').real) at column 1",
        {"found": "Attribute"},
    ),
    # unknown names, with suggestions
    (
        "get_voltag('CH1')",
        "unknown function 'get_voltag'; did you mean get_voltage, get_average_voltage or "
        "measure_voltage?",
        {"suggestions": ["get_voltage", "get_average_voltage", "measure_voltage"], "column": 1},
    ),
    (
        "GET_VOLTAGE('CH1')",
        "unknown function 'GET_VOLTAGE'; did you mean get_voltage, get_average_voltage or "
        "get_state?",
        {"name": "GET_VOLTAGE"},
    ),
    (
        "\uff47\uff45\uff54_voltage('CH1')",
        "unknown function '\uff47\uff45\uff54_voltage'; did you mean get_voltage, "
        "get_average_voltage or get_state?",
        {"name": "\uff47\uff45\uff54_voltage"},
    ),
    ("foo()", "unknown function 'foo'; GET /v1/functions lists the functions", {"suggestions": []}),
    ("é()", "unknown function 'é'; GET /v1/functions lists the functions", {}),
    (
        "__import__('os')",
        "unknown function '__import__'; GET /v1/functions lists the functions",
        {},
    ),
    ("exec('import os')", "unknown function 'exec'; GET /v1/functions lists the functions", {}),
    ("eval('1')", "unknown function 'eval'; GET /v1/functions lists the functions", {}),
    # attributes
    (
        "os.system('ls')",
        f"{ONE_CALL}: found an attribute access (os.system) at column 1",
        {"found": "Attribute", "column": 1},
    ),
    (
        "().__class__.__bases__[0].__subclasses__()",
        f"{ONE_CALL}: found an attribute access (().__class__.__bases__[0].__subclasses__) "
        "at column 1",
        {},
    ),
    ("get_voltage.__globals__['x']()", f"{ONE_CALL}: found a subscript at column 1", {}),
    # arguments that are not literals
    (
        "get_voltage(get_voltage('CH1'))",
        f"{ONE_CALL}: found a nested call at column 13",
        {"found": "Call", "column": 13},
    ),
    (
        "get_voltage(CH1)",
        f"{ONE_CALL}: found the name CH1 at column 13 (text needs quotes, e.g. 'CH1')",
        {"found": "Name"},
    ),
    (
        "get_voltage(channel_name=SEN)",
        f"{ONE_CALL}: found the name SEN at column 26 (text needs quotes, e.g. 'SEN')",
        {},
    ),
    (
        "capture1('CH1', 10*10, 1)",
        f"{ONE_CALL}: found an operator expression at column 17",
        {"found": "BinOp"},
    ),
    (
        "capture1('CH1', -(-1), 1)",
        f"{ONE_CALL}: found a sign on something other than a number at column 17",
        {},
    ),
    (
        "set_pv1(-True)",
        f"{ONE_CALL}: found a sign on something other than a number at column 9",
        {"found": "UnaryOp"},
    ),
    ("set_pv1(~1)", f"{ONE_CALL}: found an operator expression at column 9", {}),
    ("set_pv1(not 1)", f"{ONE_CALL}: found an operator expression at column 9", {}),
    ("get_voltage('CH1' == 'CH1')", f"{ONE_CALL}: found a comparison at column 13", {}),
    (
        "get_voltage([c for c in 'CH1'])",
        f"{ONE_CALL}: found a comprehension at column 13",
        {"found": "ListComp"},
    ),
    ("get_voltage(c for c in 'CH1')", f"{ONE_CALL}: found a comprehension at column 12", {}),
    ("get_voltage(lambda: 'CH1')", f"{ONE_CALL}: found a lambda at column 13", {"found": "Lambda"}),
    (
        "get_voltage(f'CH{1}')",
        f"{ONE_CALL}: found an f-string at column 13",
        {"found": "JoinedStr"},
    ),
    (
        "get_voltage(*['CH1'])",
        f"{ONE_CALL}: found a starred argument (*) at column 13",
        {"found": "Starred"},
    ),
    (
        "get_voltage(**{'channel_name': 'CH1'})",
        f"{ONE_CALL}: found keyword unpacking (**) at column 13",
        {"found": "keyword"},
    ),
    ("get_voltage({'CH1'})", f"{ONE_CALL}: found a set at column 13", {}),
    ("get_voltage({'channel_name': 'CH1'})", f"{ONE_CALL}: found a dict at column 13", {}),
    ("get_voltage(b'CH1')", f"{ONE_CALL}: found a bytes literal at column 13", {}),
    ("set_pv1(1j)", f"{ONE_CALL}: found a complex number at column 9", {}),
    ("get_voltage(...)", f"{ONE_CALL}: found an ellipsis (...) at column 13", {}),
    (
        "get_voltage('CH1' if 1 else 'CH2')",
        f"{ONE_CALL}: found a conditional expression at column 13",
        {},
    ),
    (
        "get_voltage(x := 'CH1')",
        f"{ONE_CALL}: found an assignment expression (:=) at column 13",
        {"found": "NamedExpr"},
    ),
    ("get_voltage('CH1'[0:3])", f"{ONE_CALL}: found a subscript at column 13", {}),
    (
        "capture1(\n'CH1', 100, x)",
        f"{ONE_CALL}: found the name x at line 2, column 13 (text needs quotes, e.g. 'x')",
        {"line": 2, "column": 13},
    ),
    (
        "\n\n  capture1('CH1',\n  100, x)",
        f"{ONE_CALL}: found the name x at line 4, column 8 (text needs quotes, e.g. 'x')",
        {"line": 4, "column": 8},
    ),
    # statements, several calls
    (
        "get_voltage('CH1'); get_voltage('CH2')",
        f"{ONE_CALL}: found 2 statements; the second starts at column 21",
        {"count": 2, "column": 21},
    ),
    ("a();b()", f"{ONE_CALL}: found 2 statements; the second starts at column 5", {}),
    (
        "get_voltage('CH1')\n\nget_voltage('CH2')",
        f"{ONE_CALL}: found 2 statements; the second starts at line 3, column 1",
        {"line": 3},
    ),
    ("import os", f"{ONE_CALL}: found an import at column 1", {"found": "Import"}),
    ("x = get_voltage('CH1')", f"{ONE_CALL}: found an assignment at column 1", {"found": "Assign"}),
    ("yield get_voltage('CH1')", f"{ONE_CALL}: found a yield at column 1", {"found": "Yield"}),
    ("del x", f"{ONE_CALL}: found a del statement at column 1", {}),
    # syntax errors, with the column
    (
        "get_voltage('CH1'",
        "syntax error at column 12: '(' was never closed",
        {"column": 12, "error": "'(' was never closed"},
    ),
    ("get_voltage('CH1'))", "syntax error at column 19: unmatched ')'", {"column": 19}),
    (
        "capture1('CH1' 100, 10)",
        "syntax error at column 10: invalid syntax. Perhaps you forgot a comma?",
        {},
    ),
    (
        "get_voltage(channel_name='CH1', 'CH2')",
        "syntax error at column 38: positional argument follows keyword argument",
        {},
    ),
    # binding arguments to parameters
    (
        "get_voltage(channel_name='CH1', channel_name='CH2')",
        "get_voltage() got the keyword argument 'channel_name' twice",
        {"parameter": "channel_name", "column": 33},
    ),
    (
        "get_voltage('CH1', channel_name='CH2')",
        "get_voltage() got two values for parameter 'channel_name'",
        {},
    ),
    (
        "get_voltage()",
        f"parameter 'channel_name' of get_voltage() is required (one of {CHANNELS}); "
        "signature: get_voltage(channel_name)",
        {"parameter": "channel_name"},
    ),
    (
        "sqr1()",
        "parameter 'freq' of sqr1() is required (a number); signature: sqr1(freq, duty_cycle=50)",
        {},
    ),
    (
        "get_voltage('CH1', 'CH2')",
        "get_voltage() takes at most 1 positional argument (2 given); "
        "signature: get_voltage(channel_name)",
        {"signature": "get_voltage(channel_name)"},
    ),
    (
        "capture1('CH1',\n 100, 10, 5)",
        "capture1() takes at most 3 positional arguments (4 given); "
        "signature: capture1(ch, ns, tg)",
        {},
    ),
    (
        "get_resistance(1)",
        "get_resistance() takes no arguments (1 given); signature: get_resistance()",
        {},
    ),
    (
        "get_voltage(chanel_name='CH1')",
        "get_voltage() has no parameter 'chanel_name'; did you mean 'channel_name'? "
        "(parameters: channel_name)",
        {"suggestions": ["channel_name"]},
    ),
    (
        "set_state(SQ1=1)",
        "set_state() has no parameter 'SQ1'; did you mean 'SQR1'? "
        "(parameters: SQR1, SQR2, SQR3, SQR4)",
        {},
    ),
    # types
    (
        "get_voltage(1)",
        f"parameter 'channel_name' of get_voltage() must be one of {CHANNELS}, not a number (1)",
        {"parameter": "channel_name", "expected": "str"},
    ),
    (
        "get_voltage(None)",
        f"parameter 'channel_name' of get_voltage() must be one of {CHANNELS}, not None",
        {},
    ),
    (
        "get_voltage(['CH1'])",
        f"parameter 'channel_name' of get_voltage() must be one of {CHANNELS}, "
        "not a list of 1 item",
        {},
    ),
    (
        "set_pv1(True)",
        "parameter 'val' of set_pv1() must be a number, not a boolean (True)",
        {"expected": "float"},
    ),
    ("set_pv1('1')", "parameter 'val' of set_pv1() must be a number, not a string ('1')", {}),
    ("set_pv1(None)", "parameter 'val' of set_pv1() must be a number, not None", {}),
    ("set_pv1(1e999)", "parameter 'val' of set_pv1() must be a finite number, not inf", {}),
    ("set_pv1(" + "9" * 30 + ")", "parameter 'val' of set_pv1() is too large", {}),
    (
        "capture1('CH1', 100.5, 10)",
        "parameter 'ns' of capture1() must be a whole number, not 100.5",
        {},
    ),
    (
        "oscilloscope_capture(True, 100, 1)",
        "parameter 'channels' of oscilloscope_capture() must be a whole number or one of "
        f"{CHANNELS}, not a boolean (True)",
        {"expected": "int | str"},
    ),
    (
        "pwm_set_state(sq1=2)",
        "parameter 'sq1' of pwm_set_state() must be True or False, one of 'HIGH', 'LOW', 'PWM' "
        "or None, not a number (2)",
        {},
    ),
    (
        "set_state(SQR1=2)",
        "parameter 'SQR1' of set_state() must be True or False or None, not a number (2)",
        {},
    ),
    (
        "pwm_generate(['SQ1', 5], 100, 0.5)",
        "parameter 'channels[1]' of pwm_generate() must be a string, not a number (5)",
        {"parameter": "channels", "index": 1},
    ),
    (
        "pwm_generate(['SQ1', ['SQ2']], 100, 0.5)",
        "parameter 'channels[1]' of pwm_generate() must be a string, not a list of 1 item",
        {},
    ),
    # allowed values, with suggestions
    (
        "get_voltage('CH9')",
        f"parameter 'channel_name' of get_voltage() must be one of {CHANNELS}; got 'CH9'; "
        "did you mean 'CH3', 'CH2' or 'CH1'?",
        {"suggestions": ["CH3", "CH2", "CH1"]},
    ),
    (
        "get_voltage('XYZ')",
        f"parameter 'channel_name' of get_voltage() must be one of {CHANNELS}; got 'XYZ'",
        {"suggestions": [], "allowed": ["CH1", "CH2", "CH3", "MIC", "CAP", "RES", "VOL", "AN4"]},
    ),
    (
        "get_voltage('\uff23\uff28\uff11')",
        f"parameter 'channel_name' of get_voltage() must be one of {CHANNELS}; "
        "got '\uff23\uff28\uff11'",
        {},
    ),
    (
        "get_voltage('CH1\u200b')",
        f"parameter 'channel_name' of get_voltage() must be one of {CHANNELS}; "
        "got 'CH1\\u200b'; did you mean 'CH1', 'CH3' or 'CH2'?",
        {},
    ),
    (
        "oscilloscope_select_range('CH1', 7)",
        "parameter 'voltage_range' of oscilloscope_select_range() must be one of 16, 8, 4, 3, 2, "
        "1.5, 1, 0.5; got 7",
        {"allowed": [16, 8, 4, 3, 2, 1.5, 1, 0.5]},
    ),
    (
        "oscilloscope_select_range('CH3', 4)",
        "parameter 'channel' of oscilloscope_select_range() must be one of 'CH1', 'CH2'; "
        "got 'CH3'; did you mean 'CH2' or 'CH1'?",
        {},
    ),
    (
        "pwm_set_state(sq1='ON')",
        "parameter 'sq1' of pwm_set_state() must be one of 'HIGH', 'LOW', 'PWM'; got 'ON'",
        {},
    ),
    (
        "pwm_generate(['SQ1', 'SQ9'], 100, 0.5)",
        "parameter 'channels[1]' of pwm_generate() must be one of 'SQ1', 'SQ2', 'SQ3', 'SQ4'; "
        "got 'SQ9'; did you mean 'SQ4', 'SQ3' or 'SQ2'?",
        {"index": 1},
    ),
    (
        "logic_analyzer_capture(1, modes=['disabled'])",
        "parameter 'modes[0]' of logic_analyzer_capture() must be one of 'any', 'rising', "
        "'falling', 'four rising', 'sixteen rising'; got 'disabled'",
        {},
    ),
    # ranges, as pslab enforces them
    (
        "set_pv1(6)",
        "parameter 'val' of set_pv1() must be between -5 and 5 V, got 6",
        {"minimum": -5.0, "maximum": 5.0},
    ),
    ("set_pv1(1_000)", "parameter 'val' of set_pv1() must be between -5 and 5 V, got 1000", {}),
    ("set_pv2(3.4)", "parameter 'val' of set_pv2() must be between -3.3 and 3.3 V, got 3.4", {}),
    ("set_pv3(-0.1)", "parameter 'val' of set_pv3() must be between 0 and 3.3 V, got -0.1", {}),
    ("set_pcs(0.01)", "parameter 'val' of set_pcs() must be between 0 and 0.0033 A, got 0.01", {}),
    (
        "capture1('CH1', 0, 10)",
        "parameter 'ns' of capture1() must be between 1 and 10000, got 0",
        {},
    ),
    (
        "capture1('CH1', 100, 0.25)",
        "parameter 'tg' of capture1() must be between 0.5 and 8191.875 µs, got 0.25",
        {},
    ),
    (
        "capture1('CH1', 100, 8192)",
        "parameter 'tg' of capture1() must be between 0.5 and 8191.875 µs, got 8192",
        {},
    ),
    (
        "capture2(5001, 1)",
        "parameter 'ns' of capture2() must be at most 5000 when sampling 2 channels, got 5001",
        {"maximum": 5000},
    ),
    (
        "capture2(100, 0.5)",
        "parameter 'tg' of capture2() must be at least 0.875 µs when sampling 2 channels, got 0.5",
        {"minimum": 0.875},
    ),
    (
        "capture4(2501, 2)",
        "parameter 'ns' of capture4() must be at most 2500 when sampling 4 channels, got 2501",
        {},
    ),
    (
        "capture4(100, 1)",
        "parameter 'tg' of capture4() must be at least 1.75 µs when sampling 4 channels, got 1",
        {},
    ),
    (
        "capture1('CH1', 10000, 2000)",
        "parameter 'ns' of capture1() must be at most 5000 with a timegap of 2000 µs (a capture "
        "lasts at most 10 s), got 10000",
        {"maximum": 5000},
    ),
    (
        "oscilloscope_capture(1, 100, 0.5, trigger=1)",
        "parameter 'timegap' of oscilloscope_capture() must be at least 0.75 µs when sampling "
        "1 channel with a trigger, got 0.5",
        {},
    ),
    (
        "oscilloscope_capture(2, 100, 1, trigger_channel='VOL')",
        "parameter 'trigger_channel' of oscilloscope_capture() must be a sampled channel "
        "('CH1', 'CH2'), got 'VOL'",
        {"allowed": ["CH1", "CH2"]},
    ),
    (
        "oscilloscope_capture(3, 3000, 2)",
        "parameter 'samples' of oscilloscope_capture() must be at most 2500 when sampling "
        "3 channels, got 3000",
        {},
    ),
    (
        "oscilloscope_capture(5, 100, 1)",
        "parameter 'channels' of oscilloscope_capture() must be between 1 and 4, got 5",
        {},
    ),
    (
        "oscilloscope_capture(1, 100, 1, trigger=20)",
        "parameter 'trigger' of oscilloscope_capture() must be between -16.5 and 16.5 V, got 20",
        {},
    ),
    (
        "waveform_generate('SI1', 0.05)",
        "parameter 'frequency' of waveform_generate() must be between 0.1 and 2000000 Hz, got 0.05",
        {},
    ),
    (
        "waveform_generate('SI1', 1000, 360)",
        "parameter 'phase' of waveform_generate() must be at least 0 and less than 360 degrees, "
        "got 360",
        {},
    ),
    (
        "pwm_generate('SQ1', 2, 0.5)",
        "parameter 'frequency' of pwm_generate() must be between 4 and 10000000 Hz, got 2",
        {},
    ),
    (
        "pwm_generate('SQ1', 100, 1.5)",
        "parameter 'duty_cycles' of pwm_generate() must be between 0 and 1, got 1.5",
        {},
    ),
    (
        "logic_analyzer_capture(1, 2501)",
        "parameter 'events' of logic_analyzer_capture() must be between 1 and 2500, got 2501",
        {},
    ),
    (
        "get_freq('ID1', 11)",
        "parameter 'timeout' of get_freq() must be between 0.001 and 10 s, got 11",
        {},
    ),
    (
        "get_freq('ID1', 0)",
        "parameter 'timeout' of get_freq() must be between 0.001 and 10 s, got 0",
        {},
    ),
    # list lengths and rules across parameters
    (
        "waveform_generate(['SI1', 'SI1'], 1000)",
        "parameter 'channels' of waveform_generate() must not name the same pin twice",
        {},
    ),
    (
        "waveform_generate(['SI1', 'SI2'], [1000])",
        "parameter 'frequency' of waveform_generate() must have 2 items (one per channel in "
        "'channels'), got 1",
        {},
    ),
    (
        "waveform_generate(['SI1', 'SI2', 'SI1'], 100)",
        "parameter 'channels' of waveform_generate() must have 1 to 2 items, got 3",
        {"max_items": 2},
    ),
    (
        "pwm_generate([], 100, 0.5)",
        "parameter 'channels' of pwm_generate() must have 1 to 4 items, got 0",
        {},
    ),
    (
        "pwm_generate('SQ1', 1000, [0.5, 0.5])",
        "parameter 'duty_cycles' of pwm_generate() must have 1 item (one per channel in "
        "'channels'), got 2",
        {},
    ),
    (
        "logic_analyzer_capture(2, modes=['any'])",
        "parameter 'modes' of logic_analyzer_capture() must have at least 2 items (one per "
        "channel), got 1",
        {},
    ),
    (
        "logic_analyzer_capture(['LA1'], 10)",
        "parameter 'channels' of logic_analyzer_capture() must have exactly 2 items, got 1",
        {},
    ),
]


class Tripwire(Exception):
    """Something tried to evaluate, execute or run a binding."""


class _Watching:
    on = False
    seen: list[str] = []


_WATCHING = _Watching()
_FORBIDDEN_EVENTS = {
    "exec",
    "import",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "subprocess.Popen",
    "ctypes.dlopen",
    "object.__getattr__",
}


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _WATCHING.on and event in _FORBIDDEN_EVENTS:
        _WATCHING.seen.append(event)


sys.addaudithook(_audit)  # hooks cannot be removed; this one only records while watching


def _boom(*args: Any, **kwargs: Any) -> Any:
    raise Tripwire("eval/exec called while parsing a function string")


def _binding_tripwire(sciencelab: Any, args: dict[str, Any]) -> Any:
    raise Tripwire("a binding ran while parsing a function string")


@pytest.fixture(scope="module")
def guarded_registry() -> Registry:
    """The real catalog with every binding replaced by a tripwire."""
    return Registry(
        dataclasses.replace(function, binding=_binding_tripwire) for function in default_registry()
    )


@pytest.fixture
def no_evaluation(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    real_compile = builtins.compile

    def ast_only_compile(
        source: Any, filename: Any, mode: str, flags: int = 0, *a: Any, **k: Any
    ) -> Any:
        if not flags & ast.PyCF_ONLY_AST:
            raise Tripwire(f"compile() to code while parsing: {source!r}")
        return real_compile(source, filename, mode, flags, *a, **k)

    monkeypatch.setattr(builtins, "eval", _boom)
    monkeypatch.setattr(builtins, "exec", _boom)
    monkeypatch.setattr(builtins, "compile", ast_only_compile)
    yield


def watched_parse(source: str, registry: Registry) -> ParsedCall:
    """parse_call with the audit hook recording forbidden events; asserts there were none."""
    _WATCHING.seen = []
    _WATCHING.on = True
    try:
        return parse_call(source, registry)
    finally:
        _WATCHING.on = False
        assert _WATCHING.seen == [], f"audit events while parsing: {_WATCHING.seen}"


def test_the_table_is_big_enough() -> None:
    assert len(GOOD) + len(BAD) >= 60
    sources = [row[0] for row in GOOD + BAD]
    assert len(sources) == len(set(sources)), "duplicate rows"


@pytest.mark.parametrize(("source", "name", "args"), GOOD, ids=[repr(r[0])[:50] for r in GOOD])
def test_good_strings_parse(
    source: str,
    name: str,
    args: dict[str, Any],
    guarded_registry: Registry,
    no_evaluation: None,
) -> None:
    call = watched_parse(source, guarded_registry)
    assert isinstance(call, ParsedCall)
    assert call.function.name == name
    assert call.args == args
    # Types matter as much as values: 10 and 10.0 compare equal.
    assert [type(v) for v in call.args.values()] == [type(v) for v in args.values()]


@pytest.mark.parametrize(("source", "message", "details"), BAD, ids=[repr(r[0])[:50] for r in BAD])
def test_bad_strings_are_refused_with_a_teaching_message(
    source: str,
    message: str,
    details: dict[str, Any],
    guarded_registry: Registry,
    no_evaluation: None,
) -> None:
    with pytest.raises(FunctionStringError) as caught:
        watched_parse(source, guarded_registry)
    error = caught.value
    assert error.message == message
    assert error.code == "bad_function_string"
    assert error.details.items() >= details.items()


def test_the_tripwires_work(guarded_registry: Registry, no_evaluation: None) -> None:
    with pytest.raises(Tripwire):
        eval("1")  # proving the tripwire is armed
    with pytest.raises(Tripwire):
        compile("1", "<test>", "eval")
    call = parse_call("get_resistance()", guarded_registry)
    with pytest.raises(Tripwire):
        call.invoke(object())


def test_the_audit_hook_sees_execution_and_imports() -> None:
    real_exec = exec
    _WATCHING.seen = []
    _WATCHING.on = True
    try:
        real_exec("1")
        with contextlib.suppress(ImportError):
            __import__("remotelab_no_such_module")
    finally:
        _WATCHING.on = False
    assert "exec" in _WATCHING.seen
    assert "import" in _WATCHING.seen
    _WATCHING.seen = []


def test_limits_are_parameters() -> None:
    registry = default_registry()
    with pytest.raises(FunctionStringError, match="too long: 19 characters"):
        parse_call("get_voltage('CH1')\n", registry, max_chars=18)
    assert parse_call("get_voltage('CH1')", registry, max_chars=18).args == {"channel_name": "CH1"}
    with pytest.raises(FunctionStringError, match="nested too deeply at column 12"):
        parse_call("set_pv1(((((1)))))", registry, max_nesting=4)
    assert parse_call("set_pv1((((1))))", registry, max_nesting=4).args == {"val": 1.0}


def test_a_huge_nesting_limit_still_cannot_blow_the_stack() -> None:
    source = "get_voltage(" + "[" * 5000 + "]" * 5000 + ")"
    with pytest.raises(FunctionStringError) as caught:
        parse_call(source, default_registry(), max_chars=20_000, max_nesting=10_000)
    # Python's parser stops at 200 brackets, before anything could recurse.
    assert caught.value.message == "syntax error at column 212: too many nested parentheses"


def test_non_text_is_refused() -> None:
    with pytest.raises(FunctionStringError, match="must be text"):
        parse_call(b"get_voltage('CH1')", default_registry())  # type: ignore[arg-type]


def test_canonical_form_names_every_argument() -> None:
    call = parse_call("capture2(100, 2, 'SEN')", default_registry())
    assert call.canonical() == "capture2(ns=100, tg=2, TraceOneRemap='RES')"
    again = parse_call(call.canonical(), default_registry())
    assert again.args == call.args


def test_bind_call_checks_values_from_the_sandbox() -> None:
    registry = default_registry()
    call = bind_call(registry, "capture1", ["SEN", 10], {"tg": 1})
    assert call.args == {"ch": "RES", "ns": 10, "tg": 1.0}
    with pytest.raises(FunctionStringError, match="did you mean capture4, capture2 or capture1"):
        bind_call(registry, "capture3", [], {})
    with pytest.raises(FunctionStringError, match="must be a number, not a dict"):
        bind_call(registry, "set_pv1", [{"x": 1}], {})


def test_defaults_are_fresh_lists() -> None:
    registry = default_registry()
    first = parse_call("logic_analyzer_capture(1)", registry)
    first.args["modes"].append("rising")
    second = parse_call("logic_analyzer_capture(1)", registry)
    assert second.args["modes"] == ["any", "any", "any", "any"]


def test_custom_limits_change_ranges() -> None:
    registry = default_registry(FunctionSettings(max_wait_seconds=0.5, max_capture_seconds=0.01))
    with pytest.raises(FunctionStringError, match=r"between 0\.001 and 0\.5 s, got 2"):
        parse_call("get_freq('ID1', 2)", registry)
    assert parse_call("get_freq()", registry).args["timeout"] == 0.5  # default clamped
    with pytest.raises(FunctionStringError, match="must be at most 100 with a timegap of 100"):
        parse_call("capture1('CH1', 101, 100)", registry)
