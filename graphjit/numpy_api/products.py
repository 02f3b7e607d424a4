"""numpy's products and second moments composed of graphjit's ops: ``vdot``, ``vecdot``,
``matvec``, ``vecmat`` (numpy 2's), ``cov``, ``corrcoef``, ``convolve``, ``correlate``.

graphjit has no complex dtype, so the conjugations numpy applies are no-ops here.
``convolve``/``correlate`` gather the sliding windows of the longer input (their lengths must be
known when the graph is built) and multiply by the shorter: memory ``len(a) * len(v)``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from graphjit.dtypes import as_dtype, is_float
from graphjit.numpy_api.naming import reports_as_itself
from graphjit.ops import (
    comparison,
    diagonals,
    elementwise,
    gather,
    joining,
    linalg,
    reductions,
    shape,
    stacking,
    statistics,
)
from graphjit.ops.dispatch import ArrayLike, Value, astype, lift, lift_together, result_dtype
from graphjit.ops.shape_rules import normalize_axis

__all__ = ["vdot", "vecdot", "matvec", "vecmat", "cov", "corrcoef", "convolve", "correlate"]


def _known(d: Any) -> bool:
    return isinstance(d, int)


@reports_as_itself
def vdot(a: ArrayLike, b: ArrayLike) -> Value:
    """The dot product of the flattened ``a`` and ``b``, as numpy.vdot (torch.vdot's 1-D
    inputs too); both must have the same number of elements."""
    x, y = _numeric(*lift_together(a, b))
    nx, ny = _count(x), _count(y)
    if nx is not None and ny is not None and nx != ny:
        raise ValueError(f"vdot: a has {nx} elements and b {ny}; they must have as many")
    return _logical(linalg.dot(shape.reshape(x, (-1,)), shape.reshape(y, (-1,))), a, b)


def _numeric(x: Any, y: Any) -> tuple[Any, Any]:
    """Two bool operands as int64 (graphjit's products take numbers; :func:`_logical` turns the
    result back), others as they are."""
    if x.dtype == "bool" and y.dtype == "bool":
        return astype(x, "int64"), astype(y, "int64")
    return x, y


def _logical(result: Any, a: Any, b: Any) -> Any:
    """numpy's product of two bool arrays is bool: any of the products is true."""
    if result_dtype([a, b]) == "bool":
        return comparison.not_equal(result, 0)
    return result


def _count(x: Any) -> int | None:
    dims = tuple(x.shape)
    return int(np.prod(dims)) if all(_known(d) for d in dims) else None


@reports_as_itself
def vecdot(x1: ArrayLike, x2: ArrayLike, /, *, axis: int = -1) -> Value:
    """The dot product of the vectors along ``axis`` of ``x1`` and ``x2``, broadcast over the
    other axes, as numpy 2's numpy.vecdot (and torch.linalg.vecdot)."""
    a, b = _numeric(*lift_together(x1, x2))
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("vecdot: the inputs must be at least 1-D")
    na, nb = a.shape[normalize_axis(axis, a.ndim, "vecdot")], b.shape[
        normalize_axis(axis, b.ndim, "vecdot")]  # fmt: skip
    if _known(na) and _known(nb) and na != nb:
        raise ValueError(f"vecdot: the vectors have {na} and {nb} elements along axis {axis}")
    a, b = shape.moveaxis(a, axis, -1), shape.moveaxis(b, axis, -1)
    return _logical(reductions.sum(elementwise.multiply(a, b), -1), x1, x2)


@reports_as_itself
def matvec(x1: ArrayLike, x2: ArrayLike, /) -> Value:
    """Matrix times vector over the last axes, broadcast over the rest, as numpy 2's
    numpy.matvec: ``(..., m, n)`` and ``(..., n)`` give ``(..., m)``."""
    m, v = _numeric(*lift_together(x1, x2))
    if m.ndim < 2 or v.ndim < 1:
        raise ValueError(f"matvec: needs a matrix (at least 2-D) and a vector (at least 1-D), "
                         f"got {m.ndim}-D and {v.ndim}-D")  # fmt: skip
    _check_inner("matvec", m.shape[-1], v.shape[-1])
    return _logical(shape.squeeze(linalg.matmul(m, shape.expand_dims(v, -1)), -1), x1, x2)


