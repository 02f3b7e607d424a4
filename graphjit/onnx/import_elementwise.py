"""ONNX import of the elementwise ops and linear algebra (``MatMul``, ``Gemm``, ``Einsum``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from graphjit import ops
from graphjit.onnx.common import numpy_dtype_of
from graphjit.onnx.importer import (
    Importer,
    OnnxNode,
    SymDim,
    imports,
)

__all__: list[str] = []


# --------------------------------------------------------------------------------------------------
# elementwise

_UNARY = {
    "Neg": ops.negative, "Abs": ops.abs, "Sign": ops.sign, "Exp": ops.exp, "Log": ops.log,
    "Sqrt": ops.sqrt, "Reciprocal": ops.reciprocal, "Sin": ops.sin, "Cos": ops.cos,
    "Tan": ops.tan, "Tanh": ops.tanh, "Atan": ops.arctan, "Sigmoid": ops.sigmoid,
    "Relu": ops.relu, "Softplus": ops.softplus, "Erf": ops.erf, "Floor": ops.floor,
    "Ceil": ops.ceil, "Round": ops.round, "Not": ops.logical_not, "Sinh": ops.sinh,
    "Cosh": ops.cosh, "Asin": ops.arcsin, "Acos": ops.arccos, "Asinh": ops.arcsinh,
    "Acosh": ops.arccosh, "Atanh": ops.arctanh, "IsNaN": ops.isnan, "BitwiseNot": ops.bitwise_not,
}  # fmt: skip
_BINARY = {
    "Add": ops.add, "Sub": ops.subtract, "Mul": ops.multiply, "Div": ops.divide,
    "Pow": ops.power, "Less": ops.less, "LessOrEqual": ops.less_equal, "Greater": ops.greater,
    "GreaterOrEqual": ops.greater_equal, "Equal": ops.equal, "And": ops.logical_and,
    "Or": ops.logical_or, "Xor": ops.bitwise_xor, "BitwiseAnd": ops.bitwise_and,
    "BitwiseOr": ops.bitwise_or, "BitwiseXor": ops.bitwise_xor,
}  # fmt: skip


def _unary(fn: Callable[[Any], Any]) -> Importer:
    return lambda n: fn(n.arg(0))


def _binary(fn: Callable[[Any, Any], Any]) -> Importer:
    def build(n: OnnxNode) -> Any:
        a, b = n.arg(0), n.arg(1)
        if n.op_type == "Div" and a.dtype.startswith("int") and b.dtype.startswith("int"):
            return _int_div(a, b)
        if n.op_type == "Pow" and a.dtype != b.dtype:
            b = ops.astype(b, a.dtype)  # ONNX's Pow keeps the base's type
        return fn(a, b)

    return build


def _int_div(a: Any, b: Any) -> Any:
    """ONNX's integer division, which truncates toward zero: the floor quotient, one more where
    the exact quotient is negative and not whole. In integers throughout (a quotient through
    float64 is off by one and more for int64 values beyond 2**53)."""
    q = ops.floor_divide(a, b)
    inexact = ops.not_equal(ops.remainder(a, b), 0)
    negative = ops.not_equal(ops.less(a, 0), ops.less(b, 0))
    return ops.where(ops.logical_and(inexact, negative), q + 1, q)


for _t, _f in _UNARY.items():
    imports(_t)(_unary(_f))
for _t, _g in _BINARY.items():
    imports(_t)(_binary(_g))


@imports("BitShift")
def _bit_shift(n: OnnxNode) -> Any:
    """ONNX's BitShift (unsigned types; uint8 is graphjit's): a count not below the width shifts
    every bit out, as in numpy."""
    direction = n.attr("direction", "str")
    if direction not in ("LEFT", "RIGHT"):
        raise n.reader.fail(f"BitShift: direction must be LEFT or RIGHT, got {direction!r}")
    x, count = n.arg(0), n.arg(1)
    if x.dtype != "uint8" or count.dtype != "uint8":
        raise n.reader.fail(
            f"BitShift is defined for unsigned integers, got {x.dtype} and {count.dtype}"
        )
    return (ops.left_shift if direction == "LEFT" else ops.right_shift)(x, count)


@imports("Identity", "Dropout")
def _identity(n: OnnxNode) -> Any:
    return n.arg(0)  # Dropout is the identity at inference


@imports("Max", "Min", "Sum", "Mean")
def _variadic(n: OnnxNode) -> Any:
    args = [n.arg(i) for i in range(len(n.inputs))]
    fn = {"Max": ops.maximum, "Min": ops.minimum, "Sum": ops.add, "Mean": ops.add}[n.op_type]
    out = args[0]
    for a in args[1:]:
        out = fn(out, a)
    return out / len(args) if n.op_type == "Mean" else out


@imports("Xor")
def _xor(n: OnnxNode) -> Any:
    return ops.not_equal(n.arg(0), n.arg(1))


@imports("IsInf")
def _isinf(n: OnnxNode) -> Any:
    x = n.arg(0)
    negative, positive = n.attr("detect_negative", "int", 1), n.attr("detect_positive", "int", 1)
    found = ops.isinf(x)
    if not negative:
        found = ops.logical_and(found, x > 0)
    if not positive:
        found = ops.logical_and(found, x < 0)
    return found


@imports("Mod")
def _mod(n: OnnxNode) -> Any:
    a, b = n.arg(0), n.arg(1)
    r = ops.remainder(a, b)  # the divisor's sign, as ONNX's Mod with fmod=0
    if not n.attr("fmod", "int", 0):
        return r
    # fmod: the dividend's sign (C's fmod), from the remainder that has the divisor's
    differs = ops.logical_and(ops.not_equal(r, 0), ops.not_equal(r < 0, a < 0))
    return ops.where(differs, r - b, r)


@imports("CumSum")
def _cumsum(n: OnnxNode) -> Any:
    x = n.arg(0)
    axes = n.reader.ints(n.inputs[1], "CumSum's axis") if n.has(1) else []
    if len(axes) != 1:
        raise n.reader.fail("CumSum needs one axis")
    axis = axes[0] % max(x.ndim, 1)
    reverse = bool(n.attr("reverse", "int", 0))
    if reverse:
        x = ops.flip(x, axis)
    out = ops.cumsum(x, axis=axis)
    if n.attr("exclusive", "int", 0):
        out = out - x
    return ops.flip(out, axis) if reverse else out


@imports("ScatterElements")
def _scatter_elements(n: OnnxNode) -> Any:
    x, idx, values = n.arg(0), n.arg(1), n.arg(2)
    axis = n.attr("axis", "int", 0)
    reduction = n.attr("reduction", "str", "none")
    if reduction == "add":
        return ops.add_along_axis(x, idx, values, axis)
    if reduction == "none":
        return ops.put_along_axis(x, idx, values, axis)
    raise n.reader.fail(f"ScatterElements with reduction {reduction!r} is not supported")


@imports("TopK")
def _topk(n: OnnxNode) -> Any:
    """The first k of a stable argsort along the axis (ONNX's TopK breaks ties by the lower
    index); k a known int, or the axis's whole call-time size."""
    x = n.arg(0)
    axis = n.attr("axis", "int", -1) % max(x.ndim, 1)
    largest = bool(n.attr("largest", "int", 1))
    dims = n.reader.dims(n.inputs[1], "TopK's k")
    if len(dims) != 1:
        raise n.reader.fail("TopK's k must hold one value")
    (k,) = dims
    order = ops.argsort(x, axis=axis, descending=largest)
    if isinstance(k, SymDim):
        if k.node is not x or k.axis != axis:
            raise n.reader.fail("TopK's k must be known when reading, or the axis's whole size")
    elif k != x.shape[axis]:
        order = ops.take(order, np.arange(int(k)), axis=axis)
    return ops.take_along_axis(x, order, axis=axis), order


