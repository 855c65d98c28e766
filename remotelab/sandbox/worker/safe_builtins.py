"""The builtins a script gets: a vetted subset, with the reflective ones guarded.

Left out on purpose: ``open``, ``input``, ``eval``, ``exec``, ``compile``,
``globals``, ``locals``, ``vars``, ``dir``, ``type``, ``super``, ``id``,
``memoryview``, ``bytearray``, ``breakpoint``, ``help``, ``exit``, ``quit``,
``classmethod``, ``staticmethod``, ``property``. ``getattr``, ``hasattr``,
``setattr``, ``delattr`` and ``__import__`` are the guarded versions.
``print`` is not here: RestrictedPython rewrites it to the run's printer.
"""

from __future__ import annotations

import builtins
from typing import Any

from remotelab.sandbox.worker.facades import Importer
from remotelab.sandbox.worker.guards import Guards

PLAIN_NAMES = """
abs all any ascii bin bool bytes callable chr complex dict divmod enumerate filter float
format frozenset hash hex int isinstance issubclass iter len list map max min next object oct
ord pow range repr reversed round set slice sorted str sum tuple zip
None False True Ellipsis NotImplemented
"""

EXCEPTION_NAMES = """
ArithmeticError AssertionError AttributeError BaseException BufferError EOFError
EnvironmentError Exception FloatingPointError GeneratorExit IOError ImportError IndexError
KeyError KeyboardInterrupt LookupError MemoryError ModuleNotFoundError NameError
NotImplementedError OSError OverflowError RecursionError ReferenceError RuntimeError
StopIteration SyntaxError SystemError SystemExit TabError IndentationError TimeoutError
TypeError UnboundLocalError UnicodeDecodeError UnicodeEncodeError UnicodeError
UnicodeTranslateError ValueError ZeroDivisionError Warning UserWarning DeprecationWarning
RuntimeWarning
"""


def make_builtins(guards: Guards, importer: Importer) -> dict[str, Any]:
    """The ``__builtins__`` dict of one run."""
    table: dict[str, Any] = {
        name: getattr(builtins, name) for name in (PLAIN_NAMES + EXCEPTION_NAMES).split()
    }
    table.update(
        {
            "getattr": guards.getattr,
            "hasattr": guards.hasattr,
            "setattr": guards.setattr,
            "delattr": guards.delattr,
            "__import__": importer,
            # class statements call it; RestrictedPython adds metaclass=__metaclass__
            "__build_class__": builtins.__build_class__,
        }
    )
    return table