@reports_as_itself
def vecmat(x1: ArrayLike, x2: ArrayLike, /) -> Value:
    """Vector times matrix over the last axes, broadcast over the rest, as numpy 2's
    numpy.vecmat: ``(..., n)`` and ``(..., n, m)`` give ``(..., m)``."""
    v, m = _numeric(*lift_together(x1, x2))
    if m.ndim < 2 or v.ndim < 1:
        raise ValueError(f"vecmat: needs a vector (at least 1-D) and a matrix (at least 2-D), "
                         f"got {v.ndim}-D and {m.ndim}-D")  # fmt: skip
    _check_inner("vecmat", v.shape[-1], m.shape[-2])
    return _logical(shape.squeeze(linalg.matmul(shape.expand_dims(v, -2), m), -2), x1, x2)


def _check_inner(name: str, n: Any, m: Any) -> None:
    if _known(n) and _known(m) and n != m:
        raise ValueError(f"{name}: the matrix and the vector do not align: {n} != {m}")


def _variables(name: str, m: Any, rowvar: bool) -> Any:
    x = stacking.atleast_2d(lift(m))
    if x.ndim > 2:
        raise ValueError(f"{name}: m has more than 2 dimensions")
    if not rowvar and x.shape[0] != 1:
        x = shape.transpose(x)
    return x


@reports_as_itself
def cov(
    m: ArrayLike,
    y: ArrayLike = None,
    rowvar: bool = True,
    bias: bool = False,
    ddof: int | None = None,
    fweights: Any = None,
    aweights: Any = None,
    *,
    dtype: Any = None,
    correction: int | None = None,
) -> Value:
    """The covariance matrix of the variables in the rows of ``m`` (columns if ``rowvar`` is
    false), and of ``y``'s, as numpy.cov: normalised by ``N - 1`` (``N`` if ``bias``), or
    ``N - ddof``; torch.cov's ``correction=`` is ``ddof``. A single variable gives a 0-d array.
    Ints give float64 (as numpy; float32 too). ``fweights``/``aweights`` are not supported."""
    return _cov("cov", m, y, rowvar, bias, ddof, fweights, aweights, dtype, correction)


def _cov(
    name: str,
    m: Any,
    y: Any,
    rowvar: bool,
    bias: bool,
    ddof: Any,
    fweights: Any,
    aweights: Any,
    dtype: Any,
    correction: Any,
) -> Any:
    if fweights is not None or aweights is not None:
        raise NotImplementedError(f"{name}: fweights and aweights are not supported")
    if correction is not None:
        ddof = correction
    if ddof is not None and (
        isinstance(ddof, bool)
        or not isinstance(ddof, (int, float, np.integer, np.floating))
        or ddof != int(ddof)
    ):
        raise ValueError(f"{name}: ddof must be integer, got {ddof!r}")
    x = _variables(name, m, rowvar)
    if y is not None:
        other = _variables(name, y, rowvar)
        n, k = x.shape[1], other.shape[1]
        if _known(n) and _known(k) and n != k:
            raise ValueError(f"{name}: m has {n} observations and y {k}; they must have as many")
        x = joining.concatenate([x, other], 0)
    out_dtype = (
        as_dtype(dtype) if dtype is not None else result_dtype([x, np.float64(0)], to_float=True)
    )
    if not is_float(out_dtype):
        raise TypeError(f"{name}: dtype must be a float dtype, got {dtype!r}")
    if not is_float(x.dtype) or x.dtype != out_dtype:
        x = astype(x, out_dtype)
    if ddof is None:
        ddof = 0 if bias else 1
    n = x.shape[1]
    centered = x - statistics.mean(x, 1, keepdims=True)
    product = linalg.matmul(centered, shape.transpose(centered))
    if _known(n):
        fact = max(n - ddof, 0)
        c = product * (1.0 / fact if fact else math.inf)  # python floats: weak, as numpy
    else:
        size = reductions.size_of(x, (1,), x.dtype)
        c = product * (1 / elementwise.maximum(size - ddof, 0))
    return shape.squeeze(c) if 1 in tuple(c.shape) else c


