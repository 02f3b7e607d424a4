"""Updates written straight into their variables (backend neutral).

A training step computes each updated variable's new value and the runtime copies it into the
variable after the call: one more pass over every parameter per step, and a buffer per parameter.
:func:`place_updates` lets the program store a new value into the variable's own array instead,
where that is safe, and moves those stores to the end of the program. A value qualifies when:

* it is the root of an elementwise group in a loop nest where every group is such an update (the
  nest then allocates nothing and cannot raise: reductions, which may raise on an empty axis, and
  ops are excluded), it has exactly the variable's static shape and dtype, and it is a result once
  and read by no step;
* the variable, and every view of it, is read by no later step and is not a result (an output
  equal to the variable must be its old value); in its own nest only the variable itself is read,
  which a kernel reads at the index it stores (a kernel computes every value of an index before
  storing any), never a view (``w - w.T`` stays out of place).

A store ``w - s * (a @ b)`` whose product nothing else reads, and whose operands are not views of
``w``, is folded: one BLAS gemm accumulating into ``w`` (``beta = 1``) computes it, and the product
is never stored (:class:`Fold`; the matmul's own step goes, its operands live until the store).

A backend that keeps 0-d values in scalar locals (see ``codegen.memory.scalar_values``) may also
store a 0-d new value that later steps read (an optimiser's step count, read by its bias
corrections): its nest stays where it is and assigns a local (or an array, where a step reads the
value as one), which the program's last lines store into the variable
(:attr:`Placement.late_stores`).

Moving the stores to the end keeps every other step before them, so a call that raises (a shape
check, an index out of range, an allocation refused) has written no variable: an update is
applied whole or not at all. Inputs read by the moved nests, or returned, could alias a variable
being written (a caller may pass a variable's own array); they are listed in
:attr:`Placement.late_inputs` so the runtime can copy such an input first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from graphjit.codegen.emit import int_tuple
from graphjit.codegen.partition import LOOP_KINDS, is_constant, nest_inputs
from graphjit.codegen.schedule import Step
from graphjit.dtypes import FLOAT_DTYPES
from graphjit.ir import Node
from graphjit.ops.leaves import constant_value

# what a generated module says of its stores, read back by the backend's executable
_NOTE = """

# the updates (by index) this program stores into their variables' arrays, and the inputs to copy
# first when one shares memory with such a variable (graphjit.codegen.updates)
IN_PLACE = {stored}
LATE_INPUTS = {late}
"""


def may_raise(node: Node) -> bool:
    """Whether an elementwise node's kernel may raise: an integer power (a negative exponent is
    a ValueError, as numpy's) whose exponent is not a constant with no negative value. A nest
    computing one is not a store into a variable, which must not stop half way."""
    if node.op.name != "power" or any(x.dtype in FLOAT_DTYPES for x in node.inputs):
        return False
    exponent = node.inputs[1]
    return not (is_constant(exponent) and bool(np.all(constant_value(exponent) >= 0)))


def stored_indices(program: Any, in_place: Mapping[Node, Node]) -> list[int]:
    """The updates (by index) whose new values ``in_place`` stores into their variables."""
    return [k for k, new in enumerate(update_values(program)) if new in in_place]


def stores_note(program: Any, stored: Sequence[int], late_inputs: Sequence[Node]) -> str:
    """The module lines naming the updates (by index) a program stores into its variables
    itself, and the inputs to copy first (none stored: no lines)."""
    if not stored:
        return ""
    late = [str(i) for i, x in enumerate(program.inputs) if x in late_inputs]
    return _NOTE.format(stored=int_tuple([str(k) for k in stored]), late=int_tuple(late))


class Fold(NamedTuple):
    """A new value ``w - s * (a @ b)`` (or ``w + ...``, ``s`` absent: 1) computed by one BLAS
    call that accumulates into ``w``'s array: the matrix product is never stored."""

    product: Node  # the matmul; its own step is gone
    scale: Node | None  # a 0-d factor
    negate: bool


class Placement(NamedTuple):
    steps: list[Step]  # the schedule, the in-place update nests moved to its end
    in_place: dict[Node, Node]  # new value -> the variable its nest stores it into
    late_inputs: list[Node]  # inputs read by the moved nests or returned (see the docstring)
    folds: dict[Node, Fold]  # new value -> its product folded into the store
    # new 0-d value -> variable, stored after every step (in ``in_place``)
    late_stores: dict[Node, Node]


