"""Write a graphjit graph as an ONNX model: one function per op, writing standard ONNX nodes.

Placeholders become graph inputs (``None`` dims get a symbolic name ``<input>_dim<axis>``, named
dims keep their name), variables and constants become initializers, and every op but those
:func:`unmapped_ops` lists maps to standard ONNX ops (opset 18 and later). Call-time sizes are
read with ``Shape`` where an op needs them, so one model serves every size of the ``None`` dims,
as the compiled function does.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from graphjit import ir
from graphjit.ir import Node
from graphjit.onnx.common import (
    DEFAULT_OPSET,
    MIN_EXPORT_OPSET,
    OnnxConversionError,
    UnsupportedOpError,
    import_onnx,
    onnx_dtype,
)
from graphjit.ops import OPS
from graphjit.ops.leaves import CONSTANT, PLACEHOLDER, VARIABLE, constant_value

if TYPE_CHECKING:
    import onnx

__all__ = ["to_model", "EXPORTERS", "unmapped_ops"]

INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min
LEAVES = ("placeholder", "constant", "variable")


class Writer:
    """Collects ONNX nodes and initializers; hands out fresh value names."""

    def __init__(self, opset: int, reserved: set[str]) -> None:
        self.onnx = import_onnx()
        self.opset = opset
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._used = set(reserved)
        self._counter = itertools.count()
        self._consts: dict[tuple[str, tuple[int, ...], bytes], str] = {}

    def fresh(self, hint: str = "t") -> str:
        while True:
            name = f"{hint}_{next(self._counter)}"
            if name not in self._used:
                self._used.add(name)
                return name

    def reserve(self, name: str) -> str:
        """``name`` itself if free, else a fresh variant of it."""
        if name not in self._used:
            self._used.add(name)
            return name
        return self.fresh(name)

    def op(self, op_type: str, inputs: Sequence[str], **attrs: Any) -> str:
        out = self.fresh(op_type.lower())
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), [out], **attrs))
        return out

    def initializer(self, array: np.ndarray, name: str) -> str:
        self.initializers.append(
            self.onnx.numpy_helper.from_array(np.array(array, order="C"), name)
        )
        return name

    def const(self, value: Any, dtype: str | None = None) -> str:
        """A constant (shared between equal values)."""
        arr = np.asarray(value, dtype=dtype)
        key = (arr.dtype.name, arr.shape, arr.tobytes())
        if key not in self._consts:
            self._consts[key] = self.initializer(arr, self.fresh("const"))
        return self._consts[key]

    def ints(self, values: Sequence[int]) -> str:
        return self.const(np.asarray(list(values), dtype=np.int64).reshape(-1))

    def cast(self, x: str, have: str, want: str) -> str:
        return x if have == want else self.op("Cast", [x], to=onnx_dtype(want))

    def dim(self, x: str, node: Node, axis: int) -> str:
        """Axis ``axis`` of value ``x`` (of graph node ``node``) as a 1-element int64 tensor."""
        d = node.shape[axis]
        if isinstance(d, int):
            return self.ints([d])
        return self.op("Shape", [x], start=axis, end=axis + 1)

    def shape(self, x: str, node: Node) -> str:
        """The call-time shape of ``x`` as a 1-D int64 tensor (a constant when it is static)."""
        if node.type.is_static:
            return self.ints(node.shape)  # type: ignore[arg-type]
        return self.op("Shape", [x])

    def concat_dims(self, parts: Sequence[str]) -> str:
        return parts[0] if len(parts) == 1 else self.op("Concat", list(parts), axis=0)

    def reduce(self, op_type: str, x: str, axes: Sequence[int], keepdims: bool) -> str:
        return self.op(op_type, [x, self.ints(axes)], keepdims=int(keepdims))


Exporter = Callable[[Writer, Node, list[str]], str]
EXPORTERS: dict[str, Exporter] = {}


def exports(*names: str) -> Callable[[Exporter], Exporter]:
    def register(fn: Exporter) -> Exporter:
        for name in names:
            if name not in OPS:
                raise AssertionError(f"exporter for unknown op {name!r}")
            EXPORTERS[name] = fn
        return fn

    return register


def unmapped_ops() -> list[str]:
    """The registered ops (leaves aside) that have no ONNX mapping."""
    return sorted(set(OPS) - set(EXPORTERS) - set(LEAVES))


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


def _scalar(w: Writer, value: float, dtype: str) -> str:
    return w.const(np.asarray(value, dtype=dtype))


@exports("exp2")
def _exp2(w: Writer, node: Node, ins: list[str]) -> str:
    return w.op("Pow", [_scalar(w, 2.0, node.dtype), ins[0]])


@exports("log2")
def _log2(w: Writer, node: Node, ins: list[str]) -> str:
    return w.op("Div", [w.op("Log", ins), _scalar(w, math.log(2.0), node.dtype)])


@exports("log1p")
def _log1p(w: Writer, node: Node, ins: list[str]) -> str:
    return w.op("Log", [w.op("Add", [ins[0], _scalar(w, 1.0, node.dtype)])])


@exports("expm1")
def _expm1(w: Writer, node: Node, ins: list[str]) -> str:
    return w.op("Sub", [w.op("Exp", ins), _scalar(w, 1.0, node.dtype)])


@exports("square")
def _square(w: Writer, node: Node, ins: list[str]) -> str:
    return w.op("And" if node.dtype == "bool" else "Mul", [ins[0], ins[0]])


@exports("relu")
def _relu(w: Writer, node: Node, ins: list[str]) -> str:
    if node.dtype == "bool":
        return w.op("Identity", ins)
    if node.dtype.startswith("int"):
        return w.op("Max", [ins[0], _scalar(w, 0, node.dtype)])
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


def _signbit(w: Writer, x: str, dtype: str) -> str:
    """x's sign bit for finite, infinite and zero x: x < 0, or x == 0 and 1 / x < 0 (-0.0); ONNX
    has no way to read the sign bit of a NaN, which counts as positive here."""
    zero = _scalar(w, 0, dtype)
    negative = w.op("Less", [x, zero])
    if not dtype.startswith("float"):
        return negative
    inverse = w.op("Div", [_scalar(w, 1.0, dtype), x])
    negative_zero = w.op("And", [w.op("Equal", [x, zero]), w.op("Less", [inverse, zero])])
    return w.op("Or", [negative, negative_zero])


def _with_sign(w: Writer, x: str, negative: str, dtype: str) -> str:
    """|x|, negated where ``negative`` holds: by a product, which keeps a signed zero (a Where
    choosing a -0.0 may give +0.0 in some runtimes)."""
    sign = w.op("Where", [negative, _scalar(w, -1.0, dtype), _scalar(w, 1.0, dtype)])
    return w.op("Mul", [w.op("Abs", [x]), sign])


def _copysign_of(w: Writer, magnitude: str, sign_of: str, dtype: str) -> str:
    """|magnitude| with the sign (bit) of ``sign_of``."""
    return _with_sign(w, magnitude, _signbit(w, sign_of, dtype), dtype)


def _where(w: Writer, cond: str, a: str, b: str, dtype: str) -> str:
    """Where(cond, a, b) keeping the sign of a chosen zero (see _with_sign)."""
    picked = w.op("Where", [cond, a, b])
    if not dtype.startswith("float"):
        return picked
    negative = w.op(
        "Or",
        [
            w.op("And", [cond, _signbit(w, a, dtype)]),
            w.op("And", [w.op("Not", [cond]), _signbit(w, b, dtype)]),
        ],
    )
    return _with_sign(w, picked, negative, dtype)


def _isnan(w: Writer, x: str, dtype: str) -> str:
    return w.op("IsNaN", [x]) if dtype.startswith("float") else w.op("Not", [w.op("Equal", [x, x])])


@exports("log10")
def _log10(w: Writer, node: Node, ins: list[str]) -> str:
    (x,) = _as_out(w, node, ins)
    return w.op("Div", [w.op("Log", [x]), _scalar(w, math.log(10.0), node.dtype)])


@exports("erfc")
def _erfc(w: Writer, node: Node, ins: list[str]) -> str:
    (x,) = _as_out(w, node, ins)
    return w.op("Sub", [_scalar(w, 1.0, node.dtype), w.op("Erf", [x])])


@exports("hypot")
def _hypot(w: Writer, node: Node, ins: list[str]) -> str:
    """max(|x|, |y|) * sqrt(1 + (min / max)^2): no overflow or underflow on the way; 0 where both
    are 0, inf where either is infinite (even with a NaN), as numpy."""
    x, y = (w.op("Abs", [v]) for v in _as_out(w, node, ins))
    big, small = w.op("Max", [x, y]), w.op("Min", [x, y])
    zero, one = _scalar(w, 0.0, node.dtype), _scalar(w, 1.0, node.dtype)
    ratio = w.op("Div", [small, big])
    scaled = w.op("Mul", [big, w.op("Sqrt", [w.op("Add", [one, w.op("Mul", [ratio, ratio])])])])
    out = w.op("Where", [w.op("Equal", [big, zero]), zero, scaled])
    infinite = w.op("Or", [w.op("IsInf", [x]), w.op("IsInf", [y])])
    return w.op("Where", [infinite, _scalar(w, np.inf, node.dtype), out])


@exports("logaddexp", "logaddexp2")
def _logaddexp(w: Writer, node: Node, ins: list[str]) -> str:
    """max(x, y) + log(1 + b^-|x - y|) (base e or 2); x + log(2) where x == y (infinities)."""
    x, y = _as_out(w, node, ins)
    dtype = node.dtype
    two = node.op.name == "logaddexp2"
    one = _scalar(w, 1.0, dtype)
    gap = w.op("Neg", [w.op("Abs", [w.op("Sub", [x, y])])])
    power = w.op("Pow", [_scalar(w, 2.0, dtype), gap]) if two else w.op("Exp", [gap])
    correction = w.op("Log", [w.op("Add", [one, power])])
    if two:
        correction = w.op("Div", [correction, _scalar(w, math.log(2.0), dtype)])
    out = w.op("Add", [w.op("Max", [x, y]), correction])
    tie = w.op("Add", [x, one if two else _scalar(w, math.log(2.0), dtype)])
    return w.op("Where", [w.op("Equal", [x, y]), tie, out])


@exports("arctan2")
def _arctan2(w: Writer, node: Node, ins: list[str]) -> str:
    """atan(y / x) moved to the right quadrant, with numpy's signed zeros and infinities."""
    y, x = _as_out(w, node, ins)
    dtype = node.dtype
    zero = _scalar(w, 0.0, dtype)
    pi, half_pi = _scalar(w, math.pi, dtype), _scalar(w, math.pi / 2, dtype)
    base = w.op("Atan", [w.op("Div", [y, x])])
    y_negative = _signbit(w, y, dtype)
    x_negative = _signbit(w, x, dtype)
    left = w.op("Where", [y_negative, w.op("Sub", [base, pi]), w.op("Add", [base, pi])])
    on_axis = w.op(
        "Where",
        [
            w.op("Equal", [y, zero]),
            w.op("Where", [x_negative, _copysign_of(w, pi, y, dtype), y]),
            _copysign_of(w, half_pi, y, dtype),
        ],
    )
    out = w.op("Where", [w.op("Greater", [x, zero]), base, left])
    out = w.op("Where", [w.op("Equal", [x, zero]), on_axis, out])
    corner = w.op(
        "Where",
        [x_negative, _scalar(w, 3 * math.pi / 4, dtype), _scalar(w, math.pi / 4, dtype)],
    )
    both_infinite = w.op("And", [w.op("IsInf", [x]), w.op("IsInf", [y])])
    out = w.op("Where", [both_infinite, _copysign_of(w, corner, y, dtype), out])
    nan = w.op("Or", [w.op("IsNaN", [x]), w.op("IsNaN", [y])])
    out = w.op("Where", [nan, w.op("Add", [x, y]), out])
    return _with_sign(w, out, y_negative, dtype)  # atan2 has y's sign, zeros included


