"""graphjit's exception and warning types.

Many belong to two families at once. graphjit's rule is that bad input raises TypeError or
ValueError, naming the problem. PyTorch raises RuntimeError where a tensor is used in a way it
does not allow (``backward()`` of a non-scalar without a gradient, an int tensor asked to require
grad, a freed tape), and numpy raises OverflowError for a python int that does not fit an array's
dtype. The classes here are both, so code written against either convention catches them.
"""

from __future__ import annotations

# raised inside compiled programs, so defined with the kernels (an exported model carries them)
from graphjit.kernels.bounds import REFUSED_NEGATIVE, IndexOutOfBoundsError

__all__ = [
    "REFUSED_NEGATIVE",
    "FileFormatError",
    "IndexOutOfBoundsError",
    "IntegerOutOfRangeError",
    "SlowCompileWarning",
    "TensorUsageError",
    "TracedValueError",
    "VARIABLE_RESHAPED",
]


class TensorUsageError(RuntimeError, ValueError):
    """A tensor used in a way autograd or the tensor rules do not allow (PyTorch raises
    RuntimeError for these)."""


class IntegerOutOfRangeError(OverflowError, ValueError):
    """A python int that does not fit the integer dtype it has to take (``int32_x + 2**40``;
    numpy raises OverflowError)."""


class FileFormatError(ValueError):
    """A saved file written in a graphjit file format version this graphjit does not read (by a
    newer or a much older graphjit). ``found`` and ``supported`` are the version numbers."""

    def __init__(self, message: str, found: int, supported: int) -> None:
        super().__init__(message)
        self.found = found
        self.supported = supported


class TracedValueError(TypeError):
    """Python needed the value of a graph node (``if``/``while`` on it, ``bool()``, ``float()``)
    while a graph was built, e.g. inside a ``gj.jit`` trace; the value exists only when the
    compiled function runs. A TypeError, as JAX raises for the same mistake."""


class SlowCompileWarning(UserWarning):
    """A compile has been running for a while (numba gives no progress of its own); it goes on,
    and Ctrl-C interrupts it."""


# what a compiled program raises when it finds a variable's array of another shape than it was
# compiled for (it checks all its variables in one condition); graphjit.runtime then names the
# variable. The first few variables' names and shapes follow it in the program's message.
VARIABLE_RESHAPED = "a variable's array no longer has the shape this program was compiled for"
