"""Bitwise ops on integers: bitwise_and/or/xor, bitwise_not (numpy's ``invert``), left_shift and
right_shift, with numpy's names and dtype rules.

Each op is one ``defop`` call whose ``lower`` is a scalar expression template, as in
:mod:`graphjit.ops.comparison`. The ops take integers of one dtype; the public functions promote
their arguments as numpy does (python ints are weak) and refuse floats, as numpy does. Bools go to
the logical ops, which give numpy's bool results: ``bool & bool`` is ``logical_and``, ``~bool``
is ``logical_not``, ``bool ^ bool`` is ``not_equal``; a shift of bools shifts int8 (numpy's
loop for them). The results are piecewise constant: no gradient flows through them.

Shifts follow numpy where C leaves them undefined: a count that is negative or not below the
dtype's width shifts every bit out, giving 0 for a left shift and for a right shift of a
non-negative value, and -1 for a right shift (arithmetic) of a negative one. The lowerings compute
in int64, which holds every graphjit integer dtype, and guard the count; the result is cast back
to the dtype, wrapping as numpy's does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from graphjit.dtypes import is_int
from graphjit.ir import TensorType
from graphjit.ops import prims
from graphjit.ops.dispatch import ArrayLike, Value, apply, astype, lift, result_dtype, write_out
from graphjit.ops.registry import OpDef, binds, defop, zero_jvp, zero_vjp
from graphjit.ops.shape_rules import elementwise_type

__all__ = [
    "bitwise_and",
    "bitwise_or",
    "bitwise_xor",
    "bitwise_not",
    "invert",
    "bitwise_invert",
    "left_shift",
    "right_shift",
    "bitwise_left_shift",
    "bitwise_right_shift",
]


def _refuse(name: str, dtype: str) -> TypeError:
    return TypeError(
        f"{name}: not defined for {dtype} inputs (integers and bools only, as in numpy); cast "
        "with .astype first"
    )


def _int_type(name: str) -> Callable[..., TensorType]:
    def infer(*types: TensorType) -> TensorType:
        for t in types:
            if not is_int(t.dtype):
                raise _refuse(name, t.dtype)
        if len({t.dtype for t in types}) > 1:
            dtypes = ", ".join(t.dtype for t in types)
            raise TypeError(f"{name}: the inputs must share one integer dtype, got {dtypes}")
        return elementwise_type(name, *types)

    return infer


def _bitwise(name: str, impl: Any, lower: str) -> OpDef:
    return defop(
        name,
        infer=_int_type(name),
        impl=impl,
        vjp=zero_vjp,
        jvp=zero_jvp,
        kind="elementwise",
        lower=lower,
    )


BITWISE_AND = _bitwise("bitwise_and", np.bitwise_and, "({0} & {1})")
BITWISE_OR = _bitwise("bitwise_or", np.bitwise_or, "({0} | {1})")
BITWISE_XOR = _bitwise("bitwise_xor", np.bitwise_xor, "({0} ^ {1})")
BITWISE_NOT = _bitwise("bitwise_not", np.invert, "(~{0})")
# the count is guarded: C and LLVM leave a shift by a negative count, or by the width or more,
# undefined, where numpy shifts every bit out
LEFT_SHIFT = _bitwise(
    "left_shift", np.left_shift, "((i64({0}) << i64({1})) if 0 <= i64({1}) < 64 else i64(0))"
)
RIGHT_SHIFT = _bitwise(
    "right_shift", np.right_shift, "(i64({0}) >> (i64({1}) if 0 <= i64({1}) < 64 else i64(63)))"
)


# --------------------------------------------------------------------------------------------------
# public functions


def _promoted_dtype(name: str, args: list[Any]) -> str:
    """numpy's dtype for ``args`` (python ints weak), refusing floats as numpy does (and complex
    numbers, which graphjit has no dtype for)."""
    try:
        dtype = result_dtype(args)
    except TypeError as exc:
        raise TypeError(f"{name}: {exc}") from exc
    if dtype != "bool" and not is_int(dtype):
        raise _refuse(name, dtype)
    return dtype


def _shift_bools(op: OpDef) -> Callable[[Any, Any], Value]:
    def on_bools(x1: Any, x2: Any) -> Value:
        return apply(op, astype(x1, "int8"), astype(x2, "int8"))

    return on_bools


def _binary_fn(op: OpDef, on_bools: Callable[[Any, Any], Value], doc: str) -> Any:
    def fn(x1: ArrayLike, x2: ArrayLike, /, *, out: Any = None) -> Value:
        if _promoted_dtype(op.name, [x1, x2]) == "bool":
            result = on_bools(x1, x2)
        else:
            result = apply(op, x1, x2)
        return write_out(result, out, op.name)

    fn.__name__ = fn.__qualname__ = op.name
    fn.__doc__ = doc
    return binds(op)(fn)


bitwise_and: Callable[..., Value] = _binary_fn(
    BITWISE_AND,
    prims.logical_and,
    "Elementwise bitwise and of integers (logical and of bools), as numpy.bitwise_and and "
    "torch.bitwise_and; the ``&`` operator.",
)
bitwise_or: Callable[..., Value] = _binary_fn(
    BITWISE_OR,
    prims.logical_or,
    "Elementwise bitwise or of integers (logical or of bools), as numpy.bitwise_or and "
    "torch.bitwise_or; the ``|`` operator.",
)
bitwise_xor: Callable[..., Value] = _binary_fn(
    BITWISE_XOR,
    prims.not_equal,
    "Elementwise bitwise exclusive or of integers (logical xor of bools), as numpy.bitwise_xor "
    "and torch.bitwise_xor; the ``^`` operator.",
)
left_shift: Callable[..., Value] = _binary_fn(
    LEFT_SHIFT,
    _shift_bools(LEFT_SHIFT),
    "``x1`` shifted left by ``x2`` bits, as numpy.left_shift and torch.bitwise_left_shift (the "
    "``<<`` operator): a count that is negative or not below the dtype's width gives 0.",
)
right_shift: Callable[..., Value] = _binary_fn(
    RIGHT_SHIFT,
    _shift_bools(RIGHT_SHIFT),
    "``x1`` shifted right by ``x2`` bits (arithmetic: the sign is kept), as numpy.right_shift and "
    "torch.bitwise_right_shift (the ``>>`` operator): a count that is negative or not below the "
    "dtype's width gives 0, or -1 for a negative ``x1``.",
)


@binds(BITWISE_NOT)
def bitwise_not(x: ArrayLike, /, *, out: Any = None) -> Value:
    """Elementwise bitwise not of integers (``-x - 1``; logical not of bools), as numpy.invert and
    torch.bitwise_not; the ``~`` operator."""
    try:
        v = lift(x)
    except TypeError as exc:
        raise TypeError(f"bitwise_not: {exc}") from exc
    if v.dtype == "bool":
        result = prims.logical_not(v)
    elif is_int(v.dtype):
        result = apply(BITWISE_NOT, v)
    else:
        raise _refuse("bitwise_not", v.dtype)
    return write_out(result, out, "bitwise_not")


# numpy's other names (numpy 2's array-API spellings among them)
invert = bitwise_invert = bitwise_not
bitwise_left_shift = left_shift
bitwise_right_shift = right_shift
