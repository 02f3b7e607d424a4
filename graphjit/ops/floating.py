"""Floating-point properties: isnan, isinf, isfinite, signbit (ops, bool-valued), and composed from
them isclose, allclose, nan_to_num, and real, imag, conj, conjugate, angle, real_if_close.

graphjit has no complex dtype: ``real``, ``conj`` and ``real_if_close`` of a real array are the
array, ``imag`` is zeros, ``angle`` is 0 for x >= +0 and pi for x <= -0 (nan at nan), as numpy gives
for real input. Ints and bools are never nan or inf.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from graphjit.dtypes import is_float
from graphjit.ir import Node, TensorType
from graphjit.ops.dispatch import ArrayLike, Value, astype, lift
from graphjit.ops.prims import equal, where, zeros_like
from graphjit.ops.prims import sum as prims_sum
from graphjit.ops.registry import OpDef, defop, zero_jvp, zero_vjp
from graphjit.ops.shape_rules import elementwise_type
from graphjit.ops.templates import unary_function

__all__ = [
    "isnan",
    "isinf",
    "isfinite",
    "signbit",
    "isclose",
    "allclose",
    "nan_to_num",
    "real",
    "imag",
    "conj",
    "conjugate",
    "angle",
    "real_if_close",
]


def _bool_infer(name: str) -> Callable[..., TensorType]:
    def infer(x: TensorType) -> TensorType:
        return elementwise_type(name, x, dtype="bool")

    return infer


def _test(name: str, impl: Any) -> OpDef:
    return defop(
        name,
        infer=_bool_infer(name),
        impl=impl,
        vjp=zero_vjp,
        jvp=zero_jvp,
        kind="elementwise",
        lower=f"{name}({{0}})",
        promote=None,
    )


ISNAN = _test("isnan", np.isnan)
ISINF = _test("isinf", np.isinf)
ISFINITE = _test("isfinite", np.isfinite)
SIGNBIT = _test("signbit", np.signbit)


isnan = unary_function(ISNAN, "Elementwise isnan (bool), as numpy.isnan.")
isinf = unary_function(ISINF, "Elementwise isinf (bool), as numpy.isinf.")
isfinite = unary_function(ISFINITE, "Elementwise isfinite (bool), as numpy.isfinite.")
signbit = unary_function(SIGNBIT, "Elementwise signbit (bool), as numpy.signbit.")


def _as_float(x: ArrayLike) -> Value:
    x = lift(x)
    return x if is_float(x.dtype) else astype(x, "float64")


def isclose(
    a: ArrayLike, b: ArrayLike, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> Value:
    """``|a - b| <= atol + rtol * |b|`` elementwise (bool), with numpy's treatment of inf (equal
    infinities are close) and nan (never close, unless ``equal_nan``), as numpy.isclose."""
    a, b = _as_float(a), _as_float(b)
    close = (abs(a - b) <= atol + rtol * abs(b)) & isfinite(b)
    close = close | equal(a, b)
    if equal_nan:
        close = close | (isnan(a) & isnan(b))
    return close


def allclose(
    a: ArrayLike, b: ArrayLike, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> bool:
    """Whether every element of ``a`` is close to ``b`` (see :func:`isclose`): a python bool, so
    for eager tensors and arrays only; in a graph use ``gj.isclose(a, b).min()``."""
    if isinstance(a, Node) or isinstance(b, Node):
        raise TypeError(
            "allclose: gives a python bool, so it needs values (tensors or arrays), not graph "
            "nodes; in a graph use gj.isclose(a, b).min()"
        )
    close = isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)
    if getattr(close, "is_cuda", False):  # counted on the device: one number read back
        return int(prims_sum(equal(close, False)).item()) == 0
    return bool(np.all(close.numpy()))


def nan_to_num(
    x: ArrayLike,
    copy: bool = True,
    nan: float = 0.0,
    posinf: float | None = None,
    neginf: float | None = None,
) -> Value:
    """``x`` with nan, inf and -inf replaced (by 0 and the dtype's largest and lowest finite
    values unless given), as numpy.nan_to_num. ``copy`` is accepted for numpy's signature: results
    are new values either way. The gradient passes where ``x`` is finite."""
    del copy
    x = lift(x)
    if not is_float(x.dtype):
        return x
    info = np.finfo(x.dtype)
    big = float(info.max) if posinf is None else posinf
    low = float(info.min) if neginf is None else neginf
    out = where(isnan(x), nan, x)
    out = where(equal(x, math.inf), big, out)
    return where(equal(x, -math.inf), low, out)


def real(x: ArrayLike) -> Value:
    """The real part: ``x`` itself (graphjit arrays are real), as numpy.real of a real array."""
    return lift(x)


def imag(x: ArrayLike) -> Value:
    """The imaginary part of a real array: zeros of its shape and dtype, as numpy.imag."""
    return zeros_like(lift(x))


def conj(x: ArrayLike) -> Value:
    """The complex conjugate of a real array: ``x`` itself, as numpy.conj."""
    return lift(x)


conjugate = conj


def real_if_close(x: ArrayLike, tol: float = 100) -> Value:
    """``x`` (a real array is returned as it is by numpy.real_if_close)."""
    del tol
    return lift(x)


def angle(x: ArrayLike, deg: bool = False) -> Value:
    """The argument of real ``x`` as a complex number: 0 for x >= +0, pi for x <= -0 (signed
    zeros as numpy's arctan2(0, x)), nan at nan; in degrees with ``deg``. Zero gradient."""
    x = _as_float(x)
    half_turn = 180.0 if deg else math.pi
    turned = astype(where(signbit(x), half_turn, 0.0), x.dtype)
    return where(isnan(x), x, turned)
