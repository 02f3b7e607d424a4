"""The schedule: which loop groups share one loop nest, in which order (backend neutral).

Loop groups (elementwise, reduction) over the same iteration space join one loop nest
(multi-output fusion): a value that several kernels read is computed once and the loops that read
it run in the same pass over memory, e.g. ``h = x + b`` with ``relu(h)`` and ``sum(g * (h > 0))``.
Groups a nest needs that do not depend on it are hoisted before it (e.g. ``1 / n``). Whether a
nest's outer loop should run in parallel is decided here too (from the ops' ``expensive`` flag
and the call-time size), so that a join never loses a parallel loop one of its parts would have
had; a backend reads the decision, it is not asked.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import NamedTuple

from graphjit.codegen.partition import LOOP_KINDS, Group, Plan, computed_in, same_space
from graphjit.codegen.symdims import DimTable, product
from graphjit.ir import Node
from graphjit.ops.leaves import CONSTANT, constant_value

Step = list[Group]  # the groups run by one kernel (one loop nest, or one view or op)


class Parallelism(NamedTuple):
    """When a loop nest gets a parallel variant of its outer loop."""

    enabled: bool  # more than one thread may run the generated code
    min_size: int  # nests known to have fewer elements stay serial


def trailing_reduced(rank: int, axes: set[int]) -> int:
    """The first axis of the trailing run of reduced axes (``rank`` when the last is kept)."""
    suffix = rank
    while suffix > 0 and (suffix - 1) in axes:
        suffix -= 1
    return suffix


def parallel_ok(g: Group) -> bool:
    """Whether ``g``'s outer loop can be a parallel loop (a reduction over axis 0 cannot)."""
    if g.kind == "reduction":
        axes = set(g.root.attrs["axes"])
        return trailing_reduced(g.space_node.ndim, axes) > 0 and 0 not in axes
    return g.root.ndim > 0


# a float power by one of these constants is a few multiplications (numba_cpu/loops.py writes
# ``x ** 3`` as ``x * x * x``), not the log and exp of the general power
SMALL_POWERS = (-1.0, 2.0, 3.0, 4.0)


def small_power(m: Node) -> float | None:
    """The exponent of a float ``power`` node by a 0-d constant in ``SMALL_POWERS``, else None."""
    if m.op.name != "power" or m.dtype not in ("float32", "float64"):
        return None
    exponent = m.inputs[1]
    if exponent.op is not CONSTANT or exponent.ndim != 0:
        return None
    e = float(constant_value(exponent)[()])
    return e if e in SMALL_POWERS else None


def costly(m: Node) -> bool:
    """Whether ``m`` computes some transcendental math (a loop of it is compute-bound)."""
    return m.op.expensive and small_power(m) is None


def wants_parallel(parts: Sequence[Group], table: DimTable, policy: Parallelism) -> bool:
    """A parallel variant pays for its compile time only for compute-bound loops (some
    transcendental math) that are not known to be small; cheap loops are memory-bound."""
    size = product(table.dims[parts[0].space_node])
    if not policy.enabled or (size.isdigit() and int(size) < policy.min_size):
        return False
    if not all(parallel_ok(g) for g in parts):
        return False
    return any(costly(m) for g in parts for m in g.members)


def schedule(plan: Plan, table: DimTable, policy: Parallelism) -> list[Step]:
    """The plan's groups in a topological order, each step a list of groups that run in one
    kernel (see :func:`merge_loops`)."""
    return merge_loops(plan.groups, plan.group_of, table, policy)


