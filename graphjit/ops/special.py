"""Special functions: logaddexp, logaddexp2, erfc, erfinv.

Each is an op of its own, as in :mod:`graphjit.ops.elementwise`: written as compositions of
``exp`` and ``log`` they would overflow or lose their digits (``log(exp(1000) + 1)``,
``1 - erf(6)``). Values at the edges are numpy's and scipy's: ``erfinv(+-1) = +-inf``, nan beyond;
``logaddexp(inf, inf) = inf``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from graphjit.ops.dispatch import ArrayLike, Value
from graphjit.ops.prims import exp
from graphjit.ops.templates import binary_function, float_math, unary_function

__all__ = ["logaddexp", "logaddexp2", "erfc", "erfinv"]

TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
SQRT_PI_OVER_TWO = math.sqrt(math.pi) / 2.0


def _erfc_impl(x: np.ndarray) -> np.ndarray:
    from scipy.special import erfc as scipy_erfc  # noqa: PLC0415 - scipy.special loads slowly

    return scipy_erfc(x)


def _erfinv_impl(x: np.ndarray) -> np.ndarray:
    from scipy.special import erfinv as scipy_erfinv  # noqa: PLC0415 - as above

    return scipy_erfinv(x)


# d/dx log(e^x + e^y) = e^(x - out): the softmax weight of x, at most 1 (never overflows)
LOGADDEXP = float_math(
    "logaddexp",
    np.logaddexp,
    lambda x, y, out: exp(x - out),
    lambda x, y, out: exp(y - out),
)
LOGADDEXP2 = float_math(
    "logaddexp2",
    np.logaddexp2,
    lambda x, y, out: 2.0 ** (x - out),
    lambda x, y, out: 2.0 ** (y - out),
)
ERFC = float_math("erfc", _erfc_impl, lambda x, out: -TWO_OVER_SQRT_PI * exp(-(x * x)))
ERFINV = float_math("erfinv", _erfinv_impl, lambda x, out: SQRT_PI_OVER_TWO * exp(out * out))


logaddexp: Callable[[ArrayLike, ArrayLike], Value] = binary_function(
    LOGADDEXP, "log(exp(x1) + exp(x2)) without overflow, as numpy.logaddexp."
)
logaddexp2: Callable[[ArrayLike, ArrayLike], Value] = binary_function(
    LOGADDEXP2, "log2(2**x1 + 2**x2) without overflow, as numpy.logaddexp2."
)
erfc: Callable[[ArrayLike], Value] = unary_function(
    ERFC, "1 - erf(x) without cancellation, as scipy.special.erfc."
)
erfinv: Callable[[ArrayLike], Value] = unary_function(
    ERFINV, "The inverse of erf on [-1, 1], as scipy.special.erfinv."
)
