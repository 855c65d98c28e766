"""The restricted policy, one construct per test, with the exact message the user sees.

These run in the test process (compile + guards, no worker): the policy is
pure. Isolation is tested in test_pool.py and test_escapes.py.
"""

from __future__ import annotations

import pytest

from remotelab.sandbox.result import RunError
from remotelab.sandbox.worker.policy import SCRIPT_FILENAME, TOO_COMPLEX, compile_script
from tests.sandbox.helpers import error_of, run_local, stdout_of

UNDERSCORE = '"{}" is an invalid attribute name because it starts with "_"'
RESTRICTED = '"{}" is a restricted attribute name in the sandbox'
INSPECT = '"{}" is a restricted name, that is forbidden to access in RestrictedPython.'
ALLOWED_MODULES = "allowed: cmath, math, numpy, random, statistics, time"


def policy_error(code: str) -> str:
    kind, message, _line = error_of(code)
    assert kind == "PolicyError", (kind, message)
    return message


# --- compiling -----------------------------------------------------------------


def test_compile_returns_code_with_the_script_filename() -> None:
    code = compile_script("x = 1", 100)
    assert not isinstance(code, RunError)
    assert code.co_filename == SCRIPT_FILENAME


def test_source_over_the_cap_is_refused_before_parsing() -> None:
    # Not even valid Python: the size check comes first.
    assert compile_script("(" * 101, 100) == RunError(
        "LimitExceeded", "the script is 101 bytes long; the limit is 100", None
    )


def test_source_size_counts_utf8_bytes() -> None:
    assert isinstance(compile_script("'é'" * 20, 60), RunError)  # 80 bytes, 60 characters
    assert not isinstance(compile_script("'é'" * 15, 60), RunError)


def test_syntax_error_has_the_line() -> None:
    assert error_of("x = 1\ny = (") == ("SyntaxError", "Line 2: '(' was never closed", 2)


def test_compiler_only_syntax_error_has_the_line() -> None:
    assert error_of("x = 1\n\nreturn x") == ("SyntaxError", "Line 3: 'return' outside function", 3)


def test_indentation_error() -> None:
    assert error_of("if 1:\nx = 1") == (
        "IndentationError",
        "Line 2: expected an indented block after 'if' statement on line 1",
        2,
    )


def test_mixed_tabs_and_spaces_is_a_tab_error() -> None:
    kind, _message, line = error_of("if 1:\n\tx = 1\n        y = 2")
    assert (kind, line) == ("TabError", 3)


def test_null_byte_is_a_syntax_error() -> None:
    kind, message, _line = error_of("x = 1\0")
    assert (kind, "null bytes" in message) == ("SyntaxError", True)


def test_100000_term_expression_is_a_clean_error() -> None:
    assert error_of("x = " + "1+" * 100_000 + "1", max_script_bytes=1_000_000) == (
        "SyntaxError",
        TOO_COMPLEX,
        None,
    )


def test_deep_unary_chain_is_a_clean_error() -> None:
    assert error_of("x = " + "-" * 100_000 + "1", max_script_bytes=1_000_000)[1] == TOO_COMPLEX


def test_deep_brackets_are_a_syntax_error() -> None:
    assert error_of("x = " + "[" * 300 + "]" * 300) == (
        "SyntaxError",
        "Line 1: too many nested parentheses",
        1,
    )


def test_every_policy_error_is_listed_with_its_line() -> None:
    assert policy_error("a = 1\nb = a._x\nc = a.__y") == (
        "Line 2: " + UNDERSCORE.format("_x") + ".\nLine 3: " + UNDERSCORE.format("__y") + "."
    )


# --- names -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "_x = 1",
        "_getattr_ = None",
        "def f(_getattr_): pass",
        "for _getiter_ in []: pass",
        "[1 for _write_ in []]",
        "(_print := 1)",
        "import math as _m",
        "del _getattr_",
        "lambda _x: 1",
        "class _A: pass",
        "try:\n  pass\nexcept Exception as _e:\n  pass",
    ],
)
def test_names_starting_with_underscore_are_refused(code: str) -> None:
    assert 'starts with "_"' in policy_error(code)


def test_dunder_name_message() -> None:
    assert policy_error("__builtins__") == (
        'Line 1: "__builtins__" is an invalid variable name because it starts with "_"'
    )


def test_single_underscore_is_a_name() -> None:
    assert stdout_of("for _ in range(2): print(_)") == "0\n1\n"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("open", "name 'open' is not defined"),
        ("type", "name 'type' is not defined"),
        ("vars", "name 'vars' is not defined"),
        ("dir", "name 'dir' is not defined"),
        ("globals", "name 'globals' is not defined"),
        ("locals", "name 'locals' is not defined"),
        ("compile", "name 'compile' is not defined"),
        ("input", "name 'input' is not defined"),
        ("id", "name 'id' is not defined"),
        ("super", "name 'super' is not defined"),
        ("memoryview", "name 'memoryview' is not defined"),
        ("exit", "name 'exit' is not defined"),
    ],
)
def test_builtins_left_out(name: str, message: str) -> None:
    assert error_of(f"{name}()") == ("NameError", message, 1)


