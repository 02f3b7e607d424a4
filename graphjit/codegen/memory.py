"""The buffer plan: which array holds each materialised value, decided before any code is written
(backend neutral).

Liveness comes from the schedule: a value is live until the last step that reads it (results live
past the end). A value that needs an array gets, in order of preference, the buffer of an input of
its own loop nest that is read at the same index and dead after the nest (an in-place store: a
kernel computes every value of an index before storing any), a dead buffer of the same dtype and
call-time shape, or a new buffer. A view keeps its base's buffer alive as long as the view is.
A backend may keep 0-d values as scalar locals instead (``scalar_locals``): a 0-d value a loop
nest computes that only loop nests read gets no array at all (see :func:`scalar_values`).
The emitter reads the plan; it never decides where a value lives.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from graphjit.codegen.partition import (
    LOOP_KINDS,
    is_constant,
    nest_inputs,
    same_space,
    value_inputs,
)
from graphjit.codegen.schedule import Step
from graphjit.codegen.symdims import DimTable
from graphjit.ir import Node

# a value's buffer is reusable for another of the same dtype and call-time shape
BufferKey = tuple[str, tuple[str, ...]]
REUSE_INPUT = "reuses the dead input's buffer"
REUSE_DEAD = "reuses a dead buffer"
IN_PLACE = "is stored into its variable"  # an update written in place (see codegen.updates)
SCALAR = "is a scalar local"  # a 0-d value no array holds (see scalar_values)


class Allocation(NamedTuple):
    """Where one value is stored: ``buffer``'s name, and why it is an older buffer (None: new)."""

    buffer: str
    reuse: str | None


@dataclass
class MemoryPlan:
    allocations: dict[Node, Allocation] = field(default_factory=dict)
    # the values whose arrays the program allocated (buffers, views of them, arrays a lowering
    # allocates itself): a result among the others aliases an argument and must be copied
    owned: set[Node] = field(default_factory=set)
    last_read: dict[Node, int] = field(default_factory=dict)  # the last step reading each value
    # the 0-d values held in scalar locals (their allocation's buffer is the local's name)
    scalars: set[Node] = field(default_factory=set)

    def read_after(self, node: Node, step: int) -> bool:
        """Whether a later step (or the results) reads ``node``'s array."""
        return self.last_read.get(node, -1) > step


def nest_reads(parts: Step) -> list[tuple[Node, list[Node]]]:
    """For each value a loop nest stores (in the order the nest's kernel stores them), the
    arrays the nest reads up to that point (first-use order): the candidates for an in-place
    store. Values computed in the nest and 0-d constants (literals) are not array reads."""
    reads: dict[Node, None] = {}
    temps: set[Node] = set()

    def read(x: Node) -> None:
        if x not in temps and not (is_constant(x) and x.ndim == 0):
            reads.setdefault(x, None)

    stores = []
    for g in parts:
        for m in g.members:
            for x in value_inputs(m):
                read(x)
            temps.add(m)
        if g.kind == "reduction":
            read(g.root.inputs[0])
        stores.append((g.root, list(reads)))
    return stores


class _Planner:
    def __init__(self, table: DimTable, plan: MemoryPlan) -> None:
        self.table = table
        self.plan = plan
        self.holders: dict[str, list[Node]] = {}  # buffer -> the values in it (views too)
        self.keys: dict[str, BufferKey] = {}
        self.buffer_of: dict[Node, str] = {}  # value or view -> the buffer under it
        self.locals: list[Node] = []  # the values held in scalar locals, in order

    def key(self, node: Node) -> BufferKey:
        return (node.dtype, self.table.space_key(node))

    def free(self, buf: str, step: int, read_now: Node | None = None) -> bool:
        for n in self.holders[buf]:
            last = self.plan.last_read.get(n, -1)
            if last > step or (last == step and n is not read_now):
                return False
        return True

    def allocate(self, node: Node, step: int, in_place: Sequence[Node] = ()) -> None:
        key = self.key(node)
        for x in in_place:
            buf = self.buffer_of.get(x)
            if (
                buf is not None
                and self.holders[buf][0] is x
                and self.keys[buf] == key
                and self.free(buf, step, x)
            ):
                return self.claim(buf, node, REUSE_INPUT)
        for buf, k in self.keys.items():
            if k == key and self.free(buf, step):
                return self.claim(buf, node, REUSE_DEAD)
        buf = f"b{len(self.holders)}"
        self.keys[buf] = key
        self.claim(buf, node, None)

    def claim(self, buf: str, node: Node, reuse: str | None) -> None:
        self.holders[buf] = [node]
        self.buffer_of[node] = buf
        self.plan.allocations[node] = Allocation(buf, reuse)
        self.plan.owned.add(node)

    def view(self, node: Node, base: Node) -> None:
        buf = self.buffer_of.get(base)
        if buf is not None:
            self.holders[buf].append(node)  # the buffer lives as long as its views
            self.buffer_of[node] = buf
        if base in self.plan.owned:
            self.plan.owned.add(node)