@exports("fmax", "fmin")
def _fmax(w: Writer, node: Node, ins: list[str]) -> str:
    """max/min that ignores a NaN: the other input where one is NaN."""
    x, y = ins
    if node.dtype == "bool":
        return w.op("Or" if node.op.name == "fmax" else "And", ins)
    out = w.op("Max" if node.op.name == "fmax" else "Min", [x, y])
    if not node.dtype.startswith("float"):
        return out
    out = _where(w, w.op("IsNaN", [x]), y, out, node.dtype)
    return _where(w, w.op("IsNaN", [y]), x, out, node.dtype)


@exports("clamp")
def _clamp(w: Writer, node: Node, ins: list[str]) -> str:
    x, lo, hi = ins
    low = w.op("Max", [x, lo])
    out = w.op("Min", [low, hi])
    if not node.dtype.startswith("float"):
        return out
    # NaN-propagating, as numpy's maximum and minimum
    nan = w.op("Or", [w.op("IsNaN", [x]), w.op("Or", [w.op("IsNaN", [lo]), w.op("IsNaN", [hi])])])
    return _where(w, nan, w.op("Add", [x, w.op("Add", [lo, hi])]), out, node.dtype)


@exports("copysign")
def _copysign(w: Writer, node: Node, ins: list[str]) -> str:
    x, y = _as_out(w, node, ins)
    return _copysign_of(w, x, y, node.dtype)


