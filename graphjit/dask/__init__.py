"""Compiled functions on Dask arrays: map-reduce over chunks of rows, on any Dask scheduler.

A function compiled with ``gj.compile`` and called with Dask arrays chunked along their first
(batch) axis returns lazy Dask arrays. Its graph (the optimised one the function runs) is split:

* row-wise work runs chunk by chunk, as programs compiled with ``gj.compile`` (the function's
  backend: "cpu" numba kernels, or "numpy") on the workers, once per worker process;
* every node reducing over the batch axis (sum, mean, max, min, logsumexp over it; matmul or
  einsum contracting it, as the gradient's ``x.T @ dy``) is computed per chunk and combined by a
  tree reduction (``mean`` divides by the total row count; logsumexp combines stably);
* what follows runs once, on the small combined values (the reference interpreter).

Outputs that keep the batch axis have the input's row chunks; reduced outputs are one chunk.
A node that cannot be split so (a softmax over the batch axis, a slice of rows) raises
:class:`NotSplittableError` naming it. Arguments that are numpy arrays are small values, the same
for every chunk. Variables are read when the function is called: the lazy outputs hold that
snapshot, sent to each worker once.

**Updates.** A function with ``updates`` called with Dask arrays raises TypeError: its updates
need the computed values. :func:`step` runs it: the outputs and new variable values are
computed by Dask (on the cluster of the active ``dask.distributed.Client``, else the default
scheduler), then the updates are written on the client, and the outputs come back as numpy
arrays. Each step sends the variables' current values to the workers once.

Dask itself is imported only when a call builds a task graph (``pip install graphjit[dask]``).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from graphjit.dtypes import reject_masked
from graphjit.runtime import CompiledFunction, coerce_argument

from .build import build_outputs
from .plan import ArgSpec, Plan, make_plan
from .split import NotSplittableError
from .tasks import compile_count

__all__ = ["NotSplittableError", "step", "compile_count", "CALLER"]

_plans: weakref.WeakKeyDictionary[CompiledFunction, dict[tuple, Plan]] = weakref.WeakKeyDictionary()


def is_dask_array(a: Any) -> bool:
    """A Dask collection with chunks (checked without importing Dask). Looked up on the type:
    a Delayed answers every attribute asked of it, ``chunks`` too."""
    return callable(getattr(type(a), "__dask_graph__", None)) and hasattr(type(a), "chunks")


class DaskCaller:
    """Runs compiled functions called with Dask arrays (registered with the runtime)."""

    def handles(self, args: Sequence[Any]) -> bool:
        return any(callable(getattr(a, "__dask_graph__", None)) for a in args)

    def __call__(self, fn: CompiledFunction, args: Sequence[Any]) -> list[Any]:
        if fn.updates:
            names = ", ".join(repr(var.name) for var, _ in fn.updates)
            raise TypeError(
                f"{fn!r} updates variable(s) {names}, and updates need the computed values, so "
                "it cannot return lazy Dask arrays: run a training step with "
                "gj.dask.step(f, *dask_arrays) (computes, applies the updates, returns numpy "
                "arrays), or compile a function without updates for lazy outputs"
            )
        return _lazy_results(fn, args, with_updates=False)


CALLER = DaskCaller()


def step(fn: CompiledFunction, *args: Any, scheduler: Any = None) -> Any:
    """One call of ``fn`` over Dask arrays, computed by Dask, with its updates applied here.

    Returns the outputs as numpy arrays (one array when ``fn`` returns one). ``scheduler`` is
    passed to ``dask.compute`` (default: the active distributed Client, else Dask's default).
    The variables' values are read once at the start of the step; a compiled call updating the
    same variables in another thread during the step is overwritten by the step's update."""
    import dask  # noqa: PLC0415 - optional dependency

    if not isinstance(fn, CompiledFunction):
        raise TypeError(f"gj.dask.step: expected a compiled function, got {type(fn).__name__}")
    lazy = _lazy_results(fn, args, with_updates=True)
    kwargs = {} if scheduler is None else {"scheduler": scheduler}
    values = [np.asarray(v) for v in dask.compute(*lazy, **kwargs)]
    n_out = len(fn.outputs)
    fn.write_updates(values[n_out:])
    outs = values[:n_out]
    return outs[0] if fn.returns_single else outs


def _lazy_results(fn: CompiledFunction, args: Sequence[Any], with_updates: bool) -> list[Any]:
    from dask.base import tokenize  # noqa: PLC0415 - optional dependency

    prepared, specs = _prepare(fn, args)
    results = list(fn.graph) if with_updates else list(fn.graph[: len(fn.outputs)])
    key = (with_updates, tuple(specs))
    plans = _plans.setdefault(fn, {})
    plan = plans.get(key)
    if plan is None:
        backend = fn.backend if fn.backend in ("numpy", "cpu") else "cpu"
        plan = make_plan(fn.inputs, results, specs, backend)
        plans[key] = plan
    small = [a for i, a in enumerate(prepared) if i not in plan.chunked]
    values = [v.get_value(copy=False) for v in fn.program.variables]
    token = tokenize(
        [s.program.digest for s in plan.steps],
        [(prepared[i].name, prepared[i].chunks) for i in plan.chunked],
        small,
        values,
    )
    return build_outputs(plan, prepared, token)


def _prepare(fn: CompiledFunction, args: Sequence[Any]) -> tuple[list[Any], list[ArgSpec]]:
    """The arguments checked against the placeholders, Dask arrays aligned on one set of row
    chunks (one chunk across every other axis), and what a plan depends on about them."""
    if len(args) != len(fn.inputs):
        names = ", ".join(repr(x.name) for x in fn.inputs)
        raise TypeError(f"expected {len(fn.inputs)} argument(s) ({names}), got {len(args)}")
    prepared: list[Any] = []
    specs: list[ArgSpec] = []
    named: dict[str, tuple[int, str]] = {}
    rows: tuple[int, ...] | None = None
    for ph, a in zip(fn.inputs, args):
        if callable(getattr(a, "__dask_graph__", None)) and not is_dask_array(a):
            raise TypeError(
                f"input {ph.name!r}: a Dask {type(a).__name__} is not a Dask array; graphjit "
                "splits Dask arrays into chunks of rows (make one, e.g. with "
                "dask.array.from_delayed, or compute the value first)"
            )
        if not is_dask_array(a):
            arr = coerce_argument(ph, a, named)
            prepared.append(arr)
            specs.append(ArgSpec(False, arr.shape, arr.dtype.name))
            continue
        a = _check_dask_argument(ph, a)
        if rows is None:
            rows = a.chunks[0]
        elif sum(a.chunks[0]) != sum(rows):
            raise ValueError(
                f"input {ph.name!r}: has {sum(a.chunks[0])} rows, the Dask arguments before it "
                f"have {sum(rows)}; every Dask argument is split into the same rows"
            )
        want = {0: rows, **{k: -1 for k in range(1, a.ndim)}}
        if a.chunks[0] != rows or any(len(c) != 1 for c in a.chunks[1:]):
            a = a.rechunk(want)
        prepared.append(a)
        specs.append(ArgSpec(True, tuple(int(d) for d in a.shape[1:]), a.dtype.name))
    if rows is None:
        raise TypeError(
            "none of the arguments is a Dask array: gj.dask.step splits Dask arrays into chunks "
            "of rows; call the compiled function directly with numpy arrays"
        )
    return prepared, specs


def _check_dask_argument(ph: Any, a: Any) -> Any:
    name = ph.name
    # a masked Dask array computes to masked chunks, which would be read without their masks
    reject_masked(getattr(a, "_meta", None), f"input {name!r} (a masked Dask array): ")
    if a.ndim == 0 or a.ndim != ph.ndim:
        raise ValueError(
            f"input {name!r}: a Dask array of shape {a.shape} for a placeholder of {ph.ndim} dims "
            f"{ph.shape}; Dask arguments are split along their first (batch) axis"
        )
    if any(math.isnan(c) for axis in a.chunks for c in axis):
        raise ValueError(
            f"input {name!r}: a Dask array with unknown chunk sizes; call "
            ".compute_chunk_sizes() on it first"
        )
    if isinstance(ph.shape[0], int):
        raise ValueError(
            f"input {name!r}: its placeholder fixes the first dim to {ph.shape[0]}, but a Dask "
            "argument is split into chunks of rows along it; declare that dim None"
        )
    for axis, (d, n) in enumerate(zip(ph.shape, a.shape)):
        if axis and isinstance(d, int) and d != n:
            raise ValueError(
                f"input {name!r}: expected shape {ph.shape}, got {a.shape} (axis {axis} must "
                f"be {d})"
            )
    if a.dtype != np.dtype(ph.dtype):
        if not np.can_cast(a.dtype, ph.dtype, casting="safe"):
            raise TypeError(
                f"input {name!r}: expected dtype {ph.dtype}, got {a.dtype} (which does not cast "
                f"safely); convert it with .astype({ph.dtype!r})"
            )
        a = a.astype(ph.dtype)
    return a