def test_breakpoint_is_a_reserved_name() -> None:
    assert policy_error("breakpoint()") == 'Line 1: "breakpoint" is a reserved name.'


def test_eval_is_refused_at_compile_time() -> None:
    assert policy_error("eval('1')") == "Line 1: Eval calls are not allowed."


def test_exec_is_refused_at_compile_time() -> None:
    assert policy_error("exec('1')") == "Line 1: Exec calls are not allowed."


# --- statements -------------------------------------------------------------------


def test_async_def_is_refused() -> None:
    assert policy_error("async def f(): pass") == (
        "Line 1: AsyncFunctionDef statements are not allowed."
    )


def test_nonlocal_is_refused() -> None:
    assert policy_error("def f():\n  x = 1\n  def g():\n    nonlocal x\n") == (
        "Line 4: Nonlocal statements are not allowed."
    )


def test_match_is_refused() -> None:
    assert policy_error("match 1:\n  case 1: pass") == "Line 1: Match statements are not allowed."


def test_except_star_is_refused() -> None:
    assert policy_error("try:\n  pass\nexcept* ValueError:\n  pass") == (
        "Line 1: TryStar statements are not allowed."
    )


def test_star_import_is_refused() -> None:
    assert policy_error("from math import *") == 'Line 1: "*" imports are not allowed.'


def test_metaclass_keyword_is_refused() -> None:
    assert policy_error("class A(metaclass=list): pass") == (
        'Line 1: The keyword argument "metaclass" is not allowed.'
    )


def test_augmented_attribute_assignment_is_refused() -> None:
    assert policy_error("a.b += 1") == "Line 1: Augmented assignment of attributes is not allowed."


def test_augmented_item_assignment_is_refused() -> None:
    assert policy_error("a[0] += 1") == (
        "Line 1: Augmented assignment of object items and slices is not allowed."
    )


# --- attributes --------------------------------------------------------------------


def test_underscore_attribute_is_refused_at_compile_time() -> None:
    assert policy_error("x = ().__class__") == "Line 1: " + UNDERSCORE.format("__class__") + "."


def test_underscore_attribute_through_getattr_is_refused_at_run_time() -> None:
    assert error_of("getattr((), '__class__')") == (
        "AttributeError",
        UNDERSCORE.format("__class__"),
        1,
    )


def test_getattr_default_does_not_hide_a_refusal() -> None:
    assert error_of("getattr((), '__class__', None)")[1] == UNDERSCORE.format("__class__")


def test_getattr_needs_a_str_name() -> None:
    assert error_of("getattr((), 1)") == ("TypeError", "attribute name must be a string", 1)


def test_hasattr_is_false_for_a_refused_name() -> None:
    assert stdout_of("print(hasattr((), '__class__'), hasattr([], 'append'))") == "False True\n"


@pytest.mark.parametrize("name", ["gi_frame", "gi_code", "f_globals", "tb_frame", "cr_frame"])
def test_inspect_attributes_are_refused_at_compile_time(name: str) -> None:
    assert policy_error(f"x.{name}") == "Line 1: " + INSPECT.format(name)


@pytest.mark.parametrize("name", ["mro", "ctypes", "cffi", "func_globals", "gi_running"])
def test_extra_restricted_attributes_are_refused_at_compile_time(name: str) -> None:
    assert policy_error(f"x.{name}") == "Line 1: " + RESTRICTED.format(name) + "."


@pytest.mark.parametrize("name", ["gi_frame", "gi_yieldfrom", "mro"])
def test_restricted_attributes_are_refused_at_run_time(name: str) -> None:
    code = f"g = (i for i in [1])\ngetattr(g, '{name}')"
    assert error_of(code) == ("AttributeError", RESTRICTED.format(name), 2)


def test_str_format_is_refused() -> None:
    assert error_of("'{0.__class__}'.format(1)") == (
        "AttributeError",
        '"format" is not allowed on strings in the sandbox: use % or f-strings',
        1,
    )


def test_str_format_map_is_refused() -> None:
    assert error_of("'{a}'.format_map({'a': 1})")[1].startswith('"format_map" is not allowed')


def test_format_on_the_str_type_is_refused() -> None:
    assert error_of("str.format('{0}', 1)")[1].startswith('"format" is not allowed on strings')


def test_percent_formatting_works() -> None:
    assert stdout_of("print('%d items at %.2f V, %s' % (3, 1.23456, 'ok'))") == (
        "3 items at 1.23 V, ok\n"
    )


