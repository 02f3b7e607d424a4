"""What the ONNX exporter and importer share: the lazy import of ``onnx``, dtypes, errors, limits.

``onnx`` is an optional dependency (``pip install graphjit[onnx]``): nothing here imports it at
module level, so ``import graphjit`` never needs it.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

__all__ = [
    "OnnxConversionError",
    "UnsupportedOpError",
    "import_onnx",
    "onnx_dtype",
    "numpy_dtype_of",
    "MIN_EXPORT_OPSET",
    "DEFAULT_OPSET",
]

# ScatterElements/ScatterND with reduction="add" (the gradients of gathers) need opset 16;
# 18 makes every Reduce* op take its axes as an input, the form written here.
MIN_EXPORT_OPSET = 18
DEFAULT_OPSET = 18


class OnnxConversionError(ValueError):
    """A graph that cannot be written as ONNX, or an ONNX model that graphjit will not read
    (bad attributes, absurd shapes, nesting, external data); the message names the node."""


class UnsupportedOpError(OnnxConversionError, NotImplementedError):
    """An op with no mapping (a graphjit op on export, an ONNX op type on import)."""


def import_onnx() -> ModuleType:
    """The ``onnx`` package, or an ImportError saying how to install it."""
    try:
        import onnx  # noqa: PLC0415 - optional dependency, imported on first use
    except ImportError as exc:
        raise ImportError(
            "gj.onnx needs the onnx package: pip install 'graphjit[onnx]' (or pip install onnx)"
        ) from exc
    return onnx


# graphjit's dtypes and the TensorProto element types (onnx.TensorProto.DOUBLE is 11, ...)
_TO_ONNX = {
    "float64": 11, "float32": 1, "int64": 7, "int32": 6, "int16": 5, "int8": 3, "uint8": 2,
    "bool": 9,
}  # fmt: skip
_FROM_ONNX = {code: name for name, code in _TO_ONNX.items()}


def onnx_dtype(dtype: str) -> int:
    """The TensorProto element type of a graphjit dtype."""
    return _TO_ONNX[dtype]


def numpy_dtype_of(code: int, where: str) -> np.dtype:
    """The numpy dtype of a TensorProto element type graphjit supports, or a clear error."""
    if code not in _FROM_ONNX:
        onnx = import_onnx()
        try:
            name = onnx.TensorProto.DataType.Name(code)
        except ValueError:
            name = f"element type {code}"
        raise OnnxConversionError(
            f"gj.onnx.load: {where}: graphjit supports the element types float64, float32, "
            f"int64, int32, int16, int8, uint8 and bool; this is {name}"
        )
    return np.dtype(_FROM_ONNX[code])
