"""Elementwise ops: unary math, binary arithmetic (with clip), astype. Comparisons, logic and
``where`` are in :mod:`graphjit.ops.comparison`; the derivative rules here select with them through
:mod:`graphjit.ops.prims`.

Each op is one ``defop`` call: numpy reference, derivative rules (written with operators and
``gj``-namespace functions, so they build graphs or compute eagerly), and ``lower``: a scalar
expression template over ``{0}``, ``{1}``, ... for the code generators. Template names (``exp``,
``log1p``, ``sigmoid``, ...) are resolved by each backend's scalar-math prelude.

Conventions at kinks (as JAX): relu'(0) = 0, abs'(0) = sign(0) = 0, maximum/minimum split the
gradient evenly between tied inputs; floor, ceil, round and sign have zero gradient. ``clamp``
(PyTorch's name) follows PyTorch at its bounds: x keeps the gradient there (``clip`` splits it).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from graphjit.dtypes import is_float
from graphjit.ir import Node, TensorType
from graphjit.ops.dispatch import (
    ArrayLike,
    Value,
    apply,
    astype,
    is_tensor,
    lift,
    lift_like,
    untracked_array,
    write_out,
)
from graphjit.ops.leaves import CONSTANT, constant_value
from graphjit.ops.prims import equal, where
from graphjit.ops.registry import OpDef, binds, defop, jvp_from, zero_jvp, zero_vjp
from graphjit.ops.shape_rules import elementwise_type

__all__ = [
    "negative",
    "abs",
    "absolute",
    "fabs",
    "sign",
    "exp",
    "exp2",
    "log",
    "log2",
    "log10",
    "log1p",
    "expm1",
    "sqrt",
    "square",
    "reciprocal",
    "sin",
    "cos",
    "tan",
    "tanh",
    "arctan",
    "sigmoid",
    "relu",
    "softplus",
    "erf",
    "floor",
    "ceil",
    "round",
    "around",
    "add",
    "subtract",
    "multiply",
    "divide",
    "true_divide",
    "power",
    "maximum",
    "minimum",
    "fmax",
    "fmin",
    "clip",
    "clamp",
    "astype",
]

LN2 = math.log(2.0)
LN10 = math.log(10.0)
TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _same_type(name: str, allow_bool: bool = True) -> Any:
    def infer(*types: TensorType) -> TensorType:
        if not allow_bool and any(t.dtype == "bool" for t in types):
            raise TypeError(f"{name}: not defined for bool inputs; cast with .astype first")
        return elementwise_type(name, *types)

    return infer


def unary(
    name: str,
    impl: Any,
    lower: str,
    grad: Any | None,
    *,
    to_float: bool = True,
    allow_bool: bool = True,
    expensive: bool = False,
    doc: str = "",
) -> OpDef:
    """An elementwise unary op whose derivative is ``grad(x, out)`` (None: zero gradient);
    ``expensive`` marks transcendental math (see OpDef)."""
    if grad is None:
        return defop(
            name,
            infer=_same_type(name, allow_bool),
            impl=impl,
            vjp=zero_vjp,
            jvp=zero_jvp,
            kind="elementwise",
            lower=lower,
            to_float=to_float,
            expensive=expensive,
            doc=doc,
        )
    return defop(
        name,
        infer=_same_type(name, allow_bool),
        impl=impl,
        vjps=(lambda g, out, x: g * grad(x, out),),
        jvp=jvp_from(lambda t, out, x: t * grad(x, out)),
        kind="elementwise",
        lower=lower,
        to_float=to_float,
        expensive=expensive,
        doc=doc,
    )


def _sigmoid_impl(x: np.ndarray) -> np.ndarray:
    from scipy.special import expit  # noqa: PLC0415 - on first use: scipy.special loads in ~0.3 s

    return expit(x)


def _relu_impl(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, np.zeros((), x.dtype))


def _softplus_impl(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(np.zeros((), x.dtype), x)


def _round_impl(x: np.ndarray) -> np.ndarray:
    return np.round(x)


# negative is linear: its rules negate (``-g``) rather than multiply by its derivative (``g * -1``)
NEGATIVE = defop(
    "negative",
    infer=_same_type("negative", allow_bool=False),
    impl=np.negative,
    vjps=(lambda g, out, x: -g,),
    jvp=jvp_from(lambda t, out, x: -t),
    kind="elementwise",
    lower="(-{0})",
    to_float=False,
)
ABS = unary("abs", np.abs, "abs({0})", lambda x, out: sign(x), to_float=False)
SIGN = unary("sign", np.sign, "sign({0})", None, to_float=False, allow_bool=False)
EXP = unary("exp", np.exp, "exp({0})", lambda x, out: out, expensive=True)
EXP2 = unary("exp2", np.exp2, "exp2({0})", lambda x, out: out * LN2, expensive=True)
LOG = unary("log", np.log, "log({0})", lambda x, out: 1.0 / x, expensive=True)
LOG2 = unary("log2", np.log2, "log2({0})", lambda x, out: 1.0 / (x * LN2), expensive=True)
LOG10 = unary("log10", np.log10, "log10({0})", lambda x, out: 1.0 / (x * LN10), expensive=True)
LOG1P = unary("log1p", np.log1p, "log1p({0})", lambda x, out: 1.0 / (1.0 + x), expensive=True)
EXPM1 = unary("expm1", np.expm1, "expm1({0})", lambda x, out: out + 1.0, expensive=True)
SQRT = unary("sqrt", np.sqrt, "sqrt({0})", lambda x, out: 0.5 / out, expensive=True)
# bool is rejected: numpy squares bool to int8, which graphjit has no dtype for
SQUARE = unary(
    "square", np.square, "({0} * {0})", lambda x, out: 2 * x, to_float=False, allow_bool=False
)
RECIPROCAL = unary(
    "reciprocal", lambda x: np.reciprocal(x), "(1.0 / {0})", lambda x, out: -(out * out)
)
SIN = unary("sin", np.sin, "sin({0})", lambda x, out: cos(x), expensive=True)
COS = unary("cos", np.cos, "cos({0})", lambda x, out: -sin(x), expensive=True)
TAN = unary("tan", np.tan, "tan({0})", lambda x, out: 1.0 + out * out, expensive=True)
TANH = unary("tanh", np.tanh, "tanh({0})", lambda x, out: 1.0 - out * out, expensive=True)
ARCTAN = unary(
    "arctan", np.arctan, "arctan({0})", lambda x, out: 1.0 / (1.0 + x * x), expensive=True
)
SIGMOID = unary(
    "sigmoid",
    _sigmoid_impl,
    "sigmoid({0})",
    lambda x, out: out * (1.0 - out),
    expensive=True,
    doc="1 / (1 + exp(-x)), computed without overflow",
)
RELU = unary(
    "relu",
    _relu_impl,
    "relu({0})",
    lambda x, out: (out > 0).astype(x.dtype),  # out > 0 iff x > 0: x need not be kept
    to_float=False,
    allow_bool=False,
    doc="max(x, 0); relu'(0) = 0",
)
SOFTPLUS = unary(
    "softplus",
    _softplus_impl,
    "softplus({0})",
    lambda x, out: sigmoid(x),
    expensive=True,
    doc="log(1 + exp(x)), computed without overflow",
)


def _erf_impl(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf as scipy_erf  # noqa: PLC0415 - on first use, as above

    return scipy_erf(x)


ERF = unary(
    "erf", _erf_impl, "erf({0})", lambda x, out: TWO_OVER_SQRT_PI * exp(-(x * x)), expensive=True
)
FLOOR = unary("floor", np.floor, "floor({0})", None, to_float=False, allow_bool=False)
CEIL = unary("ceil", np.ceil, "ceil({0})", None, to_float=False, allow_bool=False)
ROUND = unary(
    "round",
    _round_impl,
    "round_half_even({0})",
    None,
    to_float=False,
    allow_bool=False,
    doc="round half to even, as numpy",
)


# --------------------------------------------------------------------------------------------------
# binary


def _where_tie(a: Any, b: Any, out: Any) -> Any:
    """The share of the gradient of max/min(a, b) that goes to ``a``: 1, 0, or 0.5 on ties."""
    dt = out.dtype
    return equal(a, out).astype(dt) * where(equal(b, out), 0.5, 1.0).astype(dt)


def _known_scalar(v: Any) -> np.ndarray | None:
    """``v``'s value when it is one number known now (a 0-d graph constant, or a 0-d eager tensor
    in host memory whose use records nothing on the tape), as a 0-d array; else None."""
    if isinstance(v, Node):
        return constant_value(v) if v.op is CONSTANT and v.type.shape == () else None
    if is_tensor(v) and v.ndim == 0:
        return untracked_array(v)
    return None


def _pow_dx(x: Any, y: Any, out: Any) -> Any:
    # y * x**(y-1). For a known exponent (x ** 3, or 2 where power was not rewritten to square)
    # that is two ops, y - 1 taken now in y's dtype; an eager backward runs each op it builds
    c = _known_scalar(y)
    if c is not None and c != 0 and not np.isnan(c):
        return y * (x if c == 2 else power(x, lift_like(np.subtract(c, c.dtype.type(1)), y)))
    # the y == 0 case exact (0, not 0 * inf). The exponent of the unused branch is made safe too,
    # so that its own derivative (second order) is not 0 * inf either.
    y_is_0 = equal(y, 0)
    return where(y_is_0, 0.0, y * power(x, where(y_is_0, 1, y - 1)))


def _pow_dy(x: Any, y: Any, out: Any) -> Any:
    # out * log(x), taking 0 where x == 0 (the limit for y > 0) as JAX does
    x_is_0 = equal(x, 0)
    return where(x_is_0, 0.0, out * log(where(x_is_0, 1.0, x)))


ADD = defop(
    "add",
    infer=_same_type("add"),
    impl=np.add,
    vjps=(lambda g, out, x, y: g, lambda g, out, x, y: g),
    jvp=jvp_from(lambda t, out, x, y: t, lambda t, out, x, y: t),
    kind="elementwise",
    lower="({0} + {1})",
)
SUBTRACT = defop(
    "subtract",
    infer=_same_type("subtract", allow_bool=False),
    impl=np.subtract,
    vjps=(lambda g, out, x, y: g, lambda g, out, x, y: -g),
    jvp=jvp_from(lambda t, out, x, y: t, lambda t, out, x, y: -t),
    kind="elementwise",
    lower="({0} - {1})",
)
MULTIPLY = defop(
    "multiply",
    infer=_same_type("multiply"),
    impl=np.multiply,
    vjps=(lambda g, out, x, y: g * y, lambda g, out, x, y: g * x),
    jvp=jvp_from(lambda t, out, x, y: t * y, lambda t, out, x, y: x * t),
    kind="elementwise",
    lower="({0} * {1})",
)
DIVIDE = defop(
    "divide",
    infer=_same_type("divide"),
    impl=np.divide,
    vjps=(lambda g, out, x, y: g / y, lambda g, out, x, y: -(g * out) / y),
    jvp=jvp_from(lambda t, out, x, y: t / y, lambda t, out, x, y: -(t * out) / y),
    kind="elementwise",
    lower="({0} / {1})",
    to_float=True,
)
POWER = defop(
    "power",
    infer=_same_type("power", allow_bool=False),
    impl=np.power,
    vjps=(lambda g, out, x, y: g * _pow_dx(x, y, out), lambda g, out, x, y: g * _pow_dy(x, y, out)),
    jvp=jvp_from(
        lambda t, out, x, y: t * _pow_dx(x, y, out), lambda t, out, x, y: t * _pow_dy(x, y, out)
    ),
    kind="elementwise",
    expensive=True,
    lower="power({0}, {1})",
)


def _extremum(name: str, impl: Any, nan: str = "NaN-propagating") -> OpDef:
    """maximum / minimum (fmax / fmin): the gradient goes to the chosen input, split evenly on
    ties (fmax/fmin: to the input that is not nan)."""
    return defop(
        name,
        infer=_same_type(name),
        impl=impl,
        vjps=(
            lambda g, out, x, y: g * _where_tie(x, y, out),
            lambda g, out, x, y: g * _where_tie(y, x, out),
        ),
        jvp=jvp_from(
            lambda t, out, x, y: t * _where_tie(x, y, out),
            lambda t, out, x, y: t * _where_tie(y, x, out),
        ),
        kind="elementwise",
        lower=f"{name}({{0}}, {{1}})",
        doc=f"{nan} {name}; ties split the gradient evenly",
    )


MAXIMUM = _extremum("maximum", np.maximum)
MINIMUM = _extremum("minimum", np.minimum)
FMAX = _extremum("fmax", np.fmax, nan="NaN-ignoring")
FMIN = _extremum("fmin", np.fmin, nan="NaN-ignoring")


_CLAMP_MASKS = (  # where input i of clamp(x, lo, hi) gets the gradient (as PyTorch)
    lambda x, lo, hi: (x >= lo) & (x <= hi),
    lambda x, lo, hi: (x < lo) & (lo <= hi),
    lambda x, lo, hi: (x > hi) | (hi < lo),
)


def _clamp_rule(i: int) -> Any:
    """The cotangent (or tangent) rule of clamp's input i: ``g`` where the mask holds, else 0."""
    mask = _CLAMP_MASKS[i]
    return lambda g, out, x, lo, hi: g * mask(x, lo, hi).astype(x.dtype)