def test_f_strings_work_and_their_attributes_are_guarded() -> None:
    assert stdout_of("x = 3.14159\nprint(f'{x:.2f} {\"a\"!r}')") == "3.14 'a'\n"
    assert policy_error("f'{x.__class__}'") == "Line 1: " + UNDERSCORE.format("__class__") + "."


def test_exception_obj_attribute_is_refused() -> None:
    code = "try:\n  [].nope\nexcept AttributeError as e:\n  e.obj"
    assert error_of(code) == ("AttributeError", RESTRICTED.format("obj"), 4)


def test_exception_args_are_readable() -> None:
    assert stdout_of("try:\n  raise ValueError('x')\nexcept ValueError as e:\n  print(e.args)") == (
        "('x',)\n"
    )


# --- writes -------------------------------------------------------------------------


def test_list_and_dict_items_can_be_written() -> None:
    code = "x = [1, 2]\nx[0] = 5\nd = {}\nd['a'] = 1\ndel x[1]\nprint(x, d)"
    assert stdout_of(code) == "[5] {'a': 1}\n"


def test_attributes_of_builtin_objects_cannot_be_written() -> None:
    assert error_of("x = 1\nx.real = 2") == (
        "TypeError",
        "cannot assign attributes of int objects in the sandbox",
        2,
    )


def test_items_of_a_str_cannot_be_written() -> None:
    assert error_of("s = 'abc'\ns[0] = 'x'") == (
        "TypeError",
        "cannot assign items of str objects in the sandbox",
        2,
    )


def test_script_classes_can_set_attributes() -> None:
    code = "class A:\n  def __init__(self, v):\n    self.v = v\na = A(3)\na.w = 4\nprint(a.v + a.w)"
    assert stdout_of(code) == "7\n"


def test_setattr_refuses_underscore_names_even_on_script_objects() -> None:
    code = "class A:\n  pass\nsetattr(A, '__str__', lambda self: 'x')"
    assert error_of(code) == ("AttributeError", UNDERSCORE.format("__str__"), 3)


def test_setattr_on_script_objects_works() -> None:
    assert stdout_of("class A:\n  pass\na = A()\nsetattr(a, 'x', 1)\nprint(a.x)") == "1\n"


def test_delattr_on_foreign_objects_is_refused() -> None:
    assert error_of("import math\ndelattr(math, 'pi')") == (
        "TypeError",
        "cannot delete attributes of module objects in the sandbox",
        2,
    )


def test_module_attributes_cannot_be_written() -> None:
    assert error_of("import math\nmath.pi = 3") == (
        "TypeError",
        "cannot assign attributes of module objects in the sandbox",
        2,
    )


# --- classes ---------------------------------------------------------------------------


def test_class_from_an_exception_is_allowed() -> None:
    code = "class E(ValueError):\n  pass\ntry:\n  raise E('bad')\nexcept E as e:\n  print(e)"
    assert stdout_of(code) == "bad\n"


def test_class_from_object_and_script_classes_is_allowed() -> None:
    assert stdout_of("class A(object): pass\nclass B(A): pass\nprint(isinstance(B(), A))") == (
        "True\n"
    )


@pytest.mark.parametrize("base", ["str", "int", "dict", "list", "Exception, str"])
def test_class_from_a_builtin_type_is_refused(base: str) -> None:
    assert error_of(f"class A({base}): pass") == (
        "TypeError",
        "class A: a class may derive only from object, exceptions and classes defined in the "
        "script",
        1,
    )


def test_allowed_magic_methods_can_be_defined() -> None:
    code = (
        "class P:\n  def __init__(self, x):\n    self.x = x\n"
        "  def __eq__(self, other):\n    return self.x == other.x\n"
        "print(P(1) == P(1))"
    )
    assert stdout_of(code) == "True\n"


def test_other_magic_methods_cannot_be_defined() -> None:
    assert policy_error("class A:\n  def __str__(self): return 'x'") == (
        'Line 2: "__str__" is an invalid variable name because it starts with "_"'
    )


# --- iteration, unpacking, calls, operators ------------------------------------------------


def test_unpacking_and_loops() -> None:
    code = (
        "a, (b, c) = 1, (2, 3)\n"
        "for i, (x, y) in enumerate([(4, 5)]):\n  print(a, b, c, i, x, y)\n"
        "print([i * 2 for i in range(3)], {k: v for k, v in [(1, 2)]})"
    )
    assert stdout_of(code) == "1 2 3 0 4 5\n[0, 2, 4] {1: 2}\n"


def test_star_args_and_kwargs_go_through_apply() -> None:
    assert stdout_of("f = lambda *a, **k: (a, k)\nprint(f(*[1, 2], **{'x': 3}))") == (
        "((1, 2), {'x': 3})\n"
    )


