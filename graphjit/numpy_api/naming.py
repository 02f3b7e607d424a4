"""The public name on every bad-input error of a numpy-named function.

Each function is composed of graphjit's ops, so a problem found deeper down (a shape that does
not broadcast in ``multiply``, a string that is no array, a numpy helper refusing an argument)
would otherwise be reported under the name of the op that found it, or no name at all.
:func:`reports_as_itself` puts the name the user called in front of such messages, keeping the
exception (its class, its traceback) as it was raised.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

__all__ = ["reports_as_itself"]

P = ParamSpec("P")
R = TypeVar("R")

# the classes bad input raises (graphjit's own are subclasses of these); others pass untouched
_BAD_INPUT = (TypeError, ValueError, IndexError, OverflowError, NotImplementedError)


def reports_as_itself(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn``, with ``"<its name>: "`` in front of the message of a TypeError, ValueError,
    IndexError, OverflowError or NotImplementedError raised in it that does not start so
    already. The exception object itself is re-raised (its class and attributes kept)."""
    prefix = f"{fn.__name__}: "

    @functools.wraps(fn)
    def named(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except _BAD_INPUT as exc:
            first = exc.args[0] if exc.args else None
            # an exception whose message is not its first argument (numpy's AxisError) keeps it
            if isinstance(first, str) and str(exc) == first and not first.startswith(prefix):
                exc.args = (prefix + first, *exc.args[1:])
            raise

    return named