# PyTorch's clamp: x keeps its gradient at the bounds (clip splits it there), a bound gets it only
# where it is the answer (the upper one when the bounds cross, the lower one below bounds that
# are equal, where PyTorch gives it to neither and so loses it)
CLAMP = defop(
    "clamp",
    infer=_same_type("clamp", allow_bool=False),
    impl=lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi),
    vjps=tuple(_clamp_rule(i) for i in range(3)),
    jvp=jvp_from(*(_clamp_rule(i) for i in range(3))),
    kind="elementwise",
    lower="minimum(maximum({0}, {1}), {2})",
    doc="min(max(x, lo), hi), NaN-propagating, with PyTorch's gradients at the bounds",
)


def _astype_infer(x: TensorType, *, dtype: str) -> TensorType:
    return TensorType(x.shape, dtype)


def _astype_impl(x: np.ndarray, *, dtype: str) -> np.ndarray:
    return x.astype(dtype)


def _astype_vjp(g: Any, out: Any, x: Any, *, dtype: str) -> tuple[Any]:
    if not (is_float(x.dtype) and is_float(dtype)):
        return (None,)  # casts to or from int/bool are piecewise constant
    return (g.astype(x.dtype),)


def _astype_jvp(tangents: Any, out: Any, x: Any, *, dtype: str) -> Any:
    (t,) = tangents
    if t is None or not (is_float(x.dtype) and is_float(dtype)):
        return None
    return t.astype(dtype)


