"""A compiled function's call arguments, checked against its placeholders (count, dtype, rank,
fixed and named dims) with errors that name the input, and converted: host values to arrays of
the placeholder's dtype, device arrays taken as they are by a backend running on a GPU.

:func:`fast_specs` is what the common case is checked against without building anything (the
arrays are already of the exact dtype, rank and fixed dims); :func:`bind_arguments` does the
rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from graphjit import ir
from graphjit.dtypes import reject_masked
from graphjit.errors import IntegerOutOfRangeError
from graphjit.guards import InputSpec
from graphjit.ir import Node
from graphjit.ops.dispatch import is_tensor


def fast_specs(inputs: Sequence[Node]) -> tuple[InputSpec, ...] | None:
    """Per input: (dtype, ndim, fixed dims) for the fast argument check; None when an input
    has named dims (those need the cross-input check in ``bind_arguments``)."""
    specs = []
    for ph in inputs:
        if any(isinstance(d, str) for d in ph.shape):
            return None
        fixed = tuple((i, d) for i, d in enumerate(ph.shape) if isinstance(d, int))
        specs.append((np.dtype(ph.dtype), ph.ndim, fixed))
    return tuple(specs)


def bind_arguments(
    inputs: Sequence[Node], args: Sequence[Any], device_arrays: bool, backend: str
) -> list[np.ndarray]:
    """Arguments as arrays of the placeholders' dtypes, or TypeError/ValueError naming one
    (``device_arrays``: the backend takes device arrays as they are)."""
    if len(args) != len(inputs):
        names = ", ".join(repr(x.name) for x in inputs)
        raise TypeError(f"expected {len(inputs)} argument(s) ({names}), got {len(args)}")
    arrays = []
    named: dict[str, tuple[int, str]] = {}
    for ph, a in zip(inputs, args):
        if is_tensor(a) and a.is_cuda:  # an eager tensor on the GPU: its device array
            if not device_arrays:
                raise TypeError(
                    f"input {ph.name!r}: a tensor on cuda:0 given to a function compiled for "
                    f"the {backend} backend; pass it .cpu(), or compile with "
                    "backend='cuda'"
                )
            a = a.detach()._data
        if device_arrays and _on_device(a):
            arrays.append(check_device_argument(ph, a, named))
        else:
            arrays.append(coerce_argument(ph, a, named))
    return arrays


def _on_device(a: Any) -> bool:
    """A GPU array (CuPy, numba, torch on CUDA, DLPack producers), not a host array."""
    if isinstance(a, np.ndarray):
        return False
    if hasattr(a, "__cuda_array_interface__") or hasattr(a, "copy_to_host"):
        return True  # copy_to_host: numba's device arrays (the simulator's have no interface)
    return hasattr(a, "__dlpack__") and not hasattr(a, "numpy")


def check_device_argument(ph: Node, a: Any, named: dict[str, tuple[int, str]]) -> Any:
    """A device array argument checked against its placeholder (dtype, rank, dims), unchanged:
    it is not copied and its dtype is not converted."""
    name = ph.name
    dtype = np.dtype(getattr(a, "dtype", "V"))
    if dtype != np.dtype(ph.dtype):
        raise TypeError(
            f"input {name!r}: expected dtype {ph.dtype}, got a device array of {dtype} (device "
            f"arrays are not converted); convert it with .astype({ph.dtype!r})"
        )
    _check_dims(ph, tuple(a.shape), named)
    return a


def _check_dims(ph: Node, shape: tuple[int, ...], named: dict[str, tuple[int, str]]) -> None:
    name = ph.name
    if len(shape) != ph.ndim:
        raise ValueError(
            f"input {name!r}: expected {ph.ndim} dims with shape {ir.format_shape(ph.shape)}, got "
            f"shape {shape}"
        )
    for axis, (d, n) in enumerate(zip(ph.shape, shape)):
        if isinstance(d, int) and d != n:
            raise ValueError(
                f"input {name!r}: expected shape {ir.format_shape(ph.shape)}, got {shape} "
                f"(axis {axis} must be {d})"
            )
        if isinstance(d, str):
            if d in named and named[d][0] != n:
                raise ValueError(
                    f"input {name!r}: dim {d!r} is {n} on axis {axis}, but {named[d][1]} gave "
                    f"{d!r} = {named[d][0]}"
                )
            named.setdefault(d, (n, f"input {name!r}"))


def coerce_argument(ph: Node, a: Any, named: dict[str, tuple[int, str]]) -> np.ndarray:
    """One call argument as an array of the placeholder's type, checked against its dims."""
    name = ph.name
    want = ph.dtype
    if isinstance(a, Node):
        raise TypeError(f"input {name!r}: got a graph node; compiled functions take arrays")
    reject_masked(a, f"input {name!r}: ")
    if is_tensor(a):
        a = a.numpy()  # an eager tensor: its own array
    elif not isinstance(a, np.ndarray) and hasattr(a, "__dlpack__") and not hasattr(a, "__array__"):
        try:
            a = np.from_dlpack(a)  # another library's CPU array, shared without a copy
        except (BufferError, RuntimeError, TypeError) as exc:
            raise TypeError(
                f"input {name!r}: cannot read this {type(a).__name__} through DLPack ({exc}); "
                "copy it to a numpy array first"
            ) from exc
    if isinstance(a, (bool, int, float)) and not isinstance(a, np.generic):
        kind = {bool: "b", int: "i", float: "f"}[type(a)]
        if (np.dtype(want).kind == "b" and kind != "b") or (
            np.dtype(want).kind == "i" and kind == "f"
        ):
            raise TypeError(f"input {name!r}: expected {want}, got python {type(a).__name__}")
        try:
            arr = np.asarray(a, dtype=want)
        except OverflowError:
            raise IntegerOutOfRangeError(
                f"input {name!r}: the python int {a} does not fit in {want}, the input's dtype"
            ) from None
    else:
        try:
            arr = np.asarray(a)
        except Exception as exc:
            raise TypeError(
                f"input {name!r}: cannot convert {type(a).__name__} to an array"
            ) from exc
        if arr.dtype != want:
            if arr.dtype == object or not np.can_cast(arr.dtype, want, casting="safe"):
                raise TypeError(
                    f"input {name!r}: expected dtype {want}, got {arr.dtype} (which does not cast "
                    f"safely); convert it with .astype({want!r})"
                )
            arr = arr.astype(want)
    _check_dims(ph, arr.shape, named)
    return arr