@exports("heaviside")
def _heaviside(w: Writer, node: Node, ins: list[str]) -> str:
    x, h0 = _as_out(w, node, ins)
    dtype = node.dtype
    zero = _scalar(w, 0.0, dtype)
    out = w.op("Where", [w.op("Greater", [x, zero]), _scalar(w, 1.0, dtype), h0])
    out = w.op("Where", [w.op("Less", [x, zero]), zero, out])
    out = w.op("Where", [w.op("IsNaN", [x]), x, out])  # Where broadcasts x and h0
    # the sign of a zero h0 where x is 0
    chosen = w.op("And", [w.op("Equal", [x, zero]), _signbit(w, h0, dtype)])
    return _with_sign(w, out, chosen, dtype)


@exports("trunc")
def _trunc(w: Writer, node: Node, ins: list[str]) -> str:
    if not node.dtype.startswith("float"):
        return w.op("Identity", ins)
    x = ins[0]
    negative = w.op("Less", [x, _scalar(w, 0.0, node.dtype)])
    out = w.op("Where", [negative, w.op("Ceil", [x]), w.op("Floor", [x])])
    return _with_sign(w, out, _signbit(w, x, node.dtype), node.dtype)  # trunc(-0.5) is -0.0


def _int_floor_divide(w: Writer, a: str, b: str, dtype: str) -> str:
    """ONNX's Div truncates ints: step down where the remainder's sign differs from b's."""
    q = w.op("Div", [a, b])
    r = w.op("Sub", [a, w.op("Mul", [q, b])])
    zero = _scalar(w, 0, dtype)
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
    zero, one, half = (_scalar(w, v, dtype) for v in (0.0, 1.0, 0.5))
    mod = w.op("Mod", [a, b], fmod=1)
    div = w.op("Div", [w.op("Sub", [a, mod]), b])
    nonzero = w.op("Not", [w.op("Equal", [mod, zero])])
    b_negative = w.op("Less", [b, zero])
    flip = w.op("And", [nonzero, w.op("Xor", [b_negative, w.op("Less", [mod, zero])])])
    mod = w.op("Where", [flip, w.op("Add", [mod, b]), mod])
    div = w.op("Where", [flip, w.op("Sub", [div, one]), div])
    mod = _copysign_of(w, mod, b, dtype)  # the divisor's sign, a zero remainder's too
    floor = w.op("Floor", [div])
    floor = w.op(
        "Where",
        [w.op("Greater", [w.op("Sub", [div, floor]), half]), w.op("Add", [floor, one]), floor],
    )
    quotient = w.op("Div", [a, b])
    floor = w.op("Where", [w.op("Equal", [b, zero]), quotient, floor])
    # the quotient has the sign of a / b (a zero one too: floor_divide(-0.0, 1) is -0.0)
    return _copysign_of(w, floor, quotient, dtype), mod


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
    return _isnan(w, ins[0], node.inputs[0].dtype)


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
    return _signbit(w, ins[0], dtype)


# --------------------------------------------------------------------------------------------------
# scans and diagonals


@exports("cumsum")
def _cumsum(w: Writer, node: Node, ins: list[str]) -> str:
    x = w.cast(ins[0], node.inputs[0].dtype, node.dtype)
    axis = w.const(np.int64(node.attrs["axis"]))
    return w.op("CumSum", [x, axis], reverse=int(node.attrs["reverse"]))


def _triangle(w: Writer, x: str, node: Node, axis: int, reverse: bool) -> str:
    """The bool (n, n) mask of the pairs (i, j) along ``axis`` where x_i enters scan entry j:
    i <= j (i >= j in reverse); n read at call time."""
    size = node.shape[axis]
    if isinstance(size, int):
        r = w.ints(range(size))
    else:  # 0 .. n-1 as an exclusive CumSum of ones (which the importer reads back)
        ones = w.onnx.numpy_helper.from_array(np.ones(1, dtype=np.int64), "value")
        ones = w.op("ConstantOfShape", [w.dim(x, node, axis)], value=ones)
        r = w.op("CumSum", [ones, w.const(np.int64(0))], exclusive=1)
    rows, cols = w.op("Unsqueeze", [r, w.ints([1])]), w.op("Unsqueeze", [r, w.ints([0])])
    return w.op("GreaterOrEqual" if reverse else "LessOrEqual", [rows, cols])