ASTYPE = defop(
    "astype",
    infer=_astype_infer,
    impl=_astype_impl,
    vjp=_astype_vjp,
    jvp=_astype_jvp,
    kind="elementwise",
    lower="cast({0}, {dtype})",
    promote=None,
    doc="dtype conversion with numpy's casting (float -> int truncates)",
)


# --------------------------------------------------------------------------------------------------
# public functions


def _unary_fn(op: OpDef) -> Callable[[Any], Any]:
    def fn(x: Any, *, out: Any = None) -> Any:
        result = apply(op, x)
        return result if out is None else write_out(result, out, op.name)

    fn.__name__ = op.name
    fn.__qualname__ = op.name
    fn.__doc__ = op.doc or f"Elementwise {op.name}, as numpy.{op.name}."
    return binds(op)(fn)


def _binary_fn(op: OpDef) -> Callable[[Any, Any], Any]:
    def fn(x: Any, y: Any, *, out: Any = None) -> Any:
        result = apply(op, x, y)
        return result if out is None else write_out(result, out, op.name)

    fn.__name__ = op.name
    fn.__qualname__ = op.name
    fn.__doc__ = op.doc or f"Elementwise {op.name} with numpy broadcasting, as numpy.{op.name}."
    return binds(op)(fn)


negative: Callable[[ArrayLike], Value] = _unary_fn(NEGATIVE)
abs: Callable[[ArrayLike], Value] = _unary_fn(ABS)
absolute = abs
sign: Callable[[ArrayLike], Value] = _unary_fn(SIGN)
exp: Callable[[ArrayLike], Value] = _unary_fn(EXP)
exp2: Callable[[ArrayLike], Value] = _unary_fn(EXP2)
log: Callable[[ArrayLike], Value] = _unary_fn(LOG)
log2: Callable[[ArrayLike], Value] = _unary_fn(LOG2)
log10: Callable[[ArrayLike], Value] = _unary_fn(LOG10)
log1p: Callable[[ArrayLike], Value] = _unary_fn(LOG1P)
expm1: Callable[[ArrayLike], Value] = _unary_fn(EXPM1)
sqrt: Callable[[ArrayLike], Value] = _unary_fn(SQRT)
square: Callable[[ArrayLike], Value] = _unary_fn(SQUARE)
reciprocal: Callable[[ArrayLike], Value] = _unary_fn(RECIPROCAL)
sin: Callable[[ArrayLike], Value] = _unary_fn(SIN)
cos: Callable[[ArrayLike], Value] = _unary_fn(COS)
tan: Callable[[ArrayLike], Value] = _unary_fn(TAN)
tanh: Callable[[ArrayLike], Value] = _unary_fn(TANH)
arctan: Callable[[ArrayLike], Value] = _unary_fn(ARCTAN)
sigmoid: Callable[[ArrayLike], Value] = _unary_fn(SIGMOID)
relu: Callable[[ArrayLike], Value] = _unary_fn(RELU)
softplus: Callable[[ArrayLike], Value] = _unary_fn(SOFTPLUS)
erf: Callable[[ArrayLike], Value] = _unary_fn(ERF)
floor: Callable[[ArrayLike], Value] = _unary_fn(FLOOR)
ceil: Callable[[ArrayLike], Value] = _unary_fn(CEIL)


