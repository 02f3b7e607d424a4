"""Scans along one axis: cumsum, cumprod, logcumsumexp and the running arg-extrema.

Every scan op takes ``axis`` (a non-negative int; the public functions normalise numpy's ``axis``,
negative or None for the flattened array, and PyTorch's ``dim``) and keeps its input's shape.
PyTorch's spellings (``cummax``, ``cummin``, ``logcumsumexp``) are in :mod:`graphjit.torch_api`,
built on the ops here.

Conventions:

* dtypes: ``cumsum``/``cumprod`` of bool or ints accumulate in int64 (numpy on 64-bit Linux, and
  PyTorch; numpy gives uint64 for uint8, graphjit int64). ``logcumsumexp`` needs floats.
* ``cumsum`` and ``logcumsumexp`` have a ``reverse`` flag (the scan runs from the end): each is the
  other direction's transpose, so their derivatives stay scans.
* ``cumprod``: the gradient is the sum over later outputs of the product of the *other* elements,
  exact with any number of zeros in a slice, and so is its second derivative (the rule splits a
  slice at its first two zeros; see ``_cumprod_levels``).
* ``cumargmax``/``cumargmin``: the index of the running maximum (minimum); a tie moves it to the
  later element and a NaN holds it (PyTorch's ``cummax`` indices). Zero gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphjit.dtypes import is_float
from graphjit.ir import Node, TensorType
from graphjit.ops.dispatch import ArrayLike, Value, apply, astype, lift, write_out
from graphjit.ops.prims import equal, exp, log, reshape, where
from graphjit.ops.prims import sum as reduce_sum
from graphjit.ops.registry import DimBuilder, OpDef, defop, zero_jvp, zero_vjp
from graphjit.ops.shape_rules import axis_or_dim, normalize_axis

__all__ = ["cumsum", "cumprod"]


# --------------------------------------------------------------------------------------------------
# shape rules


def _check_axis(name: str, x: TensorType, axis: Any) -> None:
    if not isinstance(axis, int) or isinstance(axis, bool) or not 0 <= axis < x.ndim:
        raise ValueError(f"{name}: axis must be an int in range({x.ndim}), got {axis!r}")


def _scan_infer(name: str, dtype_rule: Any) -> Any:
    def infer(x: TensorType, *, axis: int, **attrs: Any) -> TensorType:
        _check_axis(name, x, axis)
        return TensorType(x.shape, dtype_rule(name, x.dtype))

    return infer


def _accumulator(name: str, dtype: str) -> str:
    return dtype if is_float(dtype) else "int64"


def _float_only(name: str, dtype: str) -> str:
    if not is_float(dtype):
        raise TypeError(f"{name}: expected a float input, got {dtype}")
    return dtype


def _index_dtype(name: str, dtype: str) -> str:
    return "int64"


def _same_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    return list(ins[0])


# --------------------------------------------------------------------------------------------------
# numpy references


def _directed(fn: Any, x: np.ndarray, axis: int, reverse: bool) -> np.ndarray:
    """``fn`` (a scan along ``axis``) run from the end when ``reverse``."""
    if not reverse:
        return np.asarray(fn(x))
    return np.flip(np.asarray(fn(np.flip(x, axis))), axis).copy()


def _cumsum_impl(x: np.ndarray, *, axis: int, reverse: bool) -> np.ndarray:
    acc = _accumulator("cumsum", x.dtype.name)
    return _directed(lambda a: np.cumsum(a, axis=axis, dtype=acc), x, axis, reverse)


def _cumprod_impl(x: np.ndarray, *, axis: int) -> np.ndarray:
    return np.cumprod(x, axis=axis, dtype=_accumulator("cumprod", x.dtype.name))


def _logcumsumexp_impl(x: np.ndarray, *, axis: int, reverse: bool) -> np.ndarray:
    return _directed(lambda a: np.logaddexp.accumulate(a, axis=axis), x, axis, reverse)


def _cumarg_impl(maximum: bool) -> Any:
    def impl(x: np.ndarray, *, axis: int) -> np.ndarray:
        running = (np.maximum if maximum else np.minimum).accumulate(x, axis=axis)
        # the running extremum was last set where x equals it (or is NaN, which holds it)
        hit = (x == running) | (x != x)
        shape = [1] * x.ndim
        shape[axis] = x.shape[axis]
        positions = np.arange(x.shape[axis], dtype=np.int64).reshape(shape)
        return np.maximum.accumulate(np.where(hit, positions, 0), axis=axis)

    return impl


# --------------------------------------------------------------------------------------------------
# derivative rules (written with gj functions: they build graph or compute eagerly)


def _cumsum_op(x: Any, axis: int, reverse: bool = False) -> Any:
    return apply(CUMSUM, x, axis=axis, reverse=reverse)


def _cumsum_vjp(g: Any, out: Any, x: Any, *, axis: int, reverse: bool) -> tuple:
    if not is_float(x.dtype):
        return (None,)
    return (_cumsum_op(g, axis, not reverse),)


def _cumsum_jvp(tangents: Any, out: Any, x: Any, *, axis: int, reverse: bool) -> Any:
    (t,) = tangents
    return None if t is None else _cumsum_op(t, axis, reverse)


class _CumprodParts:
    """What the derivatives of ``out = cumprod(x)`` along a slice need.

    ``level`` numbers the stretches of a slice split at its first two zeros z1 < z2: 0 before z1,
    1 at z1, 2 between z1 and z2, 3 at z2, 4 and more after (``2 * zeros so far - is zero``).
    With ``safe1``/``safe2`` (x with z1, resp. z1 and z2, replaced by 1) and ``p1``/``p2`` their
    cumprods, the partial d out_j / d x_i (j >= i) is ``out_j / x_i`` at level 0, ``p1_j`` at
    level 1, ``x_z1 p1_j / x_i`` at level 2, ``x_z1 p2_j`` at level 3 and 0 beyond (it has two zero
    factors). Each is the exact function on its stretch (x_z1 stays a factor, not its value 0),
    so the second derivatives are exact too."""

    def __init__(self, x: Any, out: Any, axis: int) -> None:
        is_zero = equal(x, 0)
        zeros = _cumsum_op(astype(is_zero, "int64"), axis)
        self.level = zeros * 2 - astype(is_zero, "int64")
        at_z1, at_z2 = equal(self.level, 1), equal(self.level, 3)
        self.at = [equal(self.level, k) for k in range(4)]
        self.safe_x = where(is_zero, 1.0, x)
        self.p1 = apply(CUMPROD, where(at_z1, 1.0, x), axis=axis)
        self.p2 = apply(CUMPROD, where(at_z2, 1.0, where(at_z1, 1.0, x)), axis=axis)
        self.x_z1 = reduce_sum(where(at_z1, x, 0.0), axis, True)
        self.out = out
        self.axis = axis


def _cumprod_vjp(g: Any, out: Any, x: Any, *, axis: int) -> tuple:
    if not is_float(x.dtype):
        return (None,)
    p = _CumprodParts(x, out, axis)

    def later(v: Any) -> Any:  # sum over j >= i
        return _cumsum_op(v, axis, True)

    after_z1 = later(g * p.p1)
    grad = where(
        p.at[0],
        later(g * out) / p.safe_x,
        where(
            p.at[1],
            after_z1,
            where(
                p.at[2], p.x_z1 * after_z1 / p.safe_x, where(p.at[3], p.x_z1 * later(g * p.p2), 0.0)
            ),
        ),
    )
    return (grad,)


def _cumprod_jvp(tangents: Any, out: Any, x: Any, *, axis: int) -> Any:
    (t,) = tangents
    if t is None or not is_float(x.dtype):
        return None
    p = _CumprodParts(x, out, axis)

    def earlier(v: Any) -> Any:  # sum over i <= j
        return _cumsum_op(v, axis)

    before = out * earlier(where(p.at[0], t / p.safe_x, 0.0))
    t_z1 = reduce_sum(where(p.at[1], t, 0.0), axis, True)
    t_z2 = reduce_sum(where(p.at[3], t, 0.0), axis, True)
    at_z1 = where(p.level >= 1, t_z1 * p.p1, 0.0)
    between = p.x_z1 * p.p1 * earlier(where(p.at[2], t / p.safe_x, 0.0))
    at_z2 = where(p.level >= 3, p.x_z1 * t_z2 * p.p2, 0.0)
    return before + at_z1 + between + at_z2


def _lcse_op(x: Any, axis: int, reverse: bool) -> Any:
    return apply(LOGCUMSUMEXP, x, axis=axis, reverse=reverse)


def _very_negative(dtype: str) -> float:
    """A finite stand-in for log(0): exp of it (plus any log-sum) is 0, and, unlike -inf, its
    derivatives are not NaN."""
    return float(np.finfo(dtype).min) / 4


def _signed_log_parts(v: Any) -> tuple[Any, Any]:
    """log(max(v, 0)) and log(max(-v, 0)), with a very negative number for log(0)."""
    neg_big = _very_negative(v.dtype)
    pos, neg = v > 0, v < 0
    return (
        where(pos, log(where(pos, v, 1.0)), neg_big),
        where(neg, log(where(neg, -v, 1.0)), neg_big),
    )


def _lcse_vjp(g: Any, out: Any, x: Any, *, axis: int, reverse: bool) -> tuple:
    # d out_j / d x_i = exp(x_i - out_j) for j at or after i; sum over j of g_j times it, for the
    # positive and negative parts of g in the log domain (PyTorch's stable form)
    log_pos, log_neg = _signed_log_parts(g)
    pos = exp(x + _lcse_op(log_pos - out, axis, not reverse))
    neg = exp(x + _lcse_op(log_neg - out, axis, not reverse))
    return (pos - neg,)


def _lcse_jvp(tangents: Any, out: Any, x: Any, *, axis: int, reverse: bool) -> Any:
    (t,) = tangents
    if t is None:
        return None
    log_pos, log_neg = _signed_log_parts(t)
    pos = exp(_lcse_op(log_pos + x, axis, reverse) - out)
    neg = exp(_lcse_op(log_neg + x, axis, reverse) - out)
    return pos - neg


# --------------------------------------------------------------------------------------------------
# the ops

CUMSUM: OpDef = defop(
    "cumsum",
    infer=_scan_infer("cumsum", _accumulator),
    impl=_cumsum_impl,
    vjp=_cumsum_vjp,
    jvp=_cumsum_jvp,
    call_dims=_same_dims,
    promote=None,
    doc="running sum along axis (from the end when reverse); bool and ints accumulate in int64",
)
CUMPROD: OpDef = defop(
    "cumprod",
    infer=_scan_infer("cumprod", _accumulator),
    impl=_cumprod_impl,
    vjp=_cumprod_vjp,
    jvp=_cumprod_jvp,
    call_dims=_same_dims,
    promote=None,
    doc="running product along axis; derivatives exact (to second order) with zeros",
)
LOGCUMSUMEXP: OpDef = defop(
    "logcumsumexp",
    infer=_scan_infer("logcumsumexp", _float_only),
    impl=_logcumsumexp_impl,
    vjp=_lcse_vjp,
    jvp=_lcse_jvp,
    call_dims=_same_dims,
    promote=None,
    expensive=True,
    doc="running log(sum(exp(x))) along axis (from the end when reverse), without overflow",
)
CUMARGMAX: OpDef = defop(
    "cumargmax",
    infer=_scan_infer("cumargmax", _index_dtype),
    impl=_cumarg_impl(True),
    vjp=zero_vjp,
    jvp=zero_jvp,
    call_dims=_same_dims,
    promote=None,
    doc="index (int64) of the running maximum along axis; ties move it on, NaN holds it",
)
CUMARGMIN: OpDef = defop(
    "cumargmin",
    infer=_scan_infer("cumargmin", _index_dtype),
    impl=_cumarg_impl(False),
    vjp=zero_vjp,
    jvp=zero_jvp,
    call_dims=_same_dims,
    promote=None,
    doc="index (int64) of the running minimum along axis; ties move it on, NaN holds it",
)


# --------------------------------------------------------------------------------------------------
# public functions


def scan_axis(name: str, x: Any, axis: Any, dim: Any = None) -> tuple[Any, int, tuple | None]:
    """``x`` and the scan axis from numpy's ``axis`` (None: the flattened array) or PyTorch's
    ``dim``, and the shape to give the result back (for a flattened or a 0-d input, whose
    ``dim`` 0 or -1 PyTorch accepts), or None."""
    x = lift(x)
    axis = axis_or_dim(name, axis, dim)
    if axis is None:
        return reshape(x, (-1,)), 0, None
    if x.ndim == 0:
        if isinstance(axis, bool) or axis not in (0, -1):
            raise ValueError(f"{name}: dim {axis!r} is out of range for a 0-d array")
        return reshape(x, (1,)), 0, ()
    return x, normalize_axis(axis, x.ndim, name), None


def apply_scan(op: OpDef, x: Any, axis: int, back: tuple | None, **attrs: Any) -> Value:
    """``op`` along ``axis`` of ``x`` (from :func:`scan_axis`), reshaped back to ``back``."""
    out = apply(op, x, axis=axis, **attrs)
    return out if back is None else reshape(out, back)


def cumsum(
    a: ArrayLike, axis: Any = None, dtype: Any = None, *, dim: Any = None, out: Any = None
) -> Value:
    """Running sum along ``axis`` (None: of the flattened array), as numpy.cumsum; PyTorch's
    ``cumsum(x, dim)`` too. Bool and ints give int64; ``dtype`` casts the input first, and is
    the result's dtype (an int8 running sum wraps as numpy's)."""
    x, ax, back = scan_axis("cumsum", a, axis, dim)
    x = x if dtype is None else astype(x, dtype)
    summed = apply_scan(CUMSUM, x, ax, back, reverse=False)
    return write_out(summed if dtype is None else astype(summed, dtype), out, "cumsum")


def cumprod(
    a: ArrayLike, axis: Any = None, dtype: Any = None, *, dim: Any = None, out: Any = None
) -> Value:
    """Running product along ``axis`` (None: of the flattened array), as numpy.cumprod; PyTorch's
    ``cumprod(x, dim)`` too. The gradient is exact with zeros (to second order)."""
    x, ax, back = scan_axis("cumprod", a, axis, dim)
    x = x if dtype is None else astype(x, dtype)
    multiplied = apply_scan(CUMPROD, x, ax, back)
    return write_out(multiplied if dtype is None else astype(multiplied, dtype), out, "cumprod")
