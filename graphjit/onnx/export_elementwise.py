"""ONNX export of the elementwise ops: one standard ONNX op each where ONNX has it, numpy's
math (``arctan2``, ``hypot``, ``logaddexp``, ``remainder``, ``signbit``...) as composites keeping
its signed zeros, infinities and NaN."""

from __future__ import annotations

import math

import numpy as np

from graphjit.ir import Node
from graphjit.onnx.common import onnx_dtype
from graphjit.onnx.exporter import (
    Exporter,
    Writer,
    copysign_of,
    exports,
    isnan,
    scalar,
    signbit,
    where_keeping_sign,
    with_sign,
)

__all__: list[str] = []


# --------------------------------------------------------------------------------------------------
# elementwise


def _simple(op_type: str) -> Exporter:
    return lambda w, node, ins: w.op(op_type, ins)


_SIMPLE = {
    "negative": "Neg", "abs": "Abs", "sign": "Sign", "exp": "Exp", "log": "Log", "sqrt": "Sqrt",
    "reciprocal": "Reciprocal", "sin": "Sin", "cos": "Cos", "tan": "Tan", "tanh": "Tanh",
    "arctan": "Atan", "sigmoid": "Sigmoid", "softplus": "Softplus", "erf": "Erf",
    "logical_not": "Not", "logical_and": "And", "logical_or": "Or", "subtract": "Sub",
    "divide": "Div", "power": "Pow", "where": "Where", "matmul": "MatMul", "equal": "Equal",
}  # fmt: skip
for _name, _op_type in _SIMPLE.items():
    exports(_name)(_simple(_op_type))


@exports("exp2")
def _exp2(w: Writer, node: Node, ins: list[str]) -> str:
    return w.op("Pow", [scalar(w, 2.0, node.dtype), ins[0]])


@exports("log2")
def _log2(w: Writer, node: Node, ins: list[str]) -> str:
    return w.op("Div", [w.op("Log", ins), scalar(w, math.log(2.0), node.dtype)])


@exports("log1p")
def _log1p(w: Writer, node: Node, ins: list[str]) -> str:
    return w.op("Log", [w.op("Add", [ins[0], scalar(w, 1.0, node.dtype)])])


@exports("expm1")
def _expm1(w: Writer, node: Node, ins: list[str]) -> str:
    return w.op("Sub", [w.op("Exp", ins), scalar(w, 1.0, node.dtype)])


@exports("square")
def _square(w: Writer, node: Node, ins: list[str]) -> str:
    return w.op("And" if node.dtype == "bool" else "Mul", [ins[0], ins[0]])


@exports("relu")
def _relu(w: Writer, node: Node, ins: list[str]) -> str:
    if node.dtype == "bool":
        return w.op("Identity", ins)
    if node.dtype.startswith("int"):
        return w.op("Max", [ins[0], scalar(w, 0, node.dtype)])
    return w.op("Relu", ins)


@exports("floor", "ceil", "round")
def _rounding(w: Writer, node: Node, ins: list[str]) -> str:
    if not node.dtype.startswith("float"):
        return w.op("Identity", ins)  # numpy's floor/ceil/round keep ints as they are
    # numpy rounds half to even, as ONNX Round does
    return w.op({"floor": "Floor", "ceil": "Ceil", "round": "Round"}[node.op.name], ins)


@exports("add", "multiply", "maximum", "minimum")
def _arith(w: Writer, node: Node, ins: list[str]) -> str:
    name = node.op.name
    if node.dtype == "bool":  # numpy: + and maximum are `or` on bools, * and minimum `and`
        return w.op("Or" if name in ("add", "maximum") else "And", ins)
    return w.op({"add": "Add", "multiply": "Mul", "maximum": "Max", "minimum": "Min"}[name], ins)


_COMPARE = {
    "less": "Less", "less_equal": "LessOrEqual", "greater": "Greater",
    "greater_equal": "GreaterOrEqual",
}  # fmt: skip


@exports(*_COMPARE)
def _compare(w: Writer, node: Node, ins: list[str]) -> str:
    if node.inputs[0].dtype == "bool":  # ONNX orders numbers only
        ins = [w.cast(x, "bool", "int32") for x in ins]
    return w.op(_COMPARE[node.op.name], ins)


@exports("not_equal")
def _not_equal(w: Writer, node: Node, ins: list[str]) -> str:
    return w.op("Not", [w.op("Equal", ins)])


@exports("astype")
def _astype(w: Writer, node: Node, ins: list[str]) -> str:
    return w.op("Cast", ins, to=onnx_dtype(node.dtype))


# --------------------------------------------------------------------------------------------------
# more elementwise math: trig, special functions, rounding and division, float classification

