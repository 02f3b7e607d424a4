"""The numba CUDA backend: one generated module per graph, with ``@cuda.jit`` kernels and a host
``program`` that launches them.

Fused elementwise groups are grid-stride kernels over a flat index; reductions are block tree
reductions with their producers fused in (``nests``); views, joins, gathers and matmul have
per-op lowerings (``lowerings``); ``device`` moves arrays and owns the buffers. The module is
written to the disk cache like the CPU backend's (its source names the device's compute
capability, so the cache key does too).

This package is the emitter only: ``program`` (the module), ``nests`` (loop nests),
``lowerings`` (per-op lowerings: views, joins, matmul, gathers), ``row_lowerings`` (softmax,
logsumexp, the arg-extrema), ``scan_lowerings`` (scans, argsort, searchsorted),
``scatter_lowerings`` (scatter-adds, diagonals, einsum), ``writer`` (the state they share) and
``device`` (the executable).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphjit import cache
from graphjit.codegen.cuda.device import CudaExecutable
from graphjit.codegen.cuda.program import Generated, generate, missing_lowerings
from graphjit.codegen.updates import read_stores
from graphjit.cuda_compat import cuda_problem, import_numba_cuda, simulator_enabled
from graphjit.ops.leaves import constant_value

# Ops without a CUDA lowering (none today): compiling a graph that contains one raises
# NotImplementedError naming the op (the README would list them; tests pin this list).
NOT_LOWERED: tuple[str, ...] = ()


def require_device() -> Any:
    """``numba.cuda``, or RuntimeError saying what is missing (the extra, or a GPU)."""
    problem = cuda_problem()
    if problem is not None:
        raise RuntimeError(f"backend 'cuda' cannot run here: {problem}")
    return import_numba_cuda()


def target_name() -> str:
    """The device kernels are compiled for: ``"sm_90"`` (compute capability 9.0), or the
    simulator."""
    if simulator_enabled():
        return "simulator"
    cc = require_device().get_current_device().compute_capability
    return f"sm_{cc[0]}{cc[1]}"


def compile_program(program: Any) -> CudaExecutable:
    require_device()
    source, constants = generate(program, target_name())
    module = cache.load_module(source)
    arrays = [np.array(constant_value(c)) for c in constants]
    n_updates = int(getattr(program, "n_updates", 0))
    stores = read_stores(module, program)
    return CudaExecutable(source, module.program, arrays, n_updates, stores)


__all__ = [
    "NOT_LOWERED",
    "CudaExecutable",
    "Generated",
    "compile_program",
    "generate",
    "missing_lowerings",
    "require_device",
    "target_name",
]
