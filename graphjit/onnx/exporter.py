"""Write a graphjit graph as an ONNX model: one function per op, writing standard ONNX nodes.

Placeholders become graph inputs (``None`` dims get a symbolic name ``<input>_dim<axis>``, named
dims keep their name), variables and constants become initializers, and every op but those
:func:`unmapped_ops` lists maps to standard ONNX ops (opset 18 and later). Call-time sizes are
read with ``Shape`` where an op needs them, so one model serves every size of the ``None`` dims,
as the compiled function does.

This module holds the writer, the table of mappings and the helpers they share; the mappings live
in one module per op family (``export_elementwise``, ``export_reductions``, ``export_shapes``,
``export_nn``), each registering its functions with :func:`exports`.
"""

from __future__ import annotations

import itertools
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

__all__ = ["to_model", "EXPORTERS", "unmapped_ops"]  # and the helpers export_* modules share

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
# helpers the mappings share (export_elementwise, export_reductions, export_shapes, export_nn)


def scalar(w: Writer, value: float, dtype: str) -> str:
    return w.const(np.asarray(value, dtype=dtype))


def zero_tensor(w: Writer, dtype: str) -> Any:
    return w.onnx.numpy_helper.from_array(np.zeros(1, dtype=dtype), "value")


def signbit(w: Writer, x: str, dtype: str) -> str:
    """x's sign bit for finite, infinite and zero x: x < 0, or x == 0 and 1 / x < 0 (-0.0); ONNX
    has no way to read the sign bit of a NaN, which counts as positive here."""
    zero = scalar(w, 0, dtype)
    negative = w.op("Less", [x, zero])
    if not dtype.startswith("float"):
        return negative
    inverse = w.op("Div", [scalar(w, 1.0, dtype), x])
    negative_zero = w.op("And", [w.op("Equal", [x, zero]), w.op("Less", [inverse, zero])])
    return w.op("Or", [negative, negative_zero])


def with_sign(w: Writer, x: str, negative: str, dtype: str) -> str:
    """|x|, negated where ``negative`` holds: by a product, which keeps a signed zero (a Where
    choosing a -0.0 may give +0.0 in some runtimes)."""
    sign = w.op("Where", [negative, scalar(w, -1.0, dtype), scalar(w, 1.0, dtype)])
    return w.op("Mul", [w.op("Abs", [x]), sign])


def copysign_of(w: Writer, magnitude: str, sign_of: str, dtype: str) -> str:
    """|magnitude| with the sign (bit) of ``sign_of``."""
    return with_sign(w, magnitude, signbit(w, sign_of, dtype), dtype)


def where_keeping_sign(w: Writer, cond: str, a: str, b: str, dtype: str) -> str:
    """Where(cond, a, b) keeping the sign of a chosen zero (see with_sign)."""
    picked = w.op("Where", [cond, a, b])
    if not dtype.startswith("float"):
        return picked
    negative = w.op(
        "Or",
        [
            w.op("And", [cond, signbit(w, a, dtype)]),
            w.op("And", [w.op("Not", [cond]), signbit(w, b, dtype)]),
        ],
    )
    return with_sign(w, picked, negative, dtype)


def isnan(w: Writer, x: str, dtype: str) -> str:
    return w.op("IsNaN", [x]) if dtype.startswith("float") else w.op("Not", [w.op("Equal", [x, x])])


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
