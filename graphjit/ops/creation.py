"""Array creation: zeros, ones, full, arange, linspace, eye.

These make concrete values (their sizes are python ints, known now), so they are not ops: each
builds a numpy array and hands it to :func:`_make`, the one place that decides what a created value
becomes: an eager ``Tensor``, which turns into a graph constant when it meets graph nodes.

Signatures follow numpy, and also accept PyTorch's spellings where they do not clash: sizes as
varargs (``zeros(2, 3)``), ``end=`` for ``stop``, ``steps=`` for ``num``.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from graphjit.ir import Node, as_dtype
from graphjit.ops.base import is_tensor, result_dtype

__all__ = ["zeros", "ones", "full", "arange", "linspace", "eye"]


def _make(value: np.ndarray, requires_grad: bool = False) -> Any:
    """What a created array becomes: an eager ``Tensor`` (a graph constant when it meets graph
    nodes). Without the eager backend loaded it is a constant node."""
    from graphjit.ops import base

    if base._eager is None:
        from graphjit.ops.leaves import constant

        if requires_grad:
            raise TypeError("requires_grad=True needs graphjit.tensor (the eager Tensor)")
        return constant(value)
    t = base._eager.from_value(value)
    return t.requires_grad_(True) if requires_grad else t


def _size(value: Any, what: str, fn: str) -> int:
    """A non-negative python int from an int-like ``value``, or a clear error."""
    if isinstance(value, (bool, np.bool_, Node)) or is_tensor(value):
        raise TypeError(f"{fn}: {what} must be an int, got {value!r}")
    try:
        n = operator.index(value)
    except TypeError:
        raise TypeError(
            f"{fn}: {what} must be an int, got {type(value).__name__} {value!r}"
        ) from None
    if n < 0:
        raise ValueError(f"{fn}: {what} must be >= 0, got {n}")
    return n


def _shape(args: Sequence[Any], fn: str) -> tuple[int, ...]:
    """The shape from ``f(shape)`` or PyTorch's ``f(*sizes)``."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    return tuple(_size(d, f"dimension {i}", fn) for i, d in enumerate(args))


def _split_dtype(args: tuple[Any, ...], dtype: Any) -> tuple[tuple[Any, ...], Any]:
    """numpy's positional dtype (``zeros((2, 3), "float32")``) versus PyTorch's varargs sizes."""
    if len(args) == 2 and isinstance(args[1], (str, type, np.dtype)):
        if dtype is not None:
            raise TypeError("dtype given twice")
        return args[:1], args[1]
    return args, dtype


def _filled(args: tuple[Any, ...], value: int, dtype: Any, requires_grad: bool, fn: str) -> Any:
    args, dtype = _split_dtype(args, dtype)
    if not args:
        raise TypeError(f"{fn}: missing the shape (e.g. {fn}((2, 3)) or {fn}(2, 3))")
    shape = _shape(args, fn)
    return _make(np.full(shape, value, dtype=as_dtype(dtype or "float64")), requires_grad)


def zeros(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Any:
    """An array of zeros: ``zeros((2, 3))``, ``zeros(2, 3)`` or ``zeros(3, dtype="int64")``.

    The dtype defaults to float64."""
    return _filled(shape, 0, dtype, requires_grad, "zeros")


def ones(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Any:
    """An array of ones: ``ones((2, 3))``, ``ones(2, 3)``; float64 unless ``dtype`` is given."""
    return _filled(shape, 1, dtype, requires_grad, "ones")


def _scalar(value: Any, what: str, fn: str) -> Any:
    if isinstance(value, Node) or is_tensor(value):
        raise TypeError(
            f"{fn}: {what} must be a python number, got a {type(value).__name__} (the size of the "
            "result must be known when it is built)"
        )
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{fn}: {what} must be an int or float, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{fn}: {what} must be finite, got {value!r}")
    return value


def full(shape: Any, fill_value: Any, dtype: Any = None, *, requires_grad: bool = False) -> Any:
    """An array of ``shape`` filled with ``fill_value`` (an array broadcasts, as numpy.full).

    Without ``dtype`` the dtype is ``fill_value``'s: int64 for an int, float64 for a float."""
    dims = _shape(shape if isinstance(shape, (tuple, list)) else (shape,), "full")
    if isinstance(fill_value, Node) or is_tensor(fill_value):
        raise TypeError(
            "full: fill_value must be a python number or a numpy array, not a "
            f"{type(fill_value).__name__}; use gj.broadcast_to for graph values"
        )
    dt = as_dtype(dtype) if dtype is not None else result_dtype([fill_value])
    try:
        value = np.full(dims, fill_value, dtype=dt)
    except ValueError as exc:
        raise ValueError(f"full: fill_value does not broadcast to shape {dims}: {exc}") from None
    return _make(value, requires_grad)


def arange(
    start: Any,
    stop: Any = None,
    step: Any = 1,
    dtype: Any = None,
    *,
    end: Any = None,
    requires_grad: bool = False,
) -> Any:
    """Evenly spaced values in [start, stop) as numpy.arange; ``arange(n)`` is 0, 1, ..., n-1.

    Without ``dtype`` the result is int64 when every argument is an int, else float64."""
    if end is not None:
        if stop is not None:
            raise TypeError("arange: give stop or end, not both")
        stop = end
    start = _scalar(start, "start", "arange")
    step = _scalar(step, "step", "arange")
    if stop is None:
        start, stop = 0, start
    else:
        stop = _scalar(stop, "stop", "arange")
    if step == 0:
        raise ValueError("arange: step must not be zero")
    dt = as_dtype(dtype) if dtype is not None else result_dtype([start, stop, step])
    return _make(np.arange(start, stop, step, dtype=dt), requires_grad)


def linspace(
    start: Any,
    stop: Any = None,
    num: Any = 50,
    dtype: Any = None,
    endpoint: bool = True,
    *,
    end: Any = None,
    steps: Any = None,
    requires_grad: bool = False,
) -> Any:
    """``num`` evenly spaced values from ``start`` to ``stop`` (included unless ``endpoint`` is
    False), as numpy.linspace; float64 unless ``dtype`` is given (PyTorch: ``end=``, ``steps=``)."""
    if end is not None:
        if stop is not None:
            raise TypeError("linspace: give stop or end, not both")
        stop = end
    if stop is None:
        raise TypeError("linspace: missing stop")
    if steps is not None:
        num = steps
    start = _scalar(start, "start", "linspace")
    stop = _scalar(stop, "stop", "linspace")
    n = _size(num, "num", "linspace")
    dt = as_dtype(dtype) if dtype is not None else "float64"
    return _make(np.linspace(start, stop, n, endpoint=bool(endpoint), dtype=dt), requires_grad)


def eye(
    n: Any, m: Any = None, k: Any = 0, dtype: Any = "float64", *, requires_grad: bool = False
) -> Any:
    """The ``n`` x ``m`` identity (ones on diagonal ``k``) as numpy.eye; ``m`` defaults to ``n``."""
    rows = _size(n, "n", "eye")
    cols = rows if m is None else _size(m, "m", "eye")
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"eye: k must be an int, got {k!r}")
    return _make(np.eye(rows, cols, int(k), dtype=as_dtype(dtype or "float64")), requires_grad)