def _masked_scan(
    w: Writer, x: str, node: Node, axis: int, reverse: bool, fill: str, reduce: Any
) -> str:
    """A scan along ``axis`` as a reduction over a masked (..., n, n) copy of x (x_i where i
    enters entry j, else ``fill``): ``reduce(masked, column, outside, moved)`` reduces axis -2
    (keeping no dims), given x's (..., n, 1) column, the (n, n) mask of what is left out, and x
    with the axis moved last. It holds n times x's size."""
    ndim = node.ndim
    perm = [a for a in range(ndim) if a != axis] + [axis]
    moved = w.op("Transpose", [x], perm=perm) if perm != list(range(ndim)) else x
    column = w.op("Unsqueeze", [moved, w.ints([-1])])  # (..., n_i, 1)
    outside = w.op("Not", [_triangle(w, x, node.inputs[0], axis, reverse)])
    # fill in Where's true branch: a runtime may turn a -0.0 chosen there into +0.0
    masked = w.op("Where", [outside, fill, column])
    out = reduce(masked, column, outside, moved)
    if perm == list(range(ndim)):
        return out
    return w.op("Transpose", [out], perm=[int(a) for a in np.argsort(perm)])


@exports("cumprod")
def _cumprod(w: Writer, node: Node, ins: list[str]) -> str:
    """The products of the masked copy (fill 1): exact in zeros, signs, infinities and NaN."""
    dtype = node.dtype
    x = w.cast(ins[0], node.inputs[0].dtype, dtype)

    def reduce(m: str, column: str, outside: str, moved: str) -> str:
        product = w.op("ReduceProd", [m, w.ints([-2])], keepdims=0)
        if not dtype.startswith("float"):
            return product
        # the sign from the parity of the sign bits taken (a runtime may drop a zero's sign)
        signs = w.cast(_signbit(w, column, dtype), "bool", "int64")
        signs = w.op("Where", [outside, w.const(np.int64(0)), signs])
        count = w.op("ReduceSum", [signs, w.ints([-2])], keepdims=0)
        odd = w.op("Equal", [w.op("Mod", [count, w.const(np.int64(2))]), w.const(np.int64(1))])
        return _with_sign(w, product, odd, dtype)

    return _masked_scan(w, x, node, node.attrs["axis"], False, _scalar(w, 1, dtype), reduce)


@exports("cumargmax", "cumargmin")
def _cumarg(w: Writer, node: Node, ins: list[str]) -> str:
    """Where the running max (min) was last set: the running extremum from a masked reduction
    (NaN from the first NaN on, as numpy's accumulate), then the running max of the positions
    where x equals it (or is NaN, which holds it)."""
    x, axis = node.inputs[0], node.attrs["axis"]
    have = x.dtype
    work = "int32" if have == "bool" else "int64" if have in ("int8", "int16", "uint8") else have
    xv = w.cast(ins[0], have, work)
    maximum = node.op.name == "cumargmax"
    floating = work.startswith("float")
    if floating:
        far = -np.inf if maximum else np.inf
    else:
        info = np.iinfo(work)
        far = info.min if maximum else info.max

    def running(m: str, column: str, outside: str, moved: str) -> str:
        out = w.op("ReduceMax" if maximum else "ReduceMin", [m, w.ints([-2])], keepdims=0)
        if floating:
            nans = w.cast(w.op("IsNaN", [m]), "bool", "int64")
            count = w.op("ReduceSum", [nans, w.ints([-2])], keepdims=0)
            seen = w.op("Greater", [count, w.const(np.int64(0))])
            out = w.op("Where", [seen, _scalar(w, np.nan, work), out])
        hit = w.op("Equal", [moved, out])
        if floating:
            hit = w.op("Or", [hit, w.op("IsNaN", [moved])])
        # the positions 0 .. n-1 along the (last) axis: how many entries each entry takes, less 1
        taken = w.cast(w.op("Not", [outside]), "bool", "int64")
        count = w.op("ReduceSum", [taken, w.ints([0])], keepdims=0)
        here = w.op("Sub", [count, w.const(np.int64(1))])
        marked = w.op("Where", [hit, here, w.const(np.int64(0))])
        column = w.op("Unsqueeze", [marked, w.ints([-1])])
        masked = w.op("Where", [outside, w.const(np.int64(0)), column])
        return w.op("ReduceMax", [masked, w.ints([-2])], keepdims=0)

    return _masked_scan(w, xv, node, axis, False, _scalar(w, far, work), running)


@exports("logcumsumexp")
def _logcumsumexp(w: Writer, node: Node, ins: list[str]) -> str:
    """max + log(sum(exp(x - max))) of the masked copy (fill -inf); the max itself where it is
    infinite (an entry of only -inf, or a +inf), as numpy's logaddexp.accumulate."""
    dtype = node.dtype

    def reduce(m: str, column: str, outside: str, moved: str) -> str:
        top = w.op("ReduceMax", [m, w.ints([-2])], keepdims=1)
        total = w.op("ReduceSum", [w.op("Exp", [w.op("Sub", [m, top])]), w.ints([-2])], keepdims=0)
        top = w.op("Squeeze", [top, w.ints([-2])])
        out = w.op("Add", [top, w.op("Log", [total])])
        out = w.op("Where", [w.op("IsInf", [top]), top, out])
        # NaN from the first NaN on (a runtime's ReduceMax may skip it)
        nans = w.cast(w.op("IsNaN", [m]), "bool", "int64")
        count = w.op("ReduceSum", [nans, w.ints([-2])], keepdims=0)
        seen = w.op("Greater", [count, w.const(np.int64(0))])
        out = w.op("Where", [seen, _scalar(w, np.nan, dtype), out])
        # the scan's first entry is x itself (a -0.0 too), as numpy's accumulate
        taken = w.cast(w.op("Not", [outside]), "bool", "int64")
        first = w.op("Equal", [w.op("ReduceSum", [taken, w.ints([0])], keepdims=0), w.ints([1])])
        return _where(w, first, moved, out, dtype)

    fill = _scalar(w, -np.inf, dtype)
    return _masked_scan(w, ins[0], node, node.attrs["axis"], node.attrs["reverse"], fill, reduce)