_SIMPLE_FLOAT = {
    "sinh": "Sinh", "cosh": "Cosh", "arcsin": "Asin", "arccos": "Acos", "arcsinh": "Asinh",
    "arccosh": "Acosh", "arctanh": "Atanh",
}  # fmt: skip


def _as_out(w: Writer, node: Node, ins: list[str]) -> list[str]:
    """The inputs cast to the node's dtype (ops that compute ints in floats)."""
    return [w.cast(v, x.dtype, node.dtype) for v, x in zip(ins, node.inputs)]


def _float_unary(op_type: str) -> Exporter:
    return lambda w, node, ins: w.op(op_type, _as_out(w, node, ins))


for _name, _op_type in _SIMPLE_FLOAT.items():
    exports(_name)(_float_unary(_op_type))


@exports("log10")
def _log10(w: Writer, node: Node, ins: list[str]) -> str:
    (x,) = _as_out(w, node, ins)
    return w.op("Div", [w.op("Log", [x]), scalar(w, math.log(10.0), node.dtype)])


@exports("erfc")
def _erfc(w: Writer, node: Node, ins: list[str]) -> str:
    (x,) = _as_out(w, node, ins)
    return w.op("Sub", [scalar(w, 1.0, node.dtype), w.op("Erf", [x])])


@exports("hypot")
def _hypot(w: Writer, node: Node, ins: list[str]) -> str:
    """max(|x|, |y|) * sqrt(1 + (min / max)^2): no overflow or underflow on the way; 0 where both
    are 0, inf where either is infinite (even with a NaN), as numpy."""
    x, y = (w.op("Abs", [v]) for v in _as_out(w, node, ins))
    big, small = w.op("Max", [x, y]), w.op("Min", [x, y])
    zero, one = scalar(w, 0.0, node.dtype), scalar(w, 1.0, node.dtype)
    ratio = w.op("Div", [small, big])
    scaled = w.op("Mul", [big, w.op("Sqrt", [w.op("Add", [one, w.op("Mul", [ratio, ratio])])])])
    out = w.op("Where", [w.op("Equal", [big, zero]), zero, scaled])
    infinite = w.op("Or", [w.op("IsInf", [x]), w.op("IsInf", [y])])
    return w.op("Where", [infinite, scalar(w, np.inf, node.dtype), out])


@exports("logaddexp", "logaddexp2")
def _logaddexp(w: Writer, node: Node, ins: list[str]) -> str:
    """max(x, y) + log(1 + b^-|x - y|) (base e or 2); x + log(2) where x == y (infinities)."""
    x, y = _as_out(w, node, ins)
    dtype = node.dtype
    two = node.op.name == "logaddexp2"
    one = scalar(w, 1.0, dtype)
    gap = w.op("Neg", [w.op("Abs", [w.op("Sub", [x, y])])])
    power = w.op("Pow", [scalar(w, 2.0, dtype), gap]) if two else w.op("Exp", [gap])
    correction = w.op("Log", [w.op("Add", [one, power])])
    if two:
        correction = w.op("Div", [correction, scalar(w, math.log(2.0), dtype)])
    out = w.op("Add", [w.op("Max", [x, y]), correction])
    tie = w.op("Add", [x, one if two else scalar(w, math.log(2.0), dtype)])
    return w.op("Where", [w.op("Equal", [x, y]), tie, out])


@exports("arctan2")
def _arctan2(w: Writer, node: Node, ins: list[str]) -> str:
    """atan(y / x) moved to the right quadrant, with numpy's signed zeros and infinities."""
    y, x = _as_out(w, node, ins)
    dtype = node.dtype
    zero = scalar(w, 0.0, dtype)
    pi, half_pi = scalar(w, math.pi, dtype), scalar(w, math.pi / 2, dtype)
    base = w.op("Atan", [w.op("Div", [y, x])])
    y_negative = signbit(w, y, dtype)
    x_negative = signbit(w, x, dtype)
    left = w.op("Where", [y_negative, w.op("Sub", [base, pi]), w.op("Add", [base, pi])])
    on_axis = w.op(
        "Where",
        [
            w.op("Equal", [y, zero]),
            w.op("Where", [x_negative, copysign_of(w, pi, y, dtype), y]),
            copysign_of(w, half_pi, y, dtype),
        ],
    )
    out = w.op("Where", [w.op("Greater", [x, zero]), base, left])
    out = w.op("Where", [w.op("Equal", [x, zero]), on_axis, out])
    corner = w.op(
        "Where",
        [x_negative, scalar(w, 3 * math.pi / 4, dtype), scalar(w, math.pi / 4, dtype)],
    )
    both_infinite = w.op("And", [w.op("IsInf", [x]), w.op("IsInf", [y])])
    out = w.op("Where", [both_infinite, copysign_of(w, corner, y, dtype), out])
    nan = w.op("Or", [w.op("IsNaN", [x]), w.op("IsNaN", [y])])
    out = w.op("Where", [nan, w.op("Add", [x, y]), out])
    return with_sign(w, out, y_negative, dtype)  # atan2 has y's sign, zeros included


