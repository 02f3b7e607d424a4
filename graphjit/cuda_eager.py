"""Eager ops on tensors in GPU memory: each op runs as a one-op program of the CUDA backend.

The first call of an op with a signature (the op, its attrs, each argument's shape and dtype)
builds the graph ``op(placeholders...)`` and compiles it with ``backend="cuda"``, the same code
generator as ``gj.compile``; later calls with that signature run the cached program. Arguments
stay on the device (0-d host values, python numbers, are copied in) and results are numba device
arrays, so a chain of eager ops moves no data to the host. ``graphjit/__init__.py`` registers
:data:`RUNNER` with the eager backend (``graphjit.tensor.backend``), which never imports a backend.

The runner also finds the true elements of a boolean device array (``nonzero`` and
``masked_select``, whose result's size depends on the data) with the hand-written kernels of
``graphjit.kernels.cuda.select``: the positions are computed on the device and only their count
is read to the host.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from graphjit import ir
from graphjit.cuda_compat import as_numba_device_array, import_numba_cuda
from graphjit.ir import freeze_attr
from graphjit.ops.leaves import placeholder
from graphjit.ops.registry import OpDef
from graphjit.runtime import CompiledFunction

# compiled one-op programs, per signature; a long-running process with many shapes keeps at
# most this many (the disk cache keeps their kernels across processes)
MAX_PROGRAMS = 1024


class CudaOpRunner:
    """Runs an op on device arrays through a cached one-op CUDA program."""

    def __init__(self) -> None:
        self._programs: dict[tuple[Any, ...], CompiledFunction] = {}
        self._lock = threading.Lock()

    def __call__(self, op: OpDef, datas: tuple[Any, ...], attrs: dict[str, Any]) -> Any:
        frozen = tuple(sorted((k, freeze_attr(v)) for k, v in attrs.items()))
        shapes = tuple((tuple(d.shape), np.dtype(d.dtype)) for d in datas)
        key = (op, frozen, shapes)
        program = self._programs.get(key)
        if program is None:
            program = self._compile(op, shapes, dict(frozen))
            with self._lock:
                if len(self._programs) >= MAX_PROGRAMS:
                    self._programs.clear()
                self._programs[key] = program
        (out,) = program(*datas)
        if isinstance(out, np.ndarray):  # no device argument reached the program (0-d only)
            return import_numba_cuda().to_device(out)
        return as_numba_device_array(out)  # a CuPy result is viewed by numba

    def _compile(
        self, op: OpDef, shapes: tuple[tuple[tuple[int, ...], np.dtype], ...], attrs: dict
    ) -> CompiledFunction:
        inputs = [
            placeholder(f"x{i}", shape, dtype.name) for i, (shape, dtype) in enumerate(shapes)
        ]
        node = ir.make_node(op, inputs, attrs)
        return CompiledFunction(inputs, [node], backend="cuda", optimize=False)

    def __len__(self) -> int:
        return len(self._programs)

    @staticmethod
    def flatnonzero(mask: Any) -> Any:
        """The flat positions of the true elements of the boolean device array ``mask``, in
        increasing order, as a 1-D int64 device array."""
        return _select_kernels().flatnonzero(mask)

    @staticmethod
    def unravel(positions: Any, shape: tuple[int, ...]) -> Any:
        """The ``(n, len(shape))`` int64 device array of the coordinates of the flat
        ``positions`` (a 1-D int64 device array) in an array of ``shape``."""
        return _select_kernels().unravel(positions, shape)


def _select_kernels() -> Any:
    """``graphjit.kernels.cuda.select``, loaded on first use: it compiles CUDA kernels, and
    numba's CUDA target must be loaded (with graphjit's numpy shims) first."""
    import_numba_cuda()
    from graphjit.kernels.cuda import select  # noqa: PLC0415 - loads numba.cuda

    return select


RUNNER = CudaOpRunner()