@binds(ROUND)
def round(x: ArrayLike, decimals: int = 0, *, out: Any = None) -> Value:
    """Round half to even to ``decimals`` places (negative: to tens, hundreds...), as numpy.round
    and torch.round(decimals=): ``rint(x * 10**decimals) / 10**decimals``, so the result is the
    float nearest that decimal, as numpy's. Ints round only with negative ``decimals``."""
    if isinstance(decimals, bool) or not isinstance(decimals, (int, np.integer)):
        raise TypeError(f"round: decimals must be an int, got {decimals!r}")
    x = lift(x)
    decimals = int(decimals)
    if decimals == 0 or (decimals > 0 and not is_float(x.dtype)):
        result = apply(ROUND, x)
    elif decimals > 0:
        scale = 10.0**decimals
        result = apply(ROUND, x * scale) / scale
    else:  # to tens, hundreds...: divide first, as numpy does
        scale = 10.0**-decimals
        result = astype(apply(ROUND, x / scale) * scale, x.dtype)
    return result if out is None else write_out(result, out, "round")


around = round
add: Callable[[ArrayLike, ArrayLike], Value] = _binary_fn(ADD)
subtract: Callable[[ArrayLike, ArrayLike], Value] = _binary_fn(SUBTRACT)
multiply: Callable[[ArrayLike, ArrayLike], Value] = _binary_fn(MULTIPLY)
divide: Callable[[ArrayLike, ArrayLike], Value] = _binary_fn(DIVIDE)
true_divide = divide