@exports("fmax", "fmin")
def _fmax(w: Writer, node: Node, ins: list[str]) -> str:
    """max/min that ignores a NaN: the other input where one is NaN."""
    x, y = ins
    if node.dtype == "bool":
        return w.op("Or" if node.op.name == "fmax" else "And", ins)
    out = w.op("Max" if node.op.name == "fmax" else "Min", [x, y])
    if not node.dtype.startswith("float"):
        return out
    out = where_keeping_sign(w, w.op("IsNaN", [x]), y, out, node.dtype)
    return where_keeping_sign(w, w.op("IsNaN", [y]), x, out, node.dtype)


@exports("clamp")
def _clamp(w: Writer, node: Node, ins: list[str]) -> str:
    x, lo, hi = ins
    low = w.op("Max", [x, lo])
    out = w.op("Min", [low, hi])
    if not node.dtype.startswith("float"):
        return out
    # NaN-propagating, as numpy's maximum and minimum
    nan = w.op("Or", [w.op("IsNaN", [x]), w.op("Or", [w.op("IsNaN", [lo]), w.op("IsNaN", [hi])])])
    return where_keeping_sign(w, nan, w.op("Add", [x, w.op("Add", [lo, hi])]), out, node.dtype)


@exports("copysign")
def _copysign(w: Writer, node: Node, ins: list[str]) -> str:
    x, y = _as_out(w, node, ins)
    return copysign_of(w, x, y, node.dtype)


@exports("heaviside")
def _heaviside(w: Writer, node: Node, ins: list[str]) -> str:
    x, h0 = _as_out(w, node, ins)
    dtype = node.dtype
    zero = scalar(w, 0.0, dtype)
    out = w.op("Where", [w.op("Greater", [x, zero]), scalar(w, 1.0, dtype), h0])
    out = w.op("Where", [w.op("Less", [x, zero]), zero, out])
    out = w.op("Where", [w.op("IsNaN", [x]), x, out])  # Where broadcasts x and h0
    # the sign of a zero h0 where x is 0
    chosen = w.op("And", [w.op("Equal", [x, zero]), signbit(w, h0, dtype)])
    return with_sign(w, out, chosen, dtype)


@exports("trunc")
def _trunc(w: Writer, node: Node, ins: list[str]) -> str:
    if not node.dtype.startswith("float"):
        return w.op("Identity", ins)
    x = ins[0]
    negative = w.op("Less", [x, scalar(w, 0.0, node.dtype)])
    out = w.op("Where", [negative, w.op("Ceil", [x]), w.op("Floor", [x])])
    return with_sign(w, out, signbit(w, x, node.dtype), node.dtype)  # trunc(-0.5) is -0.0


def _int_floor_divide(w: Writer, a: str, b: str, dtype: str) -> str:
    """ONNX's Div truncates ints: step down where the remainder's sign differs from b's."""
    q = w.op("Div", [a, b])
    r = w.op("Sub", [a, w.op("Mul", [q, b])])
    zero = scalar(w, 0, dtype)
    differs = w.op(
        "And",
        [
            w.op("Not", [w.op("Equal", [r, zero])]),
            w.op("Xor", [w.op("Less", [r, zero]), w.op("Less", [b, zero])]),
        ],
    )
    return w.op("Sub", [q, w.cast(differs, "bool", dtype)])


def _float_divmod(w: Writer, a: str, b: str, dtype: str) -> tuple[str, str]:
    """numpy's float divmod (npy_divmod): from fmod, with the quotient rounded as numpy does and
    the remainder taking the divisor's sign (a zero remainder too); a / b and NaN where b is 0."""
    zero, one, half = (scalar(w, v, dtype) for v in (0.0, 1.0, 0.5))
    mod = w.op("Mod", [a, b], fmod=1)
    div = w.op("Div", [w.op("Sub", [a, mod]), b])
    nonzero = w.op("Not", [w.op("Equal", [mod, zero])])
    b_negative = w.op("Less", [b, zero])
    flip = w.op("And", [nonzero, w.op("Xor", [b_negative, w.op("Less", [mod, zero])])])
    mod = w.op("Where", [flip, w.op("Add", [mod, b]), mod])
    div = w.op("Where", [flip, w.op("Sub", [div, one]), div])
    mod = copysign_of(w, mod, b, dtype)  # the divisor's sign, a zero remainder's too
    floor = w.op("Floor", [div])
    floor = w.op(
        "Where",
        [w.op("Greater", [w.op("Sub", [div, floor]), half]), w.op("Add", [floor, one]), floor],
    )
    quotient = w.op("Div", [a, b])
    floor = w.op("Where", [w.op("Equal", [b, zero]), quotient, floor])
    # the quotient has the sign of a / b (a zero one too: floor_divide(-0.0, 1) is -0.0)
    return copysign_of(w, floor, quotient, dtype), mod


