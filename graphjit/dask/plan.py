"""A compiled function's graph as chunk programs and stage programs (see :mod:`.split`).

:func:`make_plan` specialises the graph to the arguments' shapes (every dim known except the
rows of chunked inputs), assigns roles, and cuts it into steps run in order:

* a :class:`Stage` computes the small values that become known after ``k`` reductions, once;
* a :class:`ChunkPass` runs one program per chunk: the partial values of the contractions of
  that pass and the row-wise results.

Each step's graph is a subgraph of the function's optimised graph in which the small values it
reads (variables, small arguments, combined contractions, stage outputs) became placeholders, so
a step's program never holds a variable's value and is compiled once per structure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from graphjit import ir
from graphjit.ir import Node
from graphjit.ops.leaves import CONSTANT, placeholder
from graphjit.serialize import EncodedGraph, encode_graph, structural_digest

from .split import Roles, assign_roles

__all__ = ["ArgSpec", "ChunkPass", "Plan", "Program", "Stage", "make_plan"]


@dataclass(frozen=True, eq=False)
class Program:
    """A graph to compile where it runs: its encoding (plain data), how many of its roots are
    inputs (the rest are outputs), the backend, and a structural digest that keys the compiled
    programs a process keeps."""

    encoded: EncodedGraph
    n_inputs: int
    backend: str
    digest: str


def make_program(inputs: Sequence[Node], outputs: Sequence[Node], backend: str) -> Program:
    roots = [*inputs, *outputs]
    digest = f"{backend}-{structural_digest(roots)}"
    return Program(encode_graph(roots), len(inputs), backend, digest)


@dataclass(frozen=True)
class ChunkPass:
    """One program per chunk: inputs are the chunks of the arguments ``chunked`` (positions in
    the call), then the small values ``feeds``; outputs are ``outputs`` (nodes of the plan's
    graph: contraction partials, then row-wise results)."""

    index: int
    program: Program
    chunked: tuple[int, ...]
    feeds: tuple[Node, ...]
    outputs: tuple[Node, ...]


@dataclass(frozen=True)
class Stage:
    """A program run once on small values ``feeds``, computing the small ``outputs``."""

    index: int
    program: Program
    feeds: tuple[Node, ...]
    outputs: tuple[Node, ...]


class ArgSpec(NamedTuple):
    """What a plan depends on about one argument: chunked or not, shape (rows left out when
    chunked), dtype."""

    chunked: bool
    shape: tuple[int, ...]
    dtype: str


@dataclass(frozen=True)
class Plan:
    placeholders: tuple[Node, ...]  # one per argument, specialised to its shape
    chunked: tuple[int, ...]  # the positions of chunked arguments
    results: tuple[Node, ...]  # the function's results on the specialised placeholders
    roles: Roles
    steps: tuple[Stage | ChunkPass, ...]


def _specialise(fn_inputs: Sequence[Node], specs: Sequence[ArgSpec]) -> list[Node]:
    out = []
    for ph, spec in zip(fn_inputs, specs):
        shape: tuple[int | None, ...] = (None, *spec.shape) if spec.chunked else spec.shape
        out.append(placeholder(ph.name or "x", shape=shape, dtype=ph.dtype))
    return out


def _feed_placeholder(node: Node, i: int) -> Node:
    name = node.name if node.name and not node.inputs else f"small{i}"
    return placeholder(name, shape=node.shape, dtype=node.dtype)


def _chunk_pass(
    plan_results: Sequence[Node], roles: Roles, p: int, args: Sequence[Node], backend: str
) -> ChunkPass | None:
    """The chunk program of pass ``p``: contraction partials and row-wise results of the pass,
    reading the small values at its boundary as placeholders (None when the pass is empty)."""
    axis = roles.axis
    outs = [c for c in roles.contractions if roles.pass_of[c] == p]
    outs += [
        r for r in dict.fromkeys(plan_results) if axis[r] is not None and roles.pass_of[r] == p
    ]
    if not outs:
        return None
    inside: set[Node] = set()
    boundary: set[Node] = set()
    stack = list(outs)
    while stack:
        n = stack.pop()
        if n in inside:
            continue
        inside.add(n)
        for x in n.inputs:
            if axis[x] is not None:
                stack.append(x)
            elif x.op is not CONSTANT:
                boundary.add(x)
    feeds = [x for x in ir.toposort(outs) if x in boundary]
    mapping = {x: _feed_placeholder(x, i) for i, x in enumerate(feeds)}
    new_outs = ir.graph_replace(outs, mapping)
    used = {id(x) for x in ir.leaves(new_outs, "placeholder")}
    chunked = tuple(i for i, ph in enumerate(args) if axis[ph] is not None and id(ph) in used)
    feeds = [x for x in feeds if id(mapping[x]) in used]
    inputs = [args[i] for i in chunked] + [mapping[x] for x in feeds]
    program = make_program(inputs, new_outs, backend)
    return ChunkPass(p, program, chunked, tuple(feeds), tuple(outs))


def make_plan(
    fn_inputs: Sequence[Node],
    results: Sequence[Node],
    specs: Sequence[ArgSpec],
    chunk_backend: str,
    rows_known: bool = True,
) -> Plan:
    """Cut the graph of ``results`` (over ``fn_inputs``) into stages and chunk passes for
    arguments described by ``specs``. Raises NotSplittableError naming a node that cannot run
    chunk by chunk."""
    args = _specialise(fn_inputs, specs)
    new_results = ir.graph_replace(results, dict(zip(fn_inputs, args)))
    chunked_args = [ph for ph, s in zip(args, specs) if s.chunked]
    roles = assign_roles(new_results, chunked_args, rows_known)
    axis = roles.axis
    n_passes = 1 + max((roles.pass_of[n] for n in roles.pass_of if n.inputs), default=-1)

    passes = {}
    for p in range(n_passes):
        made = _chunk_pass(new_results, roles, p, args, chunk_backend)
        if made is not None:
            passes[p] = made

    # small values some step reads, or results: each computed by the stage after which it is known
    needed = [f for cp in passes.values() for f in cp.feeds]
    needed += [r for r in new_results if axis[r] is None]
    direct = {
        n
        for n in axis
        if axis[n] is None and (not n.inputs or n in roles.sizes or n in roles.contractions)
    }
    stage_outs: dict[int, list[Node]] = {}
    for n in dict.fromkeys(needed):
        if n not in direct:
            stage_outs.setdefault(roles.known_after[n], []).append(n)

    steps: list[Stage | ChunkPass] = []
    for k in range(n_passes + 1):
        if k in stage_outs:
            steps.append(_stage(k, stage_outs[k], direct))
        if k in passes:
            steps.append(passes[k])
    return Plan(
        tuple(args),
        tuple(i for i, s in enumerate(specs) if s.chunked),
        tuple(new_results),
        roles,
        tuple(steps),
    )


def _stage(k: int, outs: list[Node], direct: set[Node]) -> Stage:
    # the direct values the outputs read, found without walking under a contraction
    feeds: list[Node] = []
    seen: set[Node] = set()
    stack = list(outs)
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        if n in direct:
            if n.op is not CONSTANT:
                feeds.append(n)
            continue
        stack.extend(n.inputs)
    order = {id(n): i for i, n in enumerate(ir.toposort(outs))}
    feeds.sort(key=lambda n: order[id(n)])
    mapping = {x: _feed_placeholder(x, i) for i, x in enumerate(feeds)}
    new_outs = ir.graph_replace(outs, mapping)
    program = make_program([mapping[x] for x in feeds], new_outs, "numpy")
    return Stage(k, program, tuple(feeds), tuple(outs))