@binds(POWER)
def power(x: ArrayLike, y: ArrayLike, *, out: Any = None) -> Value:
    """Elementwise power with numpy broadcasting, as numpy.power."""
    # an eager x ** 2 with a python 2 is square(x), as numpy computes it: the same bits, and a
    # derivative of two ops (2 * x * g) where pow's general rule takes seven, each a kernel call.
    # A graph keeps the power the user wrote; its rewrite makes it a square (algebra.power_two)
    squares = y.__class__ is int and y == 2 and is_tensor(x)
    result = apply(SQUARE, x) if squares and x.dtype != "bool" else apply(POWER, x, y)
    return result if out is None else write_out(result, out, "power")


maximum: Callable[[ArrayLike, ArrayLike], Value] = _binary_fn(MAXIMUM)
minimum: Callable[[ArrayLike, ArrayLike], Value] = _binary_fn(MINIMUM)
fmax: Callable[[ArrayLike, ArrayLike], Value] = _binary_fn(FMAX)
fmin: Callable[[ArrayLike, ArrayLike], Value] = _binary_fn(FMIN)


def clip(x: ArrayLike, a_min: Any = None, a_max: Any = None) -> Value:
    """``x`` limited to [a_min, a_max] (either may be None), as minimum(maximum(x, a_min), a_max).

    At a bound the gradient is split evenly, as in JAX."""
    if a_min is None and a_max is None:
        raise ValueError("clip: give a_min, a_max or both")
    out = x
    if a_min is not None:
        out = maximum(out, a_min)
    if a_max is not None:
        out = minimum(out, a_max)
    return out


def fabs(x: ArrayLike, *, out: Any = None) -> Value:
    """Absolute value in float (ints and bools become float64), as numpy.fabs."""
    x = lift(x)
    return write_out(abs(x if is_float(x.dtype) else astype(x, "float64")), out, "fabs")


def _widest(x: Any, upper: bool) -> Any:
    """The bound that clamps nothing: +-inf for floats, the int dtype's extreme for ints."""
    if is_float(x.dtype):
        return math.inf if upper else -math.inf
    info = np.iinfo(x.dtype)
    return int(info.max if upper else info.min)


@binds(CLAMP)
def clamp(x: ArrayLike, min: Any = None, max: Any = None, *, out: Any = None) -> Value:  # noqa: A002
    """``x`` limited to [min, max] (bounds may be arrays or tensors; either may be None), as
    torch.clamp: NaN-propagating, and at a bound the gradient goes to ``x`` (``clip`` splits it)."""
    if min is None and max is None:
        raise ValueError("clamp: give min, max or both")
    x = lift(x)
    if x.dtype == "bool":
        raise TypeError("clamp: not defined for bool inputs; cast with .astype first")
    lo = _widest(x, upper=False) if min is None else min
    hi = _widest(x, upper=True) if max is None else max
    return write_out(apply(CLAMP, x, lo, hi), out, "clamp")