@exports("floor_divide")
def _floor_divide(w: Writer, node: Node, ins: list[str]) -> str:
    a, b = ins
    if node.dtype.startswith("float"):
        return _float_divmod(w, a, b, node.dtype)[0]
    return _int_floor_divide(w, a, b, node.dtype)


@exports("remainder")
def _remainder(w: Writer, node: Node, ins: list[str]) -> str:
    a, b = ins
    if node.dtype.startswith("float"):
        return _float_divmod(w, a, b, node.dtype)[1]
    return w.op("Mod", [a, b], fmod=0)  # ONNX's integer Mod takes the divisor's sign, as numpy


@exports("isnan")
def _isnan_op(w: Writer, node: Node, ins: list[str]) -> str:
    return isnan(w, ins[0], node.inputs[0].dtype)


@exports("isinf")
def _isinf(w: Writer, node: Node, ins: list[str]) -> str:
    if node.inputs[0].dtype.startswith("float"):
        return w.op("IsInf", ins)
    return w.op("Not", [w.op("Equal", [ins[0], ins[0]])])


@exports("isfinite")
def _isfinite(w: Writer, node: Node, ins: list[str]) -> str:
    x = ins[0]
    if node.inputs[0].dtype.startswith("float"):
        return w.op("Not", [w.op("Or", [w.op("IsNaN", [x]), w.op("IsInf", [x])])])
    return w.op("Equal", [x, x])


@exports("signbit")
def _signbit_op(w: Writer, node: Node, ins: list[str]) -> str:
    dtype = node.inputs[0].dtype
    if dtype == "bool":
        return w.op("Not", [w.op("Equal", [ins[0], ins[0]])])
    return signbit(w, ins[0], dtype)


# --------------------------------------------------------------------------------------------------
# bitwise (the ops take integers only: bools go to And/Or/Not through the logical ops)

for _name, _op_type in {
    "bitwise_and": "BitwiseAnd",
    "bitwise_or": "BitwiseOr",
    "bitwise_xor": "BitwiseXor",
    "bitwise_not": "BitwiseNot",
}.items():
    exports(_name)(_simple(_op_type))


@exports("left_shift", "right_shift")
def _shift(w: Writer, node: Node, ins: list[str]) -> str:
    """numpy's shifts as exact integer arithmetic: ``x * 2**c`` (wrapping, as the shift does) and,
    for the right shift, the floor of ``x / 2**c`` (``~(~x / 2**c)`` for negative ``x``, where the
    division truncates), with a count that is negative or not below the width giving 0, or -1 for
    a negative ``x`` shifted right (numpy's answer; C leaves those shifts undefined). ONNX's
    BitShift is defined for unsigned types only, so it serves none of the signed dtypes; the
    narrow dtypes compute in int32, which onnxruntime's arithmetic kernels cover."""
    dtype = node.dtype
    width = np.iinfo(dtype).bits
    signed = dtype != "uint8"
    work = "int64" if dtype == "int64" else "int32"
    x = w.cast(ins[0], dtype, work)
    count = w.cast(ins[1], dtype, "int64")
    # a right shift of a signed value by width - 1 is its sign, which the fallback below gives;
    # the power 2**(width - 1) is then never divided by (it wraps to the most negative int64)
    limit = width - 1 if signed and node.op.name == "right_shift" else width
    in_range = w.op(
        "And",
        [
            w.op("GreaterOrEqual", [count, scalar(w, 0, "int64")]),
            w.op("Less", [count, scalar(w, limit, "int64")]),
        ],
    )
    index = w.op("Where", [in_range, count, scalar(w, 0, "int64")])
    powers = np.left_shift(np.ones(width, work), np.arange(width, dtype=work))  # 2**k, wrapping
    power = w.op("Gather", [w.const(powers), index], axis=0)
    zero = scalar(w, 0, work)
    if node.op.name == "left_shift":
        result = w.op("Where", [in_range, w.op("Mul", [x, power]), zero])
    else:
        negative = w.op("Less", [x, zero])
        magnitude = w.op("Where", [negative, w.op("BitwiseNot", [x]), x])  # ~x >= 0 when x < 0
        quotient = w.op("Div", [magnitude, power])
        shifted = w.op("Where", [negative, w.op("BitwiseNot", [quotient]), quotient])
        fill = w.op("Where", [negative, scalar(w, -1, work), zero]) if signed else zero
        result = w.op("Where", [in_range, shifted, fill])
    return w.cast(result, work, dtype)
