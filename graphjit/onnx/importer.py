"""Read an ONNX model into a graphjit graph: one function per ONNX op type, building graph nodes
with the public ``gj`` functions (so shapes and dtypes are checked as the graph is built).

Graph inputs become placeholders (symbolic dims become ``None``), float initializers become
parameters (eager tensors that require grad, so ``gj.optim`` can train them; the graph reads them
as variables sharing their storage), other initializers and ``Constant`` nodes become constants.
Values an op needs statically (a ``Reshape``'s shape, axes, pads) must be constants or computable
from static shapes (``Shape`` of a fully known tensor folds to a constant).

Nothing in the file is run as code: op types are looked up in :data:`IMPORTERS`, attributes are
checked for their expected type, and the model is refused with :class:`OnnxConversionError` when
it is too big, too deep, nests subgraphs or points at external data files.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphjit import ops
from graphjit.interp import evaluate
from graphjit.ir import Node, leaves
from graphjit.onnx.common import (
    OnnxConversionError,
    UnsupportedOpError,
    import_onnx,
    numpy_dtype_of,
)
from graphjit.ops.convolution import conv, conv_transpose
from graphjit.ops.dispatch import as_node
from graphjit.tensor.creation import from_numpy

__all__ = ["IMPORTERS", "Limits", "build_graph"]


@dataclass(frozen=True)
class Limits:
    """What a model may hold before it is refused as absurd."""

    max_nodes: int = 100_000
    max_rank: int = 32
    max_elements: int = 1 << 31  # of any one tensor whose shape is known when reading
    max_dim: int = 1 << 31


class SymDim:
    """A call-time dim: axis ``axis`` of graph node ``node`` (what ``Shape`` gives for a ``None``
    dim). Shape arithmetic on these runs on numpy object arrays; Reshape, Expand and
    ConstantOfShape read them back."""

    __slots__ = ("axis", "node")

    def __init__(self, node: Any, axis: int) -> None:
        self.node = node
        self.axis = axis

    def __repr__(self) -> str:
        return f"<dim {self.axis} of {self.node!r}>"


def is_symbolic(arr: np.ndarray | None) -> bool:
    return arr is not None and arr.dtype == object


def whole_shape_of(arr: np.ndarray) -> Any:
    """The node whose whole shape ``arr`` is (its entries are its dims, in order), or None."""
    flat = list(arr.reshape(-1))
    refs = [d.node for d in flat if isinstance(d, SymDim)]
    if not refs or any(r is not refs[0] for r in refs) or len(flat) != refs[0].ndim:
        return None
    for axis, d in enumerate(flat):
        if isinstance(d, SymDim) and d.axis != axis:
            return None
        if not isinstance(d, SymDim) and d != refs[0].shape[axis]:
            return None
    return refs[0]


def materialize(arr: np.ndarray) -> Any:
    """An object array of ints and :class:`SymDim` as an int64 graph value."""
    parts = [
        ops.size_of(d.node, (d.axis,), "int64")
        if isinstance(d, SymDim)
        else ops.constant(np.int64(d))
        for d in arr.reshape(-1)
    ]
    if arr.ndim == 0:
        return parts[0]
    return ops.reshape(ops.stack(parts), arr.shape)


class Value:
    """One ONNX value while reading: a graph node, a known array, or both (an initializer)."""

    __slots__ = ("array", "make", "node")

    def __init__(
        self,
        node: Any = None,
        array: np.ndarray | None = None,
        make: Callable[[], Any] | None = None,
    ) -> None:
        self.node = node
        self.array = array
        self.make = make  # builds the node on first use (initializers used only statically)

    def as_node(self) -> Any:
        if self.node is None:
            self.node = self.make() if self.make is not None else as_node(self.array)
        return self.node


class Reader:
    """The state of one import: values by name, the parameters made, the limits."""

    def __init__(self, limits: Limits) -> None:
        self.values: dict[str, Value] = {}
        self.limits = limits
        self.where = ""
        self.folding = False  # reading a node's inputs as constants, to compute it now

    def fail(self, message: str) -> OnnxConversionError:
        return OnnxConversionError(f"gj.onnx.load: {self.where}: {message}")

    def check_shape(self, shape: Sequence[Any]) -> None:
        if len(shape) > self.limits.max_rank:
            raise self.fail(f"rank {len(shape)} is over the limit of {self.limits.max_rank}")
        known = [d for d in shape if isinstance(d, (int, np.integer))]
        if any(d < 0 or d > self.limits.max_dim for d in known):
            raise self.fail(f"shape {tuple(shape)} has a negative or absurd dim")
        if math.prod(int(d) for d in known) > self.limits.max_elements:
            raise self.fail(
                f"shape {tuple(shape)} has more than {self.limits.max_elements} elements"
            )

    def node(self, name: str) -> Any:
        if name not in self.values:
            raise self.fail(f"input {name!r} is not produced by any node, input or initializer")
        value = self.values[name]
        if value.array is not None and is_symbolic(value.array):
            return materialize(value.array)  # call-time sizes used as data: size_of nodes
        if self.folding and value.array is not None:
            return ops.constant(value.array)
        return value.as_node()

    def static(self, name: str, what: str) -> np.ndarray:
        """The value of input ``name``, which must be known when the model is read."""
        value = self.values.get(name)
        if value is None:
            raise self.fail(f"input {name!r} is not produced by any node, input or initializer")
        if value.array is None:
            raise self.fail(
                f"{what} ({name!r}) must be a constant or computed from static shapes; here it is "
                "only known when the model runs"
            )
        return value.array

    def dims(self, name: str, what: str) -> list[Any]:
        """A shape input: ints, or :class:`SymDim` for call-time dims."""
        arr = self.static(name, what)
        if is_symbolic(arr):
            return list(arr.reshape(-1))
        return self.ints(name, what)

    def ints(self, name: str, what: str) -> list[int]:
        arr = self.static(name, what)
        if is_symbolic(arr):
            raise self.fail(f"{what} must be known when reading, not a call-time size")
        if arr.dtype.kind not in "iu" or arr.ndim > 1:
            raise self.fail(f"{what} must be a 1-D int tensor, got {arr.dtype}{list(arr.shape)}")
        return [int(v) for v in arr.reshape(-1)]


class OnnxNode:
    """One ONNX node with checked attribute access."""

    def __init__(self, proto: Any, reader: Reader) -> None:
        self.proto = proto
        self.op_type = str(proto.op_type)
        self.inputs = [str(x) for x in proto.input]
        self.outputs = [str(x) for x in proto.output]
        self.reader = reader
        self._attrs = {a.name: a for a in proto.attribute}

    def attr(self, name: str, kind: str, default: Any = None) -> Any:
        """Attribute ``name`` of the expected ``kind`` (int, float, str, ints, floats, tensor)."""
        a = self._attrs.get(name)
        if a is None:
            return default
        got = {1: "float", 2: "int", 3: "str", 4: "tensor", 6: "floats", 7: "ints"}.get(a.type)
        if got != kind:
            raise self.reader.fail(
                f"attribute {name!r} must be {kind}, got attribute type {a.type}"
            )
        if kind == "int":
            return int(a.i)
        if kind == "float":
            return float(a.f)
        if kind == "str":
            return a.s.decode("utf-8", errors="replace")
        if kind == "ints":
            return [int(v) for v in a.ints]
        if kind == "floats":
            return [float(v) for v in a.floats]
        return a.t

    def arg(self, i: int) -> Any:
        if i >= len(self.inputs) or not self.inputs[i]:
            raise self.reader.fail(f"{self.op_type} needs input {i}")
        return self.reader.node(self.inputs[i])

    def has(self, i: int) -> bool:
        return i < len(self.inputs) and bool(self.inputs[i])


Importer = Callable[[OnnxNode], Any]
IMPORTERS: dict[str, Importer] = {}


def imports(*op_types: str) -> Callable[[Importer], Importer]:
    def register(fn: Importer) -> Importer:
        for t in op_types:
            IMPORTERS[t] = fn
        return fn

    return register


# --------------------------------------------------------------------------------------------------
# elementwise

_UNARY = {
    "Neg": ops.negative, "Abs": ops.abs, "Sign": ops.sign, "Exp": ops.exp, "Log": ops.log,
    "Sqrt": ops.sqrt, "Reciprocal": ops.reciprocal, "Sin": ops.sin, "Cos": ops.cos,
    "Tan": ops.tan, "Tanh": ops.tanh, "Atan": ops.arctan, "Sigmoid": ops.sigmoid,
    "Relu": ops.relu, "Softplus": ops.softplus, "Erf": ops.erf, "Floor": ops.floor,
    "Ceil": ops.ceil, "Round": ops.round, "Not": ops.logical_not, "Sinh": ops.sinh,
    "Cosh": ops.cosh, "Asin": ops.arcsin, "Acos": ops.arccos, "Asinh": ops.arcsinh,
    "Acosh": ops.arccosh, "Atanh": ops.arctanh, "IsNaN": ops.isnan,
}  # fmt: skip
_BINARY = {
    "Add": ops.add, "Sub": ops.subtract, "Mul": ops.multiply, "Div": ops.divide,
    "Pow": ops.power, "Less": ops.less, "LessOrEqual": ops.less_equal, "Greater": ops.greater,
    "GreaterOrEqual": ops.greater_equal, "Equal": ops.equal, "And": ops.logical_and,
    "Or": ops.logical_or,
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
    # ONNX integer division truncates toward zero
    q = ops.divide(a, b)
    return ops.astype(ops.where(q < 0, ops.ceil(q), ops.floor(q)), a.dtype)


for _t, _f in _UNARY.items():
    imports(_t)(_unary(_f))
for _t, _g in _BINARY.items():
    imports(_t)(_binary(_g))


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


def _conv_args(n: OnnxNode, transposed: bool) -> tuple[Any, Any, dict[str, Any]]:
    x, w = n.arg(0), n.arg(1)
    nd = w.ndim - 2
    if n.attr("auto_pad", "str", "NOTSET") not in ("NOTSET", "VALID"):
        raise n.reader.fail(f"{n.op_type}: auto_pad SAME_UPPER/SAME_LOWER is not supported")
    kernel = n.attr("kernel_shape", "ints", None)
    if kernel is not None and list(kernel) != list(w.shape[2:]):
        raise n.reader.fail(f"{n.op_type}: kernel_shape {kernel} differs from the weight's")
    if n.attr("output_shape", "ints", None) is not None:
        raise n.reader.fail(f"{n.op_type}: output_shape is not supported (give output_padding)")
    pads = list(n.attr("pads", "ints", [0] * (2 * nd)))
    attrs: dict[str, Any] = {
        "stride": tuple(n.attr("strides", "ints", [1] * nd)),
        "padding": tuple(zip(pads[:nd], pads[nd:])),
        "dilation": tuple(n.attr("dilations", "ints", [1] * nd)),
        "groups": n.attr("group", "int", 1),
    }
    if transposed:
        attrs["output_padding"] = tuple(n.attr("output_padding", "ints", [0] * nd))
    return x, w, attrs


def _conv_bias(n: OnnxNode, y: Any) -> Any:
    if not n.has(2):
        return y
    return y + ops.reshape(n.arg(2), (-1,) + (1,) * (y.ndim - 2))


@imports("Conv")
def _conv(n: OnnxNode) -> Any:
    x, w, attrs = _conv_args(n, transposed=False)
    return _conv_bias(n, conv(x, w, **attrs))


@imports("ConvTranspose")
def _conv_transpose(n: OnnxNode) -> Any:
    x, w, attrs = _conv_args(n, transposed=True)
    return _conv_bias(n, conv_transpose(x, w, **attrs))


# --------------------------------------------------------------------------------------------------
# reductions and softmax


def _axes(n: OnnxNode, ndim: int) -> tuple[int, ...] | None:
    """The axes of a reduction (attribute before opset 18, input after); None for all."""
    axes = n.reader.ints(n.inputs[1], "the axes") if n.has(1) else n.attr("axes", "ints")
    if axes is None or (not axes and not n.attr("noop_with_empty_axes", "int", 0)):
        return None
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise n.reader.fail(f"axis {a} is out of range for rank {ndim}")
    return tuple(sorted({a % ndim for a in axes})) if ndim else ()


_REDUCERS = {
    "ReduceSum": ops.sum, "ReduceMean": ops.mean, "ReduceMax": ops.max, "ReduceMin": ops.min,
    "ReduceProd": ops.prod, "ReduceLogSumExp": ops.logsumexp,
}  # fmt: skip


@imports(*_REDUCERS, "ReduceSumSquare", "ReduceL2", "ReduceL1")
def _reduce(n: OnnxNode) -> Any:
    x = n.arg(0)
    axes = _axes(n, x.ndim)
    keep = bool(n.attr("keepdims", "int", 1))
    if axes == ():
        return x
    if n.op_type == "ReduceSumSquare":
        return ops.sum(x * x, axis=axes, keepdims=keep)
    if n.op_type == "ReduceL2":
        return ops.sqrt(ops.sum(x * x, axis=axes, keepdims=keep))
    if n.op_type == "ReduceL1":
        return ops.sum(ops.abs(x), axis=axes, keepdims=keep)
    out = _REDUCERS[n.op_type](x, axis=axes, keepdims=keep)
    return out if out.dtype == x.dtype or n.op_type == "ReduceMean" else ops.astype(out, x.dtype)


@imports("ArgMax", "ArgMin")
def _arg(n: OnnxNode) -> Any:
    if n.attr("select_last_index", "int", 0):
        raise n.reader.fail(f"{n.op_type} with select_last_index=1 is not supported")
    x = n.arg(0)
    fn = ops.argmax if n.op_type == "ArgMax" else ops.argmin
    return fn(x, axis=n.attr("axis", "int", 0), keepdims=bool(n.attr("keepdims", "int", 1)))


@imports("Softmax", "LogSoftmax")
def _softmax(n: OnnxNode) -> Any:
    fn = ops.softmax if n.op_type == "Softmax" else ops.log_softmax
    return fn(n.arg(0), axis=n.attr("axis", "int", -1))


# --------------------------------------------------------------------------------------------------
# shapes


def _static_shape(x: Any) -> tuple[int, ...] | None:
    return tuple(x.shape) if all(isinstance(d, int) for d in x.shape) else None


@imports("Shape")
def _shape(n: OnnxNode) -> Any:
    x = n.arg(0)
    start, end = n.attr("start", "int", 0), n.attr("end", "int", x.ndim)
    shape = _static_shape(x)
    if shape is not None:
        return np.asarray(shape[slice(start, end)], dtype=np.int64)
    dims = [d if isinstance(d, int) else SymDim(x, a) for a, d in enumerate(x.shape)]
    out = np.empty(len(dims), dtype=object)
    out[:] = dims
    return out[slice(start, end)]


@imports("Reshape")
def _reshape(n: OnnxNode) -> Any:
    x = n.arg(0)
    shape = n.reader.dims(n.inputs[1], "Reshape's shape")
    ref = whole_shape_of(np.asarray(shape, dtype=object))
    if ref is not None:
        return ops.reshape_like(x, ref)
    shape = _resolve_minus_one(x, shape)
    shape = [-1 if isinstance(d, SymDim) else d for d in shape]
    n.reader.check_shape([d for d in shape if d > 0])
    if sum(1 for d in shape if d == -1) > 1:
        raise n.reader.fail("Reshape to more than one call-time dim is not supported")
    if not n.attr("allowzero", "int", 0):
        shape = [x.shape[i] if d == 0 and i < x.ndim else d for i, d in enumerate(shape)]
        if any(d is None or isinstance(d, str) for d in shape):
            if sum(1 for d in shape if not isinstance(d, int) or d == -1) > 1:
                raise n.reader.fail("Reshape keeps more than one call-time dim")
            shape = [-1 if not isinstance(d, int) else d for d in shape]
    return ops.reshape(x, tuple(int(d) for d in shape))


def _resolve_minus_one(x: Any, shape: list[Any]) -> list[Any]:
    """``x.view(x.size(0), -1)``: a -1 after call-time dims that keep x's own leading dims is
    known when the rest of x's dims are static."""
    k = 0
    while (
        k < len(shape)
        and k < x.ndim
        and (
            (isinstance(shape[k], SymDim) and shape[k].node is x and shape[k].axis == k)
            or (isinstance(shape[k], int) and shape[k] == x.shape[k])
        )
    ):
        k += 1
    rest = x.shape[k:]
    tail = shape[k:]
    if -1 not in tail or not all(isinstance(d, int) for d in rest + tuple(tail)):
        return shape
    known = math.prod(d for d in tail if d != -1)
    if known == 0 or math.prod(rest) % known:
        return shape
    return shape[:k] + [math.prod(rest) // known if d == -1 else d for d in tail]


@imports("Flatten")
def _flatten(n: OnnxNode) -> Any:
    x = n.arg(0)
    axis = n.attr("axis", "int", 1) % max(x.ndim, 1)
    lead, rest = x.shape[:axis], x.shape[axis:]
    if all(isinstance(d, int) for d in rest):
        return ops.reshape(x, (-1, math.prod(rest)))
    if all(isinstance(d, int) for d in lead):
        return ops.reshape(x, (math.prod(lead), -1))
    raise n.reader.fail(f"Flatten of shape {tuple(x.shape)} at axis {axis}: two call-time sizes")


@imports("Transpose")
def _transpose(n: OnnxNode) -> Any:
    perm = n.attr("perm", "ints")
    return ops.transpose(n.arg(0), None if perm is None else tuple(perm))


@imports("Unsqueeze", "Squeeze")
def _unsqueeze(n: OnnxNode) -> Any:
    x = n.arg(0)
    axes = n.reader.ints(n.inputs[1], "the axes") if n.has(1) else n.attr("axes", "ints")
    if n.op_type == "Squeeze":
        return ops.squeeze(x, None if not axes else tuple(axes))
    if not axes:
        raise n.reader.fail("Unsqueeze needs axes")
    return ops.expand_dims(x, tuple(axes))


@imports("Expand")
def _expand(n: OnnxNode) -> Any:
    x = n.arg(0)
    shape = n.reader.dims(n.inputs[1], "Expand's shape")
    ref = whole_shape_of(np.asarray(shape, dtype=object))
    if ref is not None and ref.ndim >= x.ndim:
        return ops.broadcast_like(x, ref)
    n.reader.check_shape([d for d in shape if isinstance(d, int)])
    rank = max(len(shape), x.ndim)
    shape = [1] * (rank - len(shape)) + shape
    xs = [1] * (rank - x.ndim) + list(x.shape)
    target = tuple(
        None if isinstance(s_, SymDim) or (s_ == 1 and d != 1) else s_ for s_, d in zip(shape, xs)
    )
    if x.ndim < rank:
        x = ops.expand_dims(x, tuple(range(rank - x.ndim)))
    x = ops.broadcast_to(x, target)
    stretch = [s_ if isinstance(s_, SymDim) and d == 1 else None for s_, d in zip(shape, xs)]
    return _stretch(x, stretch)


def _stretch(x: Any, dims: Sequence[Any]) -> Any:
    """``x`` with each size-1 axis whose entry of ``dims`` is a :class:`SymDim` broadcast to that
    call-time size."""
    for axis, d in enumerate(dims):
        if isinstance(d, SymDim):
            line = ops.astype(_dim_ref(d, axis, len(dims)), "bool")
            x = ops.broadcast_like(x, ops.logical_or(line, ops.astype(x, "bool")))
    return x


def _dim_ref(d: SymDim, axis: int, rank: int) -> Any:
    """A value read only for its shape: 1s of rank ``rank`` with ``d`` on ``axis`` (or'd with x,
    it has the shape x broadcasts to along that axis)."""
    node = d.node
    others = tuple(a for a in range(node.ndim) if a != d.axis)
    line = ops.sum(node, axis=others, keepdims=True) if others else node
    return ops.reshape(line, tuple(-1 if a == axis else 1 for a in range(rank)))


@imports("Concat")
def _concat(n: OnnxNode) -> Any:
    return ops.concatenate([n.arg(i) for i in range(len(n.inputs))], axis=n.attr("axis", "int"))


@imports("Slice")
def _slice(n: OnnxNode) -> Any:
    x = n.arg(0)
    starts = n.reader.ints(n.inputs[1], "Slice's starts")
    ends = n.reader.ints(n.inputs[2], "Slice's ends")
    axes = n.reader.ints(n.inputs[3], "Slice's axes") if n.has(3) else list(range(len(starts)))
    steps = n.reader.ints(n.inputs[4], "Slice's steps") if n.has(4) else [1] * len(starts)
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise n.reader.fail("Slice's starts, ends, axes and steps differ in length")
    slices: list[Any] = [slice(None)] * x.ndim
    big = 1 << 62
    for s, e, a, st in zip(starts, ends, axes, steps):
        if st == 0 or not -x.ndim <= a < x.ndim:
            raise n.reader.fail(f"Slice: bad axis {a} or step {st}")
        stop = None if (e >= big or e <= -big) else e
        start = None if (s >= big or s <= -big) else s
        slices[a % x.ndim] = slice(start, stop, st)
    return x[tuple(slices)]


@imports("Pad")
def _pad(n: OnnxNode) -> Any:
    x = n.arg(0)
    mode = n.attr("mode", "str", "constant")
    if mode != "constant":
        raise n.reader.fail(f"Pad mode {mode!r} is not supported (only 'constant')")
    pads = n.reader.ints(n.inputs[1], "Pad's pads")
    value = float(n.reader.static(n.inputs[2], "Pad's value").reshape(-1)[0]) if n.has(2) else 0
    axes = n.reader.ints(n.inputs[3], "Pad's axes") if n.has(3) else list(range(x.ndim))
    if len(pads) != 2 * len(axes) or any(p < 0 for p in pads):
        raise n.reader.fail(f"Pad: pads {pads} do not fit axes {axes} (negative pads unsupported)")
    width = [(0, 0)] * x.ndim
    for k, a in enumerate(axes):
        width[a % x.ndim] = (pads[k], pads[k + len(axes)])
    return ops.pad(x, tuple(width), constant_values=value)


@imports("Gather")
def _gather(n: OnnxNode) -> Any:
    return ops.take(n.arg(0), n.arg(1), axis=n.attr("axis", "int", 0))


@imports("GatherElements")
def _gather_elements(n: OnnxNode) -> Any:
    return ops.take_along_axis(n.arg(0), n.arg(1), axis=n.attr("axis", "int", 0))


@imports("Constant")
def _constant(n: OnnxNode) -> Any:
    onnx_mod = import_onnx()
    t = n.attr("value", "tensor")
    if t is None:
        for kind, name in (("float", "value_float"), ("int", "value_int")):
            v = n.attr(name, kind)
            if v is not None:
                return np.asarray(v, dtype="float32" if kind == "float" else "int64")
        for kind, name in (("floats", "value_floats"), ("ints", "value_ints")):
            v = n.attr(name, kind)
            if v is not None:
                return np.asarray(v, dtype="float32" if kind == "floats" else "int64")
        raise n.reader.fail("Constant needs a value attribute graphjit reads")
    return tensor_array(onnx_mod, t, n.reader)


@imports("ConstantOfShape")
def _constant_of_shape(n: OnnxNode) -> Any:
    t = n.attr("value", "tensor")
    value = (
        np.zeros(1, np.float32)
        if t is None
        else tensor_array(import_onnx(), t, n.reader).reshape(-1)
    )
    if value.size != 1:
        raise n.reader.fail("ConstantOfShape's value must hold one element")
    dims = n.reader.dims(n.inputs[0], "ConstantOfShape's shape")
    ref = whole_shape_of(np.asarray(dims, dtype=object)) if dims else None
    if ref is not None:
        return ops.full_like(ref, value[0].item(), dtype=value.dtype.name)
    if any(isinstance(d, SymDim) for d in dims):  # some call-time sizes: a constant stretched
        ones = [1 if isinstance(d, SymDim) else int(d) for d in dims]
        n.reader.check_shape(ones)
        return _stretch(ops.constant(np.full(ones, value[0], dtype=value.dtype)), dims)
    shape = n.reader.ints(n.inputs[0], "ConstantOfShape's shape")
    n.reader.check_shape(shape)
    return np.full(shape, value[0], dtype=value.dtype)


# --------------------------------------------------------------------------------------------------
# the graph


def tensor_array(onnx: Any, t: Any, reader: Reader) -> np.ndarray:
    """A TensorProto's array, refusing external data (it would read other files)."""
    if t.data_location == 1 or len(t.external_data):
        raise reader.fail(
            f"tensor {t.name!r} keeps its data in an external file; graphjit reads only "
            "self-contained models (save it with save_as_external_data=False)"
        )
    dtype = numpy_dtype_of(t.data_type, reader.where)
    reader.check_shape(list(t.dims))
    arr = onnx.numpy_helper.to_array(t)
    return np.asarray(arr, dtype=dtype)


def _dims(onnx: Any, value_info: Any, reader: Reader) -> tuple[tuple[Any, ...], str]:
    tt = value_info.type.tensor_type
    if not value_info.type.HasField("tensor_type"):
        raise reader.fail(f"input {value_info.name!r} is not a tensor")
    dtype = numpy_dtype_of(tt.elem_type, reader.where).name
    dims: list[Any] = []
    for d in tt.shape.dim:
        dims.append(int(d.dim_value) if d.HasField("dim_value") else None)
    reader.check_shape(dims)
    return tuple(dims), dtype


_FOLDABLE = {
    "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast", "Identity", "Slice", "Reshape", "Add",
    "Sub", "Mul", "Div", "Equal", "Where", "ReduceProd", "Expand", "Max", "Min",
}  # fmt: skip


def build_graph(model: Any, limits: Limits) -> tuple[list[Node], list[Any], dict[str, Any]]:
    """Placeholders, output nodes and parameters (name -> tensor) of an ONNX model."""
    onnx = import_onnx()
    reader = Reader(limits)
    graph = model.graph
    reader.where = "the model"
    for opset in model.opset_import:
        if opset.domain not in ("", "ai.onnx"):
            raise reader.fail(f"operators of domain {opset.domain!r} are not supported")
    if len(graph.node) > limits.max_nodes:
        raise reader.fail(f"{len(graph.node)} nodes is over the limit of {limits.max_nodes}")
    parameters: dict[str, Any] = {}
    init_names = set()
    for t in graph.initializer:
        reader.where = f"initializer {t.name!r}"
        arr = tensor_array(onnx, t, reader)
        init_names.add(t.name)
        if arr.dtype.kind == "f":
            param = from_numpy(np.array(arr)).requires_grad_(True)
            parameters[t.name] = param
            reader.values[t.name] = Value(array=arr, make=_param_node(param, t.name))
        else:
            reader.values[t.name] = Value(array=arr)
    inputs: list[Node] = []
    for vi in graph.input:
        if vi.name in init_names:
            continue  # an initializer listed as an input too (older exporters): a parameter
        reader.where = f"input {vi.name!r}"
        shape, dtype = _dims(onnx, vi, reader)
        x = ops.placeholder(vi.name, shape, dtype)
        inputs.append(x)
        reader.values[vi.name] = Value(node=x)
    for proto in graph.node:
        n = OnnxNode(proto, reader)
        reader.where = f"node {proto.name or n.outputs[:1]!r} ({n.op_type})"
        if proto.domain not in ("", "ai.onnx"):
            raise UnsupportedOpError(
                f"gj.onnx.load: {reader.where}: operators of domain {proto.domain!r} are not "
                "supported"
            )
        if any(a.type in (5, 10) or len(a.graphs) or a.HasField("g") for a in proto.attribute):
            raise reader.fail(
                f"{n.op_type} holds a subgraph (control flow); graphjit reads flat graphs only"
            )
        fn = IMPORTERS.get(n.op_type)
        if fn is None:
            raise UnsupportedOpError(
                f"gj.onnx.load: {reader.where}: no graphjit mapping for ONNX op {n.op_type!r} "
                "(gj.onnx.supported_onnx_ops() lists those it reads)"
            )
        try:
            result = _fold(n, reader) if n.op_type in _FOLDABLE else None
            if result is None:
                result = fn(n)
        except OnnxConversionError:
            raise
        except (TypeError, ValueError, IndexError) as exc:
            raise OnnxConversionError(f"gj.onnx.load: {reader.where}: {exc}") from exc
        if not n.outputs:
            raise reader.fail("a node without outputs")
        if isinstance(result, tuple):  # several outputs (TopK's values and indices)
            for name, part in zip(n.outputs[1:], result[1:]):
                if name:
                    reader.values[name] = Value(node=part)
            result = result[0]
        if isinstance(result, np.ndarray):
            reader.check_shape(result.shape)
            if result.dtype == object and not is_symbolic(result):
                raise reader.fail("internal: an object array")
            reader.values[n.outputs[0]] = Value(array=result)
        else:
            reader.values[n.outputs[0]] = Value(node=result)
        for extra in n.outputs[1:]:  # Dropout's mask
            if extra and extra not in reader.values:
                reader.values[extra] = Value(array=np.ones((), bool))
    outputs = []
    for vi in graph.output:
        reader.where = f"output {vi.name!r}"
        outputs.append(reader.node(vi.name))
    return inputs, outputs, parameters


def _param_node(param: Any, name: str) -> Callable[[], Any]:
    return lambda: as_node(param)  # a variable sharing the parameter's storage


def _fold_symbolic(n: OnnxNode, reader: Reader, arrays: list[np.ndarray]) -> np.ndarray | None:
    """Shape arithmetic over call-time dims (object arrays): the moves of dims that exporters
    write around Reshape (Gather, Slice, Concat, Unsqueeze, Squeeze, Cast, Identity)."""
    a = arrays[0]
    t = n.op_type
    if t in ("Identity", "Cast"):
        return a
    if t == "Concat":
        return np.concatenate([np.asarray(x, dtype=object).reshape(-1) for x in arrays])
    if t == "Gather" and n.attr("axis", "int", 0) == 0 and not is_symbolic(arrays[1]):
        return np.asarray(a[arrays[1].astype(np.int64)], dtype=object)
    if t == "Unsqueeze" and a.ndim == 0:
        return a.reshape(1)
    if t == "Squeeze" and a.shape == (1,):
        return a.reshape(())
    if t == "Slice" and a.ndim == 1 and not any(is_symbolic(x) for x in arrays[1:]):
        st = int(arrays[4][0]) if len(arrays) > 4 else 1
        return a[int(arrays[1][0]) : int(arrays[2][0]) : st]
    return None  # computed at call time, from size_of nodes


def _fold(n: OnnxNode, reader: Reader) -> np.ndarray | None:
    """The node's value computed now, when every input is known when reading and none is a
    parameter (shape arithmetic: Shape -> Gather -> Concat -> Reshape); else None."""
    values = [reader.values.get(x) for x in n.inputs if x]
    if not values or any(v is None or v.array is None or v.make is not None for v in values):
        return None
    arrays = [v.array for v in values if v is not None and v.array is not None]
    if any(is_symbolic(x) for x in arrays):
        return _fold_symbolic(n, reader, arrays)
    reader.folding = True
    try:
        result = IMPORTERS[n.op_type](n)
    finally:
        reader.folding = False
    if isinstance(result, np.ndarray):
        return result
    if isinstance(result, Node) and not any(
        x.op.name in ("placeholder", "variable") for x in leaves([result])
    ):
        return np.asarray(evaluate([result])[0])
    return None
