"""numpy's dtype functions under graphjit's dtype rules: ``result_type``, ``promote_types``,
``can_cast``. They take dtypes (names, numpy dtypes, ``gj.float32``, ...) and values (graph
nodes, tensors, arrays, python scalars) and answer with graphjit dtype names (``"float64"``),
which compare equal to numpy's dtypes.

They follow the promotion every graphjit op applies (numpy 2's, python scalars weak), within
graphjit's dtypes: numpy's uint16/uint32/uint64 widen to int32/int64, and a float made from ints
alone is the default float dtype (:func:`graphjit.set_default_dtype`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphjit.dtypes import as_dtype, result_dtype
from graphjit.ir import Node
from graphjit.numpy_api.naming import reports_as_itself
from graphjit.ops.dispatch import is_tensor

__all__ = ["result_type", "promote_types", "can_cast"]


def _is_value(x: Any) -> bool:
    return isinstance(x, (Node, np.ndarray, np.generic, bool, int, float)) or is_tensor(x)


def _as_dtype(name: str, x: Any) -> str:
    if x is None:  # as_dtype reads None as the default dtype; numpy refuses it there
        raise TypeError(f"{name}: None is not a dtype")
    try:
        return as_dtype(x)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: {x!r} is not a dtype graphjit has ({exc})") from None


def _operand(name: str, x: Any) -> Any:
    """``x`` as promotion sees it: a value stays (python scalars weak), a dtype becomes a 0-d
    array of it (a strong dtype, as numpy)."""
    if isinstance(x, (list, tuple)):
        raise TypeError(f"{name}: give arrays or dtypes, not a {type(x).__name__}")
    if _is_value(x):
        return x
    if x is None:  # numpy.result_type reads None as the default float dtype
        return np.empty((), as_dtype(None))
    return np.empty((), _as_dtype(name, x))


@reports_as_itself
def result_type(*arrays_and_dtypes: Any) -> str:
    """The dtype numpy's promotion gives for these arrays, values and dtypes, as
    numpy.result_type (python scalars are weak: ``result_type(int8_array, 1)`` is int8)."""
    if not arrays_and_dtypes:
        raise ValueError("result_type: at least one array or dtype is required")
    return result_dtype([_operand("result_type", x) for x in arrays_and_dtypes])


@reports_as_itself
def promote_types(type1: Any, type2: Any) -> str:
    """The smallest dtype both ``type1`` and ``type2`` cast to safely, as numpy.promote_types."""
    return result_dtype([np.empty((), _as_dtype("promote_types", t)) for t in (type1, type2)])


@reports_as_itself
def can_cast(from_: Any, to: Any, casting: str = "safe") -> bool:
    """Whether ``from_`` (a dtype, or an array, tensor or node: its dtype) casts to ``to`` under
    ``casting`` ("no", "equiv", "safe", "same_kind" or "unsafe"), as numpy.can_cast. Python
    scalars are refused, as numpy 2 does."""
    if isinstance(from_, (bool, int, float)):
        raise TypeError("can_cast: python scalars are not supported (numpy 2); give a dtype")
    if not isinstance(casting, str):
        raise TypeError(f"can_cast: casting must be a str, got {casting!r}")
    if casting not in ("no", "equiv", "safe", "same_kind", "unsafe"):
        raise ValueError(f"can_cast: casting must be one of 'no', 'equiv', 'safe', "
                         f"'same_kind' or 'unsafe', got {casting!r}")  # fmt: skip
    source = from_.dtype if _is_value(from_) else from_
    src, dst = _as_dtype("can_cast", source), _as_dtype("can_cast", to)
    return bool(np.can_cast(np.dtype(src), np.dtype(dst), casting=casting))  # type: ignore[arg-type]
