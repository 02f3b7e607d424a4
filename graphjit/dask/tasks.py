"""What Dask runs on the workers: programs compiled once per process, and the combine steps of
the tree reductions. Imports nothing from Dask; every function here is a plain module-level
function, so tasks pickle by reference.

A worker receives a :class:`~graphjit.dask.plan.Program` as plain data, rebuilds its graph
through the op registry and compiles it with ``gj.compile`` the first time it meets its digest
(numba then loads the kernels from this machine's graphjit cache when another process compiled
them before); later tasks of any step reuse the compiled function.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from graphjit.runtime import CompiledFunction, compile
from graphjit.serialize import decode_graph

from .plan import Program

__all__ = ["run_program", "combine", "compile_count", "as_array"]

_compiled: dict[str, CompiledFunction] = {}
_compiling = threading.Lock()
_compile_count = 0


def compiled(program: Program) -> CompiledFunction:
    """The program compiled in this process (once per digest, whichever thread asks first)."""
    global _compile_count
    fn = _compiled.get(program.digest)
    if fn is not None:
        return fn
    with _compiling:
        fn = _compiled.get(program.digest)
        if fn is None:
            nodes = decode_graph(program.encoded)
            inputs, outputs = nodes[: program.n_inputs], nodes[program.n_inputs :]
            fn = compile(inputs, outputs, backend=program.backend, optimize=False)
            _compiled[program.digest] = fn
            _compile_count += 1
    return fn


def compile_count() -> int:
    """How many programs this process has compiled (a test reads it on every worker)."""
    return _compile_count


def run_program(program: Program, *arrays: Any) -> tuple[np.ndarray, ...]:
    return tuple(compiled(program)(*arrays))


def as_array(value: Any, dtype: str) -> np.ndarray:
    return np.asarray(value, dtype=dtype)


def combine(how: str, parts: Sequence[np.ndarray]) -> np.ndarray:
    """Combine per-chunk values of a contraction (one level of the tree reduction)."""
    if how == "sum":
        total = np.array(parts[0], copy=True)
        for p in parts[1:]:
            total += p
        return total
    if how == "prod":
        return np.asarray(np.prod(np.stack(parts), axis=0))
    if how == "max":
        return np.asarray(np.max(np.stack(parts), axis=0))
    if how == "min":
        return np.asarray(np.min(np.stack(parts), axis=0))
    if how == "logsumexp":
        # shift by the largest partial, as logsumexp itself does; an all -inf slice stays -inf
        stacked = np.stack(parts)
        top = np.max(stacked, axis=0)
        shift = np.where(np.isfinite(top), top, 0.0)
        with np.errstate(divide="ignore"):
            out = shift + np.log(np.sum(np.exp(stacked - shift), axis=0))
        return np.asarray(out, dtype=stacked.dtype)
    raise ValueError(f"unknown way to combine partial values: {how!r}")