def merge_loops(
    groups: Sequence[Group], group_of: dict[Node, Group], table: DimTable, policy: Parallelism
) -> list[Step]:
    """A later group joins a nest when its space has the nest's dims (equal at call time, per
    ``table``) and every value it reads is computed before the nest, or inside it elementwise
    (read at the same index: a reduction's result is not ready until the loop ends), and the
    join loses no parallel loop. Groups it reads that do not depend on the nest are hoisted
    before the nest. The scan is linear per nest plus one pass over the steps after it per join,
    so long graphs schedule quickly."""
    steps: list[Step] = [[g] for g in groups]
    inputs = {id(g): g.inputs() for g in groups}
    producers = {id(g): [group_of[x] for x in inputs[id(g)] if x in group_of] for g in groups}
    keys = {
        id(g): (g.space_node.ndim, table.space_key(g.space_node))
        for g in groups
        if g.kind in LOOP_KINDS
    }
    shared = Counter(keys.values())  # a nest whose space no other group has: nothing to scan
    i = 0
    while i < len(steps):
        nest = steps[i]
        key = keys.get(id(nest[0]))
        if key is not None and shared[key] < 2:
            key = None
        j = i + 1
        taint: list[bool] | None = None  # per step after the nest: does it read the nest?
        position: dict[int, int] = {}
        while key is not None and j < len(steps):
            cand = steps[j]
            g = cand[0]
            if len(cand) != 1 or keys.get(id(g)) != key:
                j += 1
                continue
            if taint is None:
                position, taint = _schedule_facts(steps, i, producers)
            hoist = _hoistable(steps, i, j, position, taint, producers)
            if (
                hoist is None
                or not _can_join(nest, g, inputs)
                or not _keeps_parallel(nest, g, table, policy)
            ):
                j += 1
                continue
            moved = [steps[k] for k in sorted(hoist)]
            keep = [s for k, s in enumerate(steps) if k not in hoist and k != j]
            steps = keep[:i] + moved + keep[i:]
            i += len(moved)
            nest.append(g)
            j, taint = i + 1, None  # the steps moved: rescan after the nest
        i += 1
    return steps


def _keeps_parallel(nest: Step, g: Group, table: DimTable, policy: Parallelism) -> bool:
    """Join ``g`` to the nest unless that loses a parallel loop one of them would have had."""
    if wants_parallel(nest, table, policy) or wants_parallel([g], table, policy):
        return wants_parallel([*nest, g], table, policy)
    return True


def _schedule_facts(
    steps: list[Step], i: int, producers: dict[int, list[Group]]
) -> tuple[dict[int, int], list[bool]]:
    """Each group's step, and for each step after the nest at ``i`` whether it reads the nest,
    directly or through other steps (one forward pass: the steps are in topological order)."""
    position = {id(g): k for k, s in enumerate(steps) for g in s}
    taint = [False] * len(steps)
    for k in range(i + 1, len(steps)):
        for g in steps[k]:
            for q in producers[id(g)]:
                p = position[id(q)]
                if p == i or (p > i and taint[p]):
                    taint[k] = True
                    break
            if taint[k]:
                break
    return position, taint


def _hoistable(
    steps: list[Step],
    i: int,
    j: int,
    position: dict[int, int],
    taint: list[bool],
    producers: dict[int, list[Group]],
) -> set[int] | None:
    """Positions (between ``i`` and ``j``) of the steps that step ``j`` needs, directly or not,
    which must move before the nest at ``i``; None when one of them reads the nest."""

    def between(k: int) -> list[int]:
        ps = [position[id(q)] for g in steps[k] for q in producers[id(g)]]
        return [p for p in ps if i < p < j]

    stack = between(j)
    if any(taint[k] for k in stack):
        return None
    need: set[int] = set()
    while stack:  # the steps j needs read nothing of the nest: none of theirs does either
        k = stack.pop()
        if k not in need:
            need.add(k)
            stack.extend(between(k))
    return need


def _can_join(nest: Step, g: Group, inputs: dict[int, list[Node]]) -> bool:
    """``g`` (same space as the nest) reads nothing the nest cannot give it at each index."""
    space = nest[0].space_node
    if not same_space(space.shape, g.space_node.shape):
        return False
    reductions = {p.root for p in nest if p.kind == "reduction"}
    computed = computed_in(nest)
    for x in inputs[id(g)]:
        if x in reductions:
            return False
        if x in computed and not same_space(x.shape, space.shape):
            return False
    return True
