"""ONNX in and out: ``gj.onnx.export`` writes a graph as a standard ONNX model, ``gj.onnx.load``
reads one into a graphjit graph that compiles to numba kernels and can be differentiated.

Needs the optional ``onnx`` package (``pip install 'graphjit[onnx]'``), imported on first use.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from graphjit.files import write_file
from graphjit.ir import Node
from graphjit.onnx import (  # noqa: F401 - one module per op family registers its mappings
    export_elementwise,
    export_nn,
    export_reductions,
    export_shapes,
    import_elementwise,
    import_nn,
    import_shapes,
)
from graphjit.onnx.common import OnnxConversionError, UnsupportedOpError, import_onnx
from graphjit.onnx.exporter import to_model, unmapped_ops
from graphjit.onnx.importer import IMPORTERS, Limits, build_graph
from graphjit.ops.dispatch import as_node
from graphjit.ops.leaves import Variable
from graphjit.runtime import CompiledFunction
from graphjit.tensor import Tensor

if TYPE_CHECKING:
    import onnx

__all__ = [
    "export",
    "load",
    "OnnxGraph",
    "Limits",
    "OnnxConversionError",
    "UnsupportedOpError",
    "unmapped_ops",
    "supported_onnx_ops",
]


def export(
    f: CompiledFunction | tuple[Sequence[Node], Any],
    path: str | os.PathLike[str] | None,
    opset: int | None = None,
) -> onnx.ModelProto:
    """Write ``f`` as an ONNX model to ``path`` (and return it; ``path=None`` only returns it).

    ``f`` is a :class:`~graphjit.CompiledFunction` (its inputs and outputs are written; its
    ``updates`` are not: the model is for inference) or a pair ``(inputs, outputs)`` of
    placeholders and graph nodes. Placeholders become the graph inputs, with a symbolic dim
    (``<input>_dim<axis>``) for each ``None`` dim and the name itself for named dims; variables
    become initializers named after them; outputs are named ``output_0``, ``output_1``...
    ``opset`` is the ONNX opset (18 by default; 18 up to the newest the installed onnx knows).
    An op with no ONNX mapping raises :class:`UnsupportedOpError` naming it.
    """
    if isinstance(f, CompiledFunction):
        inputs, outputs = list(f.inputs), list(f.outputs)
    elif isinstance(f, tuple) and len(f) == 2:
        inputs = [f[0]] if isinstance(f[0], Node) else list(f[0])
        outputs = [f[1]] if isinstance(f[1], Node) else list(f[1])
    else:
        raise TypeError(
            "gj.onnx.export: expected a CompiledFunction or an (inputs, outputs) pair, got "
            f"{type(f).__name__}"
        )
    for i, x in enumerate(inputs):
        if not isinstance(x, Node) or x.op.name != "placeholder":
            raise TypeError(f"gj.onnx.export: inputs[{i}] must be a gj.placeholder, got {x!r}")
    for i, o in enumerate(outputs):
        if not isinstance(o, Node):
            raise TypeError(f"gj.onnx.export: outputs[{i}] must be a graph node, got {o!r}")
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"gj.onnx.export: path must be a str, a path or None, got {path!r}")
    model = to_model(inputs, outputs, opset)
    if path is not None:
        write_file(os.fspath(path), model.SerializeToString(), "gj.onnx.export")
    return model


class OnnxGraph(NamedTuple):
    """An ONNX model read into graphjit: ``inputs, outputs, parameters = gj.onnx.load(path)``.

    ``inputs`` are placeholders (named as the model's inputs, ``None`` for symbolic dims),
    ``outputs`` graph nodes (in the model's order), ``parameters`` the float initializers as
    eager tensors with ``requires_grad=True`` (name -> tensor): the graph reads them as
    variables sharing their storage, so ``gj.optim.SGD(parameters.values(), lr)`` and
    ``opt.updates(loss)`` train the model, and a compiled step updates them in place.
    """

    inputs: list[Node]
    outputs: list[Node]
    parameters: dict[str, Tensor]

    @property
    def variables(self) -> dict[str, Variable]:
        """The graph variables behind ``parameters`` (name -> variable)."""
        result = {}
        for name, p in self.parameters.items():
            node = as_node(p)
            assert isinstance(node, Variable)
            result[name] = node
        return result

    def compile(self, updates: Any = None, backend: str = "cpu") -> CompiledFunction:
        """``gj.compile(inputs, outputs, updates, backend)``: numba kernels by default."""
        return CompiledFunction(self.inputs, self.outputs, updates=updates, backend=backend)


def load(
    path_or_model: str | os.PathLike[str] | bytes | Any, limits: Limits | None = None
) -> OnnxGraph:
    """Read an ONNX model (a path, the serialized bytes, or an ``onnx.ModelProto``) into a graph.

    Returns an :class:`OnnxGraph` ``(inputs, outputs, parameters)``; ``.compile()`` makes a
    :class:`~graphjit.CompiledFunction` of it. Supported ONNX ops are those in
    :func:`supported_onnx_ops`; any other op, a control-flow subgraph, a non-standard domain,
    an opset before 13 or newer than the installed onnx knows, external data files, attributes
    of the wrong type, initializers whose data does not fill their dims, a graph without outputs
    or breaking single assignment (a value produced twice, or read before any node produces it:
    missing, or a cycle), or shapes or node counts past ``limits`` raise
    :class:`OnnxConversionError` (:class:`UnsupportedOpError` for ops) naming the node or value.
    Nothing in the file is evaluated as code.
    """
    onnx = import_onnx()
    limits = limits or Limits()
    if isinstance(path_or_model, (str, os.PathLike)):
        path = os.fspath(path_or_model)
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            raise FileNotFoundError(f"gj.onnx.load: no file {path!r}") from None
        except IsADirectoryError:
            raise IsADirectoryError(f"gj.onnx.load: {path!r} is a directory, not a model") from None
    elif isinstance(path_or_model, (bytes, bytearray)):
        data = bytes(path_or_model)
    elif isinstance(path_or_model, onnx.ModelProto):
        data = path_or_model.SerializeToString()
    else:
        raise TypeError(
            "gj.onnx.load: expected a path, bytes or an onnx.ModelProto, got "
            f"{type(path_or_model).__name__}"
        )
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception as exc:  # protobuf's DecodeError (also for nesting past its depth limit)
        raise OnnxConversionError(f"gj.onnx.load: not a readable ONNX model: {exc}") from None
    if not model.HasField("graph"):
        raise OnnxConversionError("gj.onnx.load: the file holds no ONNX graph")
    inputs, outputs, parameters = build_graph(model, limits)
    return OnnxGraph(inputs, outputs, parameters)


def supported_onnx_ops() -> list[str]:
    """The ONNX op types ``gj.onnx.load`` reads."""
    return sorted(IMPORTERS)