def update_values(program: Any) -> tuple[Node, ...]:
    """The new values of a runtime ``Program``'s updated variables: its last results, one per
    entry of its ``targets``."""
    results = tuple(program.results)
    return results[len(results) - len(tuple(getattr(program, "targets", ()))) :]


def update_targets(program: Any) -> dict[Node, Node]:
    """New value -> variable, for the updates the runtime lets a program store in place (of
    variables the program takes: one it only writes has no array in the program)."""
    targets = tuple(getattr(program, "targets", ()))
    taken = set(program.variables)
    pairs = zip(update_values(program), targets)
    return {new: var for new, var in pairs if var is not None and var in taken}


class Stores(NamedTuple):
    """What a compiled module's stores into variables mean to its executable (read back from
    the module by :func:`read_stores`)."""

    in_place: tuple[int, ...] = ()  # the updates (by index) the program stores itself
    written: tuple[int, ...] = ()  # their variables (by index among the program's)
    late_inputs: tuple[int, ...] = ()  # inputs to copy when one shares memory with those
    n_updates: int = 0  # the program's updates, stored or not


NO_STORES = Stores()  # a program that stores into no variable


def read_stores(module: Any, program: Any) -> Stores:
    """The :class:`Stores` of a loaded module (``stores_note``'s lines) for ``program``."""
    in_place = tuple(getattr(module, "IN_PLACE", ()))
    targets = tuple(getattr(program, "targets", ()))
    variables = list(program.variables)
    written = tuple(variables.index(targets[k]) for k in in_place)
    return Stores(in_place, written, tuple(getattr(module, "LATE_INPUTS", ())), len(targets))


def place_updates(
    steps: Sequence[Step],
    results: Sequence[Node],
    candidates: Mapping[Node, Node],
    inputs: Sequence[Node],
    allocates_itself: Callable[[Node], bool],
    fold_products: bool = False,
    scalar_stores: bool = False,
) -> Placement:
    """Which of ``candidates`` (new value -> variable) are stored in place, and the schedule that
    makes it safe. ``allocates_itself`` is the backend's word that an op's lowering makes its own
    array, which may then be a view of its input (a reshape), so it counts as an alias;
    ``fold_products`` that it can lower a :class:`Fold`, ``scalar_stores`` that it keeps 0-d
    values in scalar locals and stores them at the end (:attr:`Placement.late_stores`)."""
    if not candidates:
        return Placement(list(steps), {}, [], {}, {})
    reads = [step_reads(parts) for parts in steps]
    read_by_steps = {x for r in reads for x in r}
    times = Counter(results)
    aliases = _aliases(steps, allocates_itself)

    def alias(x: Node) -> set[Node]:
        return aliases.get(x) or {x}

    def qualifies(parts: Step) -> bool:
        for g in parts:
            var = candidates.get(g.root)
            if (
                g.kind != "elementwise"
                or any(may_raise(n) for n in g.members)
                or var is None
                or times[g.root] != 1
                or g.root in read_by_steps
                or g.root.dtype != var.dtype
                or tuple(g.root.shape) != tuple(var.shape)
                or any(a in times for a in alias(var))
            ):
                return False
        return True

    tail = [k for k, parts in enumerate(steps) if parts[0].kind in LOOP_KINDS and qualifies(parts)]
    # a product only this store reads is computed by the store itself (BLAS accumulating)
    op_step = {parts[0].root: k for k, parts in enumerate(steps) if parts[0].kind == "op"}
    readers = Counter(x for r in reads for x in r)
    folds: dict[Node, Fold] = {}
    for k in tail if fold_products else ():
        var = candidates[steps[k][0].root]
        fold = _product_update(steps[k], var) if len(steps[k]) == 1 else None
        if (
            fold is not None
            and fold.product in op_step
            and readers[fold.product] == 1
            and fold.product not in times
            and not alias(var) & set(fold.product.inputs)
        ):
            folds[steps[k][0].root] = fold
            reads[k] = (reads[k] - {fold.product}) | set(fold.product.inputs)
    # a nest stores into a variable that a later moved nest, or its own nest through a view,
    # reads: leave it where it was (its new value is copied in after the call, as before)
    changed = True
    while changed:
        changed = False
        for pos, k in enumerate(tail):
            written = {a for g in steps[k] for a in alias(candidates[g.root])}
            own = written - {candidates[g.root] for g in steps[k]}
            if own & reads[k] or any(written & reads[j] for j in tail[pos + 1 :]):
                del tail[pos]
                changed = True
                break
    kept = {steps[k][0].root for k in tail}
    folds = {u: f for u, f in folds.items() if u in kept}
    moved = set(tail) | {op_step[f.product] for f in folds.values()}
    order = [parts for k, parts in enumerate(steps) if k not in moved]
    order += [steps[k] for k in tail]
    in_place = {g.root: candidates[g.root] for k in tail for g in steps[k]}
    late_stores = _late_scalars(order, candidates, in_place, times, alias) if scalar_stores else {}
    in_place.update(late_stores)
    late_reads = {x for k in tail for x in reads[k]} | set(results)
    late = [x for x in inputs if in_place and late_reads & alias(x)]
    return Placement(order, in_place, late, folds, late_stores)