@imports("Where")
def _where(n: OnnxNode) -> Any:
    return ops.where(n.arg(0), n.arg(1), n.arg(2))


@imports("Cast")
def _cast(n: OnnxNode) -> Any:
    to = n.attr("to", "int")
    if to is None:
        raise n.reader.fail("Cast needs the attribute 'to'")
    return ops.astype(n.arg(0), numpy_dtype_of(to, n.reader.where).name)


@imports("Clip")
def _clip(n: OnnxNode) -> Any:
    x = n.arg(0)
    lo = n.arg(1) if n.has(1) else None
    hi = n.arg(2) if n.has(2) else None
    if lo is not None:
        x = ops.maximum(x, ops.astype(lo, x.dtype))
    if hi is not None:
        x = ops.minimum(x, ops.astype(hi, x.dtype))
    return x


@imports("LeakyRelu")
def _leaky_relu(n: OnnxNode) -> Any:
    x = n.arg(0)
    return ops.where(x >= 0, x, x * n.attr("alpha", "float", 0.01))


@imports("Gelu")
def _gelu(n: OnnxNode) -> Any:
    x = n.arg(0)
    if n.attr("approximate", "str", "none") == "tanh":
        return 0.5 * x * (1.0 + ops.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x)))
    return 0.5 * x * (1.0 + ops.erf(x / math.sqrt(2.0)))


# --------------------------------------------------------------------------------------------------
# linear algebra


@imports("MatMul")
def _matmul(n: OnnxNode) -> Any:
    return ops.matmul(n.arg(0), n.arg(1))


@imports("Gemm")
def _gemm(n: OnnxNode) -> Any:
    a, b = n.arg(0), n.arg(1)
    if n.attr("transA", "int", 0):
        a = ops.transpose(a)
    if n.attr("transB", "int", 0):
        b = ops.transpose(b)
    out = ops.matmul(a, b)
    alpha, beta = n.attr("alpha", "float", 1.0), n.attr("beta", "float", 1.0)
    if alpha != 1.0:
        out = out * alpha
    if n.has(2):
        c = n.arg(2)
        out = out + (c * beta if beta != 1.0 else c)
    return out


@imports("Einsum")
def _einsum(n: OnnxNode) -> Any:
    equation = n.attr("equation", "str")
    if not equation or len(equation) > 200:
        raise n.reader.fail("Einsum needs a short 'equation' attribute")
    return ops.einsum(equation.replace(" ", ""), *[n.arg(i) for i in range(len(n.inputs))])