def _diagonal_parts(node: Node, x: Node) -> tuple[list[int], int, int, list[int]]:
    """The transpose moving axis1 and axis2 last, their static sizes and the flat positions of
    the diagonal's entries in them."""
    axis1, axis2, offset = node.attrs["axis1"], node.attrs["axis2"], node.attrs["offset"]
    n1, n2 = x.shape[axis1], x.shape[axis2]
    if not isinstance(n1, int) or not isinstance(n2, int):
        raise ValueError("the diagonal's two axes need static sizes")
    rest = [a for a in range(x.ndim) if a not in (axis1, axis2)]
    i = np.arange(max(0, min(n1 + min(offset, 0), n2 - max(offset, 0))))
    flat = (i + max(-offset, 0)) * n2 + i + max(offset, 0)
    return [*rest, axis1, axis2], n1, n2, [int(v) for v in flat]


def _keep_leading(ndim: int, *last: int) -> list[int]:
    """A Reshape target copying the leading ``ndim`` dims (0s) and setting the last ones."""
    return [0] * ndim + list(last)


@exports("diagonal")
def _diagonal(w: Writer, node: Node, ins: list[str]) -> str:
    x = node.inputs[0]
    perm, n1, n2, flat = _diagonal_parts(node, x)
    moved = w.op("Transpose", [ins[0]], perm=perm) if perm != list(range(x.ndim)) else ins[0]
    rows = w.op("Reshape", [moved, w.ints(_keep_leading(x.ndim - 2, n1 * n2))])
    return w.op("Gather", [rows, w.ints(flat)], axis=-1)


@exports("diagonal_grad")
def _diagonal_grad(w: Writer, node: Node, ins: list[str]) -> str:
    """Zeros of x's shape with g written on the diagonal: ScatterElements on x's two axes
    flattened into one, moved last."""
    g, x = node.inputs
    perm, n1, n2, flat = _diagonal_parts(node, x)
    moved_shape = w.shape(ins[1], x)
    moved_shape = w.op("Gather", [moved_shape, w.ints(perm)], axis=0)
    lead = w.op("Slice", [moved_shape, w.ints([0]), w.ints([x.ndim - 2]), w.ints([0])])
    zeros_shape = w.op("Concat", [lead, w.ints([n1 * n2])], axis=0)
    zeros = w.op("ConstantOfShape", [zeros_shape], value=_zero_tensor(w, node.dtype))
    index = w.op("Expand", [w.ints(flat), w.shape(ins[0], g)])
    scattered = w.op("ScatterElements", [zeros, index, ins[0]], axis=-1)
    full = w.op("Reshape", [scattered, w.ints(_keep_leading(x.ndim - 2, n1, n2))])
    if perm == list(range(x.ndim)):
        return full
    inverse = [int(a) for a in np.argsort(perm)]
    return w.op("Transpose", [full], perm=inverse)


# --------------------------------------------------------------------------------------------------
# reductions and the softmax family


_REDUCE = {"sum": "ReduceSum", "prod": "ReduceProd", "max": "ReduceMax", "min": "ReduceMin"}


@exports(*_REDUCE)
def _reduction(w: Writer, node: Node, ins: list[str]) -> str:
    axes, keepdims = node.attrs["axes"], node.attrs["keepdims"]
    have = node.inputs[0].dtype
    # the accumulator dtype (sum of bools is int64); max/min of bools go through int32
    work = "int32" if node.dtype == "bool" else node.dtype
    x = w.cast(ins[0], have, work)
    if not axes:  # ONNX reads empty axes as "all of them"
        return w.cast(w.op("Identity", [x]), work, node.dtype)
    return w.cast(w.reduce(_REDUCE[node.op.name], x, axes, keepdims), work, node.dtype)


@exports("argmax", "argmin")
def _arg_reduction(w: Writer, node: Node, ins: list[str]) -> str:
    op_type = "ArgMax" if node.op.name == "argmax" else "ArgMin"
    axis, keepdims = node.attrs["axis"], node.attrs["keepdims"]
    x = ins[0]
    if node.inputs[0].dtype == "bool":
        x = w.cast(x, "bool", "int32")
    if axis is not None:
        return w.op(op_type, [x], axis=axis, keepdims=int(keepdims))
    flat = w.op("Reshape", [x, w.ints([-1])])
    found = w.op(op_type, [flat], axis=0, keepdims=0)
    if keepdims:
        return w.op("Reshape", [found, w.ints([1] * node.inputs[0].ndim)])
    return found


@exports("size_of")
def _size_of(w: Writer, node: Node, ins: list[str]) -> str:
    x, axes, dtype = node.inputs[0], node.attrs["axes"], node.dtype
    dims = [x.shape[a] for a in axes]
    if all(isinstance(d, int) for d in dims):
        return w.op("Identity", [_scalar(w, math.prod(dims), dtype)])
    shape = w.op("Shape", [ins[0]])
    picked = w.op("Gather", [shape, w.ints(axes)], axis=0)
    count = w.op("ReduceProd", [picked], keepdims=0)
    return w.cast(count, "int64", dtype)


@exports("logsumexp")
def _logsumexp(w: Writer, node: Node, ins: list[str]) -> str:
    axes, keepdims = node.attrs["axes"], node.attrs["keepdims"]
    if not axes:
        return w.op("Identity", ins)
    return w.reduce("ReduceLogSumExp", ins[0], axes, keepdims)