def scalar_values(
    steps: Sequence[Step],
    results: Sequence[Node],
    stores: Mapping[Node, str],
    folded: Mapping[Node, Sequence[Node]],
    late_stores: Collection[Node] = (),
) -> set[Node]:
    """The 0-d values that can live in scalar locals rather than arrays: computed by a loop nest
    (an elementwise chain over a 0-d space, or a reduction to 0-d), not a result nor stored into
    a variable, and read only by loop nests, which read a 0-d input once, before their loops,
    anyway. A training step has many (an optimiser's step counts and bias corrections, the
    loss's mean); as arrays, each costs an allocation per call and, where a long program is cut
    into stages, an array passed between functions, which numba compiles slowly in numbers.
    A result among ``late_stores`` qualifies too: the program stores it into its variable after
    every step (``codegen.updates``: ``late_stores``) and does not return it."""
    found: set[Node] = set()
    disqualified = (set(results) - set(late_stores)) | set(stores)
    for parts in steps:
        nest = parts[0].kind in LOOP_KINDS
        reads = nest_inputs(parts) if nest else list(parts[0].root.inputs)
        if nest and any(x in folded for x in reads):
            nest = False  # a store computing a product reads its scale as an array
        if not nest:
            disqualified.update(reads)
            continue
        found.update(g.root for g in parts if g.root.ndim == 0)
    return found - disqualified


def plan_memory(
    steps: Sequence[Step],
    results: Sequence[Node],
    table: DimTable,
    allocates_itself: Callable[[Node], bool],
    in_place: Mapping[Node, str] | None = None,
    folded: Mapping[Node, Sequence[Node]] | None = None,
    scalar_locals: bool = False,
    late_stores: Collection[Node] = (),
) -> MemoryPlan:
    """The buffer of every value the steps materialise. ``allocates_itself(node)`` is the
    backend's word that its lowering of ``node`` makes its own array (say, in another layout),
    so the pool gives it none; ``in_place`` maps a new value of a variable to the variable's
    argument, its array, and ``folded`` a product computed inside the store reading it to the
    product's inputs, which that store then reads (see ``codegen.updates``). With
    ``scalar_locals``, the values :func:`scalar_values` finds are named ``z0``, ``z1``, ... and
    given no array (``late_stores``: 0-d updates stored from their local after every step)."""
    stores = in_place or {}
    folded = folded or {}
    plan = MemoryPlan()
    if scalar_locals:
        plan.scalars = scalar_values(steps, results, stores, folded, late_stores)
    for step, parts in enumerate(steps):
        for x in nest_inputs(parts):
            for y in folded.get(x, (x,)):
                plan.last_read[y] = step
    for r in results:
        plan.last_read[r] = len(steps) + 1
    planner = _Planner(table, plan)
    for step, parts in enumerate(steps):
        root = parts[0].root
        if parts[0].kind in LOOP_KINDS:
            for (value, reads), g in zip(nest_reads(parts), parts):
                if value in stores:
                    plan.allocations[value] = Allocation(stores[value], IN_PLACE)
                    plan.owned.add(value)
                elif value in plan.scalars:
                    plan.allocations[value] = Allocation(f"z{len(planner.locals)}", SCALAR)
                    planner.locals.append(value)
                elif g.kind == "reduction":
                    planner.allocate(value, step)
                elif plan.read_after(value, step):
                    reusable = [
                        x
                        for x in reads
                        if same_space(x.shape, value.shape) and x.dtype == value.dtype
                    ]
                    planner.allocate(value, step, reusable)
        elif parts[0].kind == "view":
            planner.view(root, root.inputs[0])
        elif allocates_itself(root):
            plan.owned.add(root)
        else:
            planner.allocate(root, step)
    return plan