def test_augmented_assignment_of_names() -> None:
    assert stdout_of("x = 1\nx += 2\nx *= 5\nl = [1]\nl += [2]\nprint(x, l)") == "15 [1, 2]\n"


def test_generators_work() -> None:
    assert stdout_of("def g():\n  yield 1\n  yield 2\nprint(list(g()), sum(x for x in g()))") == (
        "[1, 2] 3\n"
    )


def test_tab_indentation_works() -> None:
    assert stdout_of("for i in range(2):\n\tif i:\n\t\tprint(i)") == "1\n"


# --- imports ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "module", ["os", "sys", "socket", "subprocess", "ctypes", "pslab", "remotelab", "numpy.lib"]
)
def test_imports_outside_the_allowlist_are_refused(module: str) -> None:
    assert error_of(f"import {module}") == (
        "ImportError",
        f'import of "{module}" is not allowed in the sandbox ({ALLOWED_MODULES})',
        1,
    )


def test_from_import_of_a_module_outside_the_allowlist_is_refused() -> None:
    assert error_of("from os import system")[0:2] == (
        "ImportError",
        f'import of "os" is not allowed in the sandbox ({ALLOWED_MODULES})',
    )


def test_relative_import_is_refused() -> None:
    assert error_of("from . import x") == (
        "ImportError",
        "relative imports are not allowed in the sandbox",
        1,
    )


def test_from_import_of_a_name_outside_the_facade_is_refused() -> None:
    assert error_of("from numpy import load") == (
        "ImportError",
        "cannot import name 'load' from '<unknown module name>' (unknown location)",
        1,
    )


@pytest.mark.parametrize(
    "code",
    [
        "import numpy as np\nprint(np.sin(0.0))",
        "from numpy import linspace\nprint(linspace(0, 1, 3))",
        "import numpy.fft\nprint(numpy.fft.rfftfreq(4))",
        "from numpy.fft import rfft\nprint(rfft([1, 0, 0, 0]))",
        "from numpy import random\nrandom.seed(1)\nprint(random.randint(0, 1, 2).shape)",
        "import math, cmath, statistics, random, time\nprint(math.pi > 3)",
        "from statistics import mean\nprint(mean([1, 2, 3]))",
    ],
)
def test_allowed_imports(code: str) -> None:
    assert run_local(code)["status"] == "ok"


def test_import_binds_a_facade_never_a_module() -> None:
    assert stdout_of("import numpy, math\nprint(numpy, math)") == (
        "<module 'numpy' (sandbox)> <module 'math' (sandbox)>\n"
    )


# --- printing ----------------------------------------------------------------------------


def test_print_makes_a_text_widget_and_stdout() -> None:
    result = run_local("print('a', 1, sep='-')")
    assert result["stdout"] == "a-1\n"
    assert result["widgets"] == [{"type": "text", "name": "print", "value": ["a", "1"]}]


def test_print_to_a_file_is_refused() -> None:
    assert error_of("print('x', file=[])") == (
        "TypeError",
        "print(file=...) is not available in the sandbox",
        1,
    )


def test_printed_returns_the_text_so_far() -> None:
    assert stdout_of("print('a')\nx = printed\nprint(len(x))") == "a\n2\n"


def test_print_inside_functions() -> None:
    assert stdout_of("def f():\n  print('in f')\nf()\nprint('out')") == "in f\nout\n"


# --- runtime errors ------------------------------------------------------------------------


def test_runtime_error_reports_the_innermost_user_line() -> None:
    assert error_of("def f():\n  return 1 / 0\n\nf()") == (
        "ZeroDivisionError",
        "division by zero",
        2,
    )


def test_error_inside_a_facade_reports_the_calling_line() -> None:
    assert error_of("import numpy as np\n\nnp.linalg.inv([[0, 0], [0, 0]])") == (
        "LinAlgError",
        "Singular matrix",
        3,
    )


@pytest.mark.parametrize("name", ["SystemExit", "KeyboardInterrupt", "GeneratorExit"])
def test_control_exceptions_end_the_run_as_data(name: str) -> None:
    assert error_of(f"print('before')\nraise {name}('stop')") == (name, "stop", 2)


def test_recursion_is_a_clean_error() -> None:
    assert error_of("def f(n):\n  return f(n + 1)\nf(0)") == (
        "RecursionError",
        "maximum recursion depth exceeded",
        2,
    )


def test_huge_message_is_cut() -> None:
    _kind, message, _line = error_of("raise ValueError('x' * 100000)")
    assert len(message) < 2100
    assert message.endswith(" [cut]")


def test_messages_do_not_show_server_paths() -> None:
    import numpy

    path = numpy.__file__
    _kind, message, _line = error_of(f"raise ValueError({path!r})")
    assert path not in message
    assert "<server>" in message