@exports("softmax", "log_softmax")
def _softmax(w: Writer, node: Node, ins: list[str]) -> str:
    axes = node.attrs["axes"]
    log = node.op.name == "log_softmax"
    if len(axes) == 1:
        return w.op("LogSoftmax" if log else "Softmax", ins, axis=axes[0])
    if not axes:
        zero = w.op("Sub", [ins[0], ins[0]])
        return zero if log else w.op("Exp", [zero])
    # over several axes: x - logsumexp(x) (ONNX's Softmax takes one axis)
    shifted = w.op("Sub", [ins[0], w.reduce("ReduceLogSumExp", ins[0], axes, True)])
    return shifted if log else w.op("Exp", [shifted])


# --------------------------------------------------------------------------------------------------
# shapes


@exports("reshape")
def _reshape(w: Writer, node: Node, ins: list[str]) -> str:
    if node.type.is_static:
        return w.op("Reshape", [ins[0], w.ints(node.shape)], allowzero=1)  # type: ignore[arg-type]
    shape = node.attrs["shape"]
    # a 0 in ONNX's Reshape copies the input's dim unless allowzero, which forbids a -1 next to it
    return w.op("Reshape", [ins[0], w.ints(shape)], allowzero=int(0 in shape and -1 not in shape))


@exports("reshape_like")
def _reshape_like(w: Writer, node: Node, ins: list[str]) -> str:
    return w.op("Reshape", [ins[0], w.shape(ins[1], node.inputs[1])], allowzero=1)


@exports("transpose")
def _transpose(w: Writer, node: Node, ins: list[str]) -> str:
    return w.op("Transpose", ins, perm=list(node.attrs["axes"]))


@exports("expand_dims")
def _expand_dims(w: Writer, node: Node, ins: list[str]) -> str:
    return w.op("Unsqueeze", [ins[0], w.ints(node.attrs["axes"])])


@exports("squeeze")
def _squeeze(w: Writer, node: Node, ins: list[str]) -> str:
    axes = node.attrs["axes"]
    if not axes:  # ONNX squeezes every 1 when no axes are given
        return w.op("Identity", ins)
    return w.op("Squeeze", [ins[0], w.ints(axes)])


@exports("broadcast_to")
def _broadcast_to(w: Writer, node: Node, ins: list[str]) -> str:
    # Expand broadcasts both ways: a 1 where graphjit says None (keep x's dim) keeps x's dim
    target = [d if isinstance(d, int) else 1 for d in node.attrs["shape"]]
    return w.op("Expand", [ins[0], w.ints(target)])


@exports("broadcast_like")
def _broadcast_like(w: Writer, node: Node, ins: list[str]) -> str:
    return w.op("Expand", [ins[0], w.shape(ins[1], node.inputs[1])])


@exports("full_like")
def _full_like(w: Writer, node: Node, ins: list[str]) -> str:
    value = np.asarray([node.attrs["fill_value"]], dtype=node.dtype)
    tensor = w.onnx.numpy_helper.from_array(value, "value")
    return w.op("ConstantOfShape", [w.shape(ins[0], node.inputs[0])], value=tensor)


# --------------------------------------------------------------------------------------------------
# slices, joins, pads


def _slice_bounds(triple: tuple[Any, Any, Any]) -> tuple[int, int, int]:
    start, stop, step = triple
    if start is None:
        start = 0 if step > 0 else INT64_MAX
    if stop is None:
        stop = INT64_MAX if step > 0 else INT64_MIN
    return int(start), int(stop), int(step)


@exports("slice_axes")
def _slice_axes(w: Writer, node: Node, ins: list[str]) -> str:
    parts = [
        (axis, _slice_bounds(t))
        for axis, t in enumerate(node.attrs["slices"])
        if tuple(t) != (None, None, 1)
    ]
    if not parts:
        return w.op("Identity", ins)
    starts, stops, steps = ([p[1][k] for p in parts] for k in range(3))
    axes = [p[0] for p in parts]
    return w.op("Slice", [ins[0], w.ints(starts), w.ints(stops), w.ints(axes), w.ints(steps)])


@exports("slice_axes_grad")
def _slice_axes_grad(w: Writer, node: Node, ins: list[str]) -> str:
    """Zeros of x's shape with g written at the slice: ScatterND at the slice's index grid."""
    g, x = node.inputs
    ndim = x.ndim
    if ndim == 0:
        return w.op("Identity", [ins[0]])
    zero = w.op("ConstantOfShape", [w.shape(ins[1], x)], value=_zero_tensor(w, node.dtype))
    g_shape = w.shape(ins[0], g)
    coords = []
    for axis, triple in enumerate(node.attrs["slices"]):
        size = w.op("Squeeze", [w.dim(ins[1], x, axis), w.ints([0])])
        positions = w.op("Range", [w.const(np.int64(0)), size, w.const(np.int64(1))])
        start, stop, step = _slice_bounds(triple)
        picked = w.op(
            "Slice", [positions, w.ints([start]), w.ints([stop]), w.ints([0]), w.ints([step])]
        )
        along = [1] * ndim
        along[axis] = -1
        grid = w.op("Expand", [w.op("Reshape", [picked, w.ints(along)]), g_shape])
        coords.append(w.op("Unsqueeze", [grid, w.ints([-1])]))
    indices = w.concat_dims(coords) if len(coords) == 1 else w.op("Concat", coords, axis=-1)
    return w.op("ScatterND", [zero, indices, ins[0]])


def _zero_tensor(w: Writer, dtype: str) -> Any:
    return w.onnx.numpy_helper.from_array(np.zeros(1, dtype=dtype), "value")


@exports("concatenate")
def _concatenate(w: Writer, node: Node, ins: list[str]) -> str:
    return w.op("Concat", ins, axis=node.attrs["axis"])


