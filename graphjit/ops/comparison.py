"""Comparisons, logic and selection: less ... not_equal, logical_and/or/not, where.

Each op is one ``defop`` call whose ``lower`` is a scalar expression template, as in
:mod:`graphjit.ops.elementwise`. Comparisons and logic give bool and have zero gradient; ``where``
passes the gradient to the selected input (none to the condition).

Comparing an int array with a python int outside its dtype's range is exact, as numpy's is: the
array is widened to int64 when the int fits that, and beyond int64 the answer is the same for every
element.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from graphjit.ir import Node, TensorType
from graphjit.ops import prims
from graphjit.ops.dispatch import (
    ArrayLike,
    Value,
    apply,
    astype,
    eager_nonzero,
    is_tensor,
    lift,
    write_out,
)
from graphjit.ops.registry import OpDef, binds, defop, jvp_from, zero_jvp, zero_vjp
from graphjit.ops.shape_rules import elementwise_type

__all__ = [
    "less",
    "less_equal",
    "greater",
    "greater_equal",
    "equal",
    "not_equal",
    "logical_and",
    "logical_or",
    "logical_not",
    "where",
]


def _bool_type(name: str) -> Any:
    def infer(*types: TensorType) -> TensorType:
        return elementwise_type(name, *types, dtype="bool")

    return infer


def _compare(name: str, impl: Any, symbol: str) -> OpDef:
    return defop(
        name,
        infer=_bool_type(name),
        impl=impl,
        vjp=zero_vjp,
        jvp=zero_jvp,
        kind="elementwise",
        lower=f"({{0}} {symbol} {{1}})",
    )


LESS = _compare("less", np.less, "<")
LESS_EQUAL = _compare("less_equal", np.less_equal, "<=")
GREATER = _compare("greater", np.greater, ">")
GREATER_EQUAL = _compare("greater_equal", np.greater_equal, ">=")
EQUAL = _compare("equal", np.equal, "==")
NOT_EQUAL = _compare("not_equal", np.not_equal, "!=")
LOGICAL_AND = defop(
    "logical_and",
    infer=_bool_type("logical_and"),
    impl=np.logical_and,
    vjp=zero_vjp,
    jvp=zero_jvp,
    kind="elementwise",
    lower="({0} and {1})",
    promote=None,
)
LOGICAL_OR = defop(
    "logical_or",
    infer=_bool_type("logical_or"),
    impl=np.logical_or,
    vjp=zero_vjp,
    jvp=zero_jvp,
    kind="elementwise",
    lower="({0} or {1})",
    promote=None,
)
LOGICAL_NOT = defop(
    "logical_not",
    infer=_bool_type("logical_not"),
    impl=np.logical_not,
    vjp=zero_vjp,
    jvp=zero_jvp,
    kind="elementwise",
    lower="(not {0})",
    promote=None,
)


def _where_infer(c: TensorType, x: TensorType, y: TensorType) -> TensorType:
    if c.dtype != "bool":
        raise TypeError(f"where: the condition must be bool, got {c.dtype}")
    return elementwise_type("where", c, x, y, dtype=x.dtype)


WHERE = defop(
    "where",
    infer=_where_infer,
    impl=np.where,
    vjps=(None, lambda g, out, c, x, y: where(c, g, 0.0), lambda g, out, c, x, y: where(c, 0.0, g)),
    jvp=jvp_from(
        None, lambda t, out, c, x, y: where(c, t, 0.0), lambda t, out, c, x, y: where(c, 0.0, t)
    ),
    kind="elementwise",
    lower="({1} if {0} else {2})",
    promote=(1, 2),
)


# --------------------------------------------------------------------------------------------------
# public functions

# x OP n, for a python int n above every value of x's dtype
_ABOVE_RANGE = {
    "less": True,
    "less_equal": True,
    "greater": False,
    "greater_equal": False,
    "equal": False,
    "not_equal": True,
}
_MIRROR = {"less": "greater", "less_equal": "greater_equal", "greater": "less"}
_MIRROR.update({"greater_equal": "less_equal", "equal": "equal", "not_equal": "not_equal"})


_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1


def _compare_wide_int(name: str, x: Any, y: Any) -> tuple[Any, Any, Any]:
    """numpy compares an int array with a python int outside its dtype's range exactly (where
    arithmetic raises). Returns ``(x, y, None)`` with the array widened to int64 when the int
    fits that, or ``(x, y, result)`` when the answer is the same everywhere."""
    if type(x) is not int and type(y) is not int:
        return x, y, None
    for arr, n, op in ((x, y, name), (y, x, _MIRROR[name])):
        dtype = getattr(arr, "dtype", None)
        if type(n) is not int or dtype not in ("int32", "int64") or not hasattr(arr, "shape"):
            continue
        info = np.iinfo(dtype)
        if info.min <= n <= info.max:
            break
        if -(2**63) <= n < 2**63:
            wide = astype(arr, "int64")
            return (wide, np.int64(n), None) if arr is x else (np.int64(n), wide, None)
        above = _ABOVE_RANGE[op]
        value = above if (n > 0 or op in ("equal", "not_equal")) else not above
        return x, y, prims.full_like(arr, value, dtype="bool")
    return x, y, None


def _compare_fn(op: OpDef) -> Callable[[Any, Any], Any]:
    def fn(x: Any, y: Any, *, out: Any = None) -> Any:
        if (type(x) is int and not _INT32_MIN <= x <= _INT32_MAX) or (
            type(y) is int and not _INT32_MIN <= y <= _INT32_MAX
        ):  # an int that int32 and int64 hold needs no widening
            x, y, same = _compare_wide_int(op.name, x, y)
            if same is not None:
                return write_out(same, out, op.name)
        result = apply(op, x, y)
        return result if out is None else write_out(result, out, op.name)

    fn.__name__ = fn.__qualname__ = op.name
    fn.__doc__ = f"Elementwise {op.name} with numpy broadcasting, as numpy.{op.name}."
    return binds(op)(fn)


less: Callable[[ArrayLike, ArrayLike], Value] = _compare_fn(LESS)
less_equal: Callable[[ArrayLike, ArrayLike], Value] = _compare_fn(LESS_EQUAL)
greater: Callable[[ArrayLike, ArrayLike], Value] = _compare_fn(GREATER)
greater_equal: Callable[[ArrayLike, ArrayLike], Value] = _compare_fn(GREATER_EQUAL)
equal: Callable[[ArrayLike, ArrayLike], Value] = _compare_fn(EQUAL)
not_equal: Callable[[ArrayLike, ArrayLike], Value] = _compare_fn(NOT_EQUAL)


@binds(LOGICAL_AND)
def logical_and(x: ArrayLike, y: ArrayLike) -> Value:
    """Elementwise logical and; inputs are cast to bool."""
    return apply(LOGICAL_AND, astype(x, "bool"), astype(y, "bool"))


@binds(LOGICAL_OR)
def logical_or(x: ArrayLike, y: ArrayLike) -> Value:
    """Elementwise logical or; inputs are cast to bool."""
    return apply(LOGICAL_OR, astype(x, "bool"), astype(y, "bool"))


@binds(LOGICAL_NOT)
def logical_not(x: ArrayLike) -> Value:
    """Elementwise logical not; the input is cast to bool."""
    return apply(LOGICAL_NOT, astype(x, "bool"))


@binds(WHERE)
def where(condition: ArrayLike, x: ArrayLike = None, y: ArrayLike = None) -> Value:
    """``x`` where ``condition`` is true, else ``y`` (broadcast together), as numpy.where.

    ``where(condition)`` alone (numpy and PyTorch alike) is the tuple of the true elements'
    indices, one int64 array per dim: eager tensors only, since its size depends on the data
    (found where the tensor lives: on the GPU for a cuda tensor, its size read to the host)."""
    if x is None and y is None:
        return _where_indices(condition)
    if x is None or y is None:
        raise TypeError("where: give both x and y, or neither (the indices of true elements)")
    if isinstance(condition, Node) or is_tensor(condition):
        c = condition if condition.dtype == "bool" else astype(condition, "bool")
    else:  # a constant: apply lifts it (onto the GPU with tensors there)
        c = np.asarray(condition).astype(bool)
    return apply(WHERE, c, x, y)


def _where_indices(condition: ArrayLike) -> tuple[Value, ...]:
    c = lift(condition)
    if isinstance(c, Node):
        raise TypeError(
            "where(condition): the indices of true elements are only for eager tensors (their "
            "number depends on the data); on a graph use where(condition, x, y)"
        )
    return eager_nonzero(c)