def _late_scalars(
    steps: Sequence[Step],
    candidates: Mapping[Node, Node],
    in_place: Mapping[Node, Node],
    times: Counter[Node],
    alias: Callable[[Node], set[Node]],
) -> dict[Node, Node]:
    """The 0-d new values, not stored in place already, that a loop nest computes, whose
    variable (or a view of it) is no result: stored after every step (the steps reading the
    variable read its old value), from the scalar local the buffer plan keeps such a value in,
    or its array where a step reads it as one (see ``codegen.memory.scalar_values``)."""
    found: dict[Node, Node] = {}
    for parts in steps:
        if parts[0].kind not in LOOP_KINDS:
            continue
        for g in parts:
            var = candidates.get(g.root)
            if (
                var is not None
                and g.root not in in_place
                and g.root.ndim == 0 == var.ndim
                and g.root.dtype == var.dtype
                and times[g.root] == 1
                and not any(a in times for a in alias(var))
            ):
                found[g.root] = var
    return found


def _product_update(parts: Step, var: Node) -> Fold | None:
    """``parts`` (one elementwise group) as ``var -/+ s * (a @ b)`` of 2-D float arrays of the
    variable's dtype, else None."""
    g = parts[0]
    root = g.root
    if root.op.name not in ("add", "subtract") or len(g.members) > 2:
        return None
    p, q = root.inputs
    if root.op.name == "add" and q is var:
        p, q = q, p
    if p is not var:
        return None
    scale = None
    if q in g.members:
        if q.op.name != "multiply" or len(g.members) != 2:
            return None
        a, b = q.inputs
        scale, q = (a, b) if b.op.name == "matmul" else (b, a)
        if scale.ndim != 0 or scale.dtype != var.dtype:
            return None
    elif len(g.members) != 1:
        return None
    if (
        q.op.name != "matmul"
        or q.dtype != var.dtype
        or var.dtype not in ("float32", "float64")
        or q.ndim != 2
        or any(x.ndim != 2 for x in q.inputs)
    ):
        return None
    return Fold(q, scale, root.op.name == "subtract")


def step_reads(parts: Step) -> set[Node]:
    """The arrays a step reads (a view or an op: its inputs; a nest: what it reads from arrays)."""
    if parts[0].kind in LOOP_KINDS:
        return set(nest_inputs(parts))
    return set(parts[0].root.inputs)


def _aliases(
    steps: Sequence[Step], allocates_itself: Callable[[Node], bool]
) -> dict[Node, set[Node]]:
    """For each node a step reads, the nodes whose arrays may share its memory: itself, the views
    of it and their views, and the outputs of ops whose lowering makes its own array from it."""
    views: dict[Node, list[Node]] = {}
    for parts in steps:
        root = parts[0].root
        if parts[0].kind == "view" or (parts[0].kind == "op" and allocates_itself(root)):
            for x in root.inputs:
                views.setdefault(x, []).append(root)
    out: dict[Node, set[Node]] = {}

    def close(x: Node) -> set[Node]:
        found = out.get(x)
        if found is None:
            found = {x}
            todo = [x]
            while todo:
                for v in views.get(todo.pop(), ()):
                    if v not in found:
                        found.add(v)
                        todo.append(v)
            out[x] = found
        return found

    for parts in steps:
        for x in step_reads(parts):
            close(x)
    return out