@exports("concatenate_part")
def _concatenate_part(w: Writer, node: Node, ins: list[str]) -> str:
    axis, index = node.attrs["axis"], node.attrs["index"]
    parts = node.inputs[1:]
    sizes = [w.dim(ins[1 + k], parts[k], axis) for k in range(index + 1)]
    start = sizes[0] if index > 0 else w.ints([0])
    for s in sizes[1:-1]:
        start = w.op("Add", [start, s])
    stop = w.op("Add", [start, sizes[-1]]) if index > 0 else sizes[-1]
    return w.op("Slice", [ins[0], start, stop, w.ints([axis])])


@exports("pad")
def _pad(w: Writer, node: Node, ins: list[str]) -> str:
    widths = node.attrs["pad_width"]
    pads = [b for b, _ in widths] + [a for _, a in widths]
    value = _scalar(w, node.attrs["constant_value"], node.dtype)
    return w.op("Pad", [ins[0], w.ints(pads), value], mode="constant")


# --------------------------------------------------------------------------------------------------
# gathers and their gradients


@exports("take")
def _take(w: Writer, node: Node, ins: list[str]) -> str:
    return w.op("Gather", ins, axis=node.attrs["axis"])


def _index_shape(w: Writer, node: Node, ins: list[str]) -> str:
    """The shape the indices of take_along_axis/add_along_axis broadcast to (x's, with the
    indices' size on the axis)."""
    x, idx = node.inputs[0], node.inputs[1]
    axis = node.attrs["axis"]
    dims = [w.dim(ins[1], idx, a) if a == axis else w.dim(ins[0], x, a) for a in range(x.ndim)]
    return w.concat_dims(dims)


@exports("take_along_axis")
def _take_along_axis(w: Writer, node: Node, ins: list[str]) -> str:
    idx = w.op("Expand", [ins[1], _index_shape(w, node, ins)])
    return w.op("GatherElements", [ins[0], idx], axis=node.attrs["axis"])


@exports("add_along_axis")
def _add_along_axis(w: Writer, node: Node, ins: list[str]) -> str:
    shape = _index_shape(w, node, ins)
    idx = w.op("Expand", [w.cast(ins[1], node.inputs[1].dtype, "int64"), shape])
    values = w.op("Expand", [ins[2], shape])
    axis = node.attrs["axis"]
    return w.op("ScatterElements", [ins[0], idx, values], axis=axis, reduction="add")


@exports("add_at")
def _add_at(w: Writer, node: Node, ins: list[str]) -> str:
    """np.add.at along an axis: ScatterND with reduction add on x with that axis moved first."""
    x, idx, _ = node.inputs
    axis, k = node.attrs["axis"], idx.ndim
    rest = [a for a in range(x.ndim) if a != axis]
    xt = w.op("Transpose", [ins[0]], perm=[axis, *rest])
    # the values' shape: x's dims before the axis, the indices' dims, x's dims after it
    want = (
        w.concat_dims(
            [w.dim(ins[0], x, a) for a in range(axis)]
            + [w.shape(ins[1], idx)] * (k > 0)
            + [w.dim(ins[0], x, a) for a in range(axis + 1, x.ndim)]
        )
        if x.ndim - 1 + k > 0
        else w.ints([])
    )
    values = w.op("Expand", [ins[2], want])
    vperm = [*range(axis, axis + k), *range(axis), *range(axis + k, x.ndim - 1 + k)]
    vt = w.op("Transpose", [values], perm=vperm) if vperm != sorted(vperm) else values
    index = w.cast(ins[1], idx.dtype, "int64")
    size = w.op("Squeeze", [w.dim(ins[0], x, axis), w.ints([0])])  # a scalar: idx keeps its shape
    negative = w.op("Less", [index, w.const(np.int64(0))])
    index = w.op("Where", [negative, w.op("Add", [index, size]), index])
    index = w.op("Unsqueeze", [index, w.ints([-1])])
    scattered = w.op("ScatterND", [xt, index, vt], reduction="add")
    inverse = [int(a) for a in np.argsort([axis, *rest])]
    return w.op("Transpose", [scattered], perm=inverse)


@exports("argsort")
def _argsort(w: Writer, node: Node, ins: list[str]) -> str:
    """Two TopK passes (ONNX's TopK breaks ties by the lower index, so each pass is stable): by
    the values with NaN read as inf, then by NaN-ness (NaN last, first when descending)."""
    x, axis, descending = node.inputs[0], node.attrs["axis"], node.attrs["descending"]
    dtype = x.dtype
    work = "int32" if dtype == "bool" else dtype
    if dtype in ("int8", "int16", "uint8"):
        work = "int64"
    key = w.cast(ins[0], dtype, work)

    def topk(values: str) -> str:
        k = w.dim(values, x, axis)  # the whole axis, read off the values sorted (x's shape)
        out = w.fresh("topk")
        order = w.fresh("order")
        w.nodes.append(
            w.onnx.helper.make_node(
                "TopK", [values, k], [out, order], axis=axis, largest=int(descending), sorted=1
            )
        )
        return order

    if not work.startswith("float"):
        return topk(key)
    nan = w.op("IsNaN", [key])
    first = topk(w.op("Where", [nan, _scalar(w, np.inf, work), key]))
    nan_first = w.cast(w.op("GatherElements", [nan, first], axis=axis), "bool", "int32")
    return w.op("GatherElements", [first, topk(nan_first)], axis=axis)


