"""The int-or-ints arguments of convolution, pooling and unfolding (``stride=2``,
``kernel_size=(3, 5)``), read one way for every function: ``n`` ints from an int or a sequence
of ints (of one, where every dim takes it, or of ``n``), each small enough for an array's size,
or a TypeError/ValueError naming the function and the argument."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

# larger than any size or step along an array's axis (a byte count must fit in 63 bits)
LIMIT = 2**62


def int_tuple(fn: str, what: str, value: Any, n: int, low: int | None = None) -> tuple[int, ...]:
    """``value`` as ``n`` ints below ``LIMIT`` (and from ``low``, when given: the callers that
    do not give it check the ints' meaning themselves)."""
    if _is_int(value):
        items = [value]
    elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        items = list(value)
    else:
        raise TypeError(f"{fn}: {what} must be an int or {n} ints, got {value!r:.60}")
    if len(items) == 1:
        items = items * n
    if len(items) != n or not all(_is_int(v) for v in items):
        raise ValueError(f"{fn}: {what} must be an int or {n} ints, got {value!r:.60}")
    ints = tuple(int(v) for v in items)
    if low is not None and min(ints) < low:
        raise ValueError(f"{fn}: {what} must be an int or {n} ints >= {low}, got {value!r:.60}")
    if max(abs(v) for v in ints) >= LIMIT:
        raise ValueError(f"{fn}: {what} must be below {LIMIT} in size, got {value!r:.60}")
    return ints


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)