@reports_as_itself
def corrcoef(x: ArrayLike, y: ArrayLike = None, rowvar: bool = True, *, dtype: Any = None) -> Value:
    """The Pearson correlation coefficients, as numpy.corrcoef (and torch.corrcoef):
    ``cov / outer(std, std)``, clipped to [-1, 1] (the gradient of a clipped value goes to it,
    as torch.clamp's)."""
    c = _cov("corrcoef", x, y, rowvar, False, None, None, None, dtype, None)
    if c.ndim == 0:
        return c / c
    std = elementwise.sqrt(diagonals.diagonal(c))
    c = c / shape.expand_dims(std, 1)
    c = c / shape.expand_dims(std, 0)
    return elementwise.clamp(c, -1, 1)


_MODES = ("full", "same", "valid")
_NUMBERED_MODES = {0: "valid", 1: "same", 2: "full"}  # numpy's older spelling, still accepted


def _windowed(name: str, a: Any, v: Any, mode: str) -> Any:
    """numpy's ``correlate(a, v, mode)`` for ``len(a) >= len(v)``: ``sum(a[k + j] * v[j])``."""
    n, m = a.shape[0], v.shape[0]
    pad = {"full": m - 1, "same": m // 2, "valid": 0}[mode]
    right = {"full": m - 1, "same": m - 1 - m // 2, "valid": 0}[mode]
    length = n + pad + right - m + 1
    if pad or right:
        a = joining.pad(a, [(pad, right)])
    positions = np.arange(length)[:, None] + np.arange(m)[None, :]
    return linalg.matmul(gather.take(a, positions, 0), v)


def _check_1d(name: str, a: Any, v: Any, mode: Any) -> tuple[Any, Any, str]:
    mode = _NUMBERED_MODES.get(mode, mode) if type(mode) is int else mode
    if not isinstance(mode, str):
        raise TypeError(f"{name}: mode must be one of {_MODES}, got {mode!r}")
    if mode not in _MODES:
        raise ValueError(f"{name}: mode must be one of {_MODES}, got {mode!r}")
    x, w = lift_together(a, v)
    for what, t in (("a", x), ("v", w)):
        if t.ndim != 1:
            raise ValueError(f"{name}: {what} must be 1-D, got {t.ndim}-D")
        if not _known(t.shape[0]):
            raise ValueError(f"{name}: the length of {what} must be known when the graph is built")
        if t.shape[0] == 0:
            raise ValueError(f"{name}: {what} cannot be empty")
    dtype = result_dtype([x, w])
    if dtype == "bool":
        raise TypeError(f"{name}: not defined for bool inputs; cast with .astype first")
    return astype(x, dtype), astype(w, dtype), mode


@reports_as_itself
def convolve(a: ArrayLike, v: ArrayLike, mode: str = "full") -> Value:
    """The discrete linear convolution of the 1-D ``a`` and ``v``, as numpy.convolve:
    ``mode`` "full" (length ``n + m - 1``), "same" (``max(n, m)``) or "valid"."""
    x, w, mode = _check_1d("convolve", a, v, mode)
    if w.shape[0] > x.shape[0]:
        x, w = w, x
    return _windowed("convolve", x, joining.flip(w, 0), mode)


@reports_as_itself
def correlate(a: ArrayLike, v: ArrayLike, mode: str = "valid") -> Value:
    """The cross-correlation ``c[k] = sum_n a[n + k] * v[n]`` of the 1-D ``a`` and ``v``, as
    numpy.correlate (``mode`` "valid" by default, also "same" and "full")."""
    x, w, mode = _check_1d("correlate", a, v, mode)
    if w.shape[0] > x.shape[0]:  # numpy swaps the inputs and reverses the result
        return joining.flip(_windowed("correlate", w, x, mode), 0)
    return _windowed("correlate", x, w, mode)