@exports("searchsorted")
def _searchsorted(w: Writer, node: Node, ins: list[str]) -> str:
    """How many entries of the sorted 1-D ``a`` come before each v (< v, or <= v for side right),
    with NaN above every number as numpy sorts it: what a binary search finds when ``a`` is sorted
    (searchsorted's contract), by a broadcast comparison (len(a) * v.size booleans)."""
    a, v = node.inputs
    work = np.result_type(a.dtype, v.dtype).name
    work = "int32" if work == "bool" else work
    av, vv = w.cast(ins[0], a.dtype, work), w.cast(ins[1], v.dtype, work)
    column = w.op("Unsqueeze", [vv, w.ints([-1])])  # v's shape + (1,): against every a
    right = node.attrs["right"]
    before = w.op("LessOrEqual" if right else "Less", [av, column])
    if work.startswith("float"):
        v_nan = w.op("IsNaN", [column])
        if right:  # a NaN v goes after everything, NaN entries of a too
            before = w.op("Or", [before, v_nan])
        else:  # ... and before a's NaN entries
            a_number = w.op("Not", [w.op("IsNaN", [av])])
            before = w.op("Or", [before, w.op("And", [v_nan, a_number])])
    count = w.cast(before, "bool", "int64")
    return w.op("ReduceSum", [count, w.ints([-1])], keepdims=0)


@exports("einsum")
def _einsum(w: Writer, node: Node, ins: list[str]) -> str:
    return w.op("Einsum", ins, equation=node.attrs["subscripts"])


# --------------------------------------------------------------------------------------------------
# convolutions: Conv and ConvTranspose (conv_weight_grad, only ever a gradient, has no ONNX op)


def _conv_attrs(node: Node) -> dict[str, Any]:
    a = node.attrs
    w = node.inputs[1]
    return {
        "kernel_shape": [k for k in w.shape[2:] if isinstance(k, int)],
        "strides": list(a["stride"]),
        "dilations": list(a["dilation"]),
        "pads": [p[0] for p in a["padding"]] + [p[1] for p in a["padding"]],
        "group": a["groups"],
    }


@exports("conv")
def _conv(w: Writer, node: Node, ins: list[str]) -> str:
    return w.op("Conv", ins, **_conv_attrs(node))


@exports("conv_input_grad")
def _conv_transpose(w: Writer, node: Node, ins: list[str]) -> str:
    extra = list(node.attrs["output_padding"])
    return w.op("ConvTranspose", ins, output_padding=extra, **_conv_attrs(node))


# --------------------------------------------------------------------------------------------------
# the model


def _value_info(w: Writer, name: str, node: Node, dim_names: Sequence[str | None]) -> Any:
    dims: list[Any] = []
    for d, sym in zip(node.shape, dim_names):
        dims.append(d if isinstance(d, int) else sym)
    return w.onnx.helper.make_tensor_value_info(name, onnx_dtype(node.dtype), dims)


def to_model(
    inputs: Sequence[Node],
    outputs: Sequence[Node],
    opset: int | None = None,
    name: str = "graphjit",
) -> onnx.ModelProto:
    """The ONNX model computing ``outputs`` from the placeholders ``inputs``."""
    onnx = import_onnx()
    opset = DEFAULT_OPSET if opset is None else opset
    newest = onnx.defs.onnx_opset_version()
    if (
        isinstance(opset, bool)
        or not isinstance(opset, int)
        or not MIN_EXPORT_OPSET <= opset <= newest
    ):
        raise ValueError(
            f"gj.onnx.export: opset must be an int from {MIN_EXPORT_OPSET} to {newest} (the "
            f"newest this onnx knows), got {opset!r}"
        )
    order = ir.toposort(outputs)
    given = {id(x) for x in inputs}
    for n in order:
        if n.op is PLACEHOLDER and id(n) not in given:
            raise ValueError(
                f"gj.onnx.export: the outputs need placeholder {n.name!r}, which is not an input"
            )
    names = [x.name for x in inputs]
    if len(set(names)) != len(names):
        raise ValueError(
            f"gj.onnx.export: two inputs share a name ({names}); ONNX needs unique names"
        )
    missing = sorted({n.op.name for n in order if n.inputs and n.op.name not in EXPORTERS})
    if missing:
        raise UnsupportedOpError(
            f"gj.onnx.export: no ONNX mapping for op(s) {', '.join(missing)} (mapped: every op "
            f"except {', '.join(unmapped_ops()) or 'none'})"
        )
    w = Writer(opset, {x.name for x in inputs if x.name})
    value: dict[int, str] = {}
    graph_inputs = []
    for x in inputs:
        assert x.name is not None
        value[id(x)] = x.name
        dims = [d if isinstance(d, str) else f"{x.name}_dim{a}" for a, d in enumerate(x.shape)]
        graph_inputs.append(_value_info(w, x.name, x, dims))
    for n in order:
        if id(n) in value:
            continue
        if n.op is VARIABLE:
            value[id(n)] = w.initializer(n.storage.array, w.reserve(n.name or "variable"))
        elif n.op is CONSTANT:
            value[id(n)] = w.const(constant_value(n))
        elif n.inputs:
            try:
                value[id(n)] = EXPORTERS[n.op.name](w, n, [value[id(x)] for x in n.inputs])
            except (KeyError, TypeError, ValueError) as exc:
                raise OnnxConversionError(f"gj.onnx.export: cannot write {n!r}: {exc}") from exc
    graph_outputs = []
    for i, o in enumerate(outputs):
        out = w.reserve(f"output_{i}")
        w.nodes.append(onnx.helper.make_node("Identity", [value[id(o)]], [out]))
        graph_outputs.append(_value_info(w, out, o, [None] * o.ndim))
    used = {name for n in w.nodes for name in n.input}
    initializers = [t for t in w.initializers if t.name in used]  # constants an op set aside
    graph = onnx.helper.make_graph(w.nodes, name, graph_inputs, graph_outputs, initializers)
    model = onnx.helper.make_model(
        graph, opset_imports=[onnx.helper.make_opsetid("", opset)], producer_name="graphjit"
    )
    model.ir_version = min(model.ir_version, _ir_version_for(onnx, opset))
    return model


def _ir_version_for(onnx: Any, opset: int) -> int:
    """The oldest IR version that knows ``opset`` (runtimes lag behind onnx's newest IR)."""
    for _, ir_version, op_version, *_ in onnx.helper.VERSION_TABLE:
        if op_version >= opset:
            return int(ir_version)
    return int(onnx.IR_VERSION)
