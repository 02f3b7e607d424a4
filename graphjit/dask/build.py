"""A plan's steps as one Dask task graph, its results as lazy Dask arrays.

The graph holds each program once and each small value once (a variable's value at the time of
the call, a small argument, a row count), as literal keys that tasks name: Dask sends each to a
worker once, not once per chunk. A chunk pass is one task per chunk; each contraction's partial
values are combined by a tree of ``combine`` tasks (``split_every`` at a time); a stage is one
task. Nothing is computed here.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from graphjit.ir import Node
from graphjit.ops.leaves import PLACEHOLDER, VARIABLE, Variable, constant_value

from .plan import ChunkPass, Plan, Stage
from .tasks import as_array, combine, run_program

SPLIT_EVERY = 8  # partial values combined per task of a tree reduction

Key = Any


def build_outputs(plan: Plan, args: Sequence[Any], token: str) -> list[Any]:
    """The plan's results as Dask arrays. ``args`` are the call's arguments, chunked ones
    already aligned (same row chunks, one chunk across every other axis)."""
    import dask.array as da  # noqa: PLC0415 - optional dependency
    from dask.highlevelgraph import HighLevelGraph  # noqa: PLC0415 - optional dependency

    roles = plan.roles
    chunked = [args[i] for i in plan.chunked]
    row_chunks: tuple[int, ...] = chunked[0].chunks[0]
    n_chunks = len(row_chunks)
    rows = sum(row_chunks)
    name = f"graphjit-{token}"
    layer: dict[Key, Any] = {}
    source: dict[Node, Key] = {}  # where each small value is: a key of the graph

    def literal(value: Any, label: str) -> Key:
        key = f"{name}-{label}"
        layer[key] = value
        return key

    arg_of = {id(ph): i for i, ph in enumerate(plan.placeholders)}
    for n, role in roles.axis.items():
        if role is not None or n.inputs:
            continue
        if n.op is VARIABLE:
            assert isinstance(n, Variable)
            source[n] = literal(n.get_value(), f"var{len(source)}")
        elif n.op is PLACEHOLDER:
            source[n] = literal(np.asarray(args[arg_of[id(n)]], dtype=n.dtype), f"arg{len(source)}")
    for n, (factor, counts_rows) in roles.sizes.items():
        value = np.asarray(factor * (rows if counts_rows else 1), dtype=n.dtype)
        source[n] = literal(value, f"size{len(source)}")

    chunk_outputs: dict[Node, list[Key]] = {}
    for step in plan.steps:
        prog = literal(step.program, f"program{step.index}-{type(step).__name__.lower()}")
        feeds = [source[f] for f in step.feeds]
        if isinstance(step, Stage):
            key = (f"{name}-stage", step.index)
            layer[key] = (run_program, prog, *feeds)
            for j, out in enumerate(step.outputs):
                source[out] = (f"{name}-stage{step.index}", j)
                layer[source[out]] = (operator.getitem, key, j)
            continue
        _chunk_pass(layer, name, step, prog, feeds, chunked_keys(args, step), n_chunks)
        for j, out in enumerate(step.outputs):
            parts = [
                (operator.getitem, (f"{name}-pass{step.index}", i), j) for i in range(n_chunks)
            ]
            if out in roles.contractions:
                source[out] = _tree_reduce(
                    layer, f"{name}-combine{step.index}-{j}", parts, roles.contractions[out].combine
                )
            else:
                chunk_outputs[out] = parts

    dependencies = [a for a in args if hasattr(a, "__dask_graph__")]
    arrays = []
    for j, r in enumerate(plan.results):
        out_name = f"{name}-out{j}"
        axis = roles.axis[r]
        if axis is None:
            if r not in source:  # a constant result
                source[r] = literal(constant_value(r), f"const{j}")
            keys: dict[Key, Any] = {(out_name, *([0] * r.ndim)): (as_array, source[r], r.dtype)}
            chunks: tuple[tuple[int, ...], ...] = tuple((int(d),) for d in r.shape)  # type: ignore[arg-type]
        else:
            keys = {}
            for i, task in enumerate(chunk_outputs[r]):
                index = [0] * r.ndim
                index[axis] = i
                keys[tuple([out_name, *index])] = task
            chunks = tuple(row_chunks if k == axis else (int(d),) for k, d in enumerate(r.shape))  # type: ignore[arg-type]
        graph = HighLevelGraph.from_collections(
            out_name, {**layer, **keys}, dependencies=dependencies
        )
        arrays.append(da.Array(graph, out_name, chunks, dtype=r.dtype))
    return arrays


def chunked_keys(args: Sequence[Any], step: ChunkPass) -> list[list[Key]]:
    """Per chunked input the step reads: the key of each of its chunks."""
    out = []
    for i in step.chunked:
        a = args[i]
        out.append([(a.name, k, *([0] * (a.ndim - 1))) for k in range(len(a.chunks[0]))])
    return out


def _chunk_pass(
    layer: dict[Key, Any],
    name: str,
    step: ChunkPass,
    prog: Key,
    feeds: list[Key],
    inputs: list[list[Key]],
    n_chunks: int,
) -> None:
    for i in range(n_chunks):
        layer[(f"{name}-pass{step.index}", i)] = (
            run_program,
            prog,
            *[keys[i] for keys in inputs],
            *feeds,
        )


def _tree_reduce(layer: dict[Key, Any], prefix: str, parts: list[Any], how: str) -> Key:
    level = 0
    while True:
        groups = [parts[i : i + SPLIT_EVERY] for i in range(0, len(parts), SPLIT_EVERY)]
        keys = []
        for g, group in enumerate(groups):
            key = (f"{prefix}-l{level}", g)
            layer[key] = (combine, how, list(group))
            keys.append(key)
        if len(keys) == 1:
            return keys[0]
        parts, level = keys, level + 1
