"""The backend-neutral half of code generation, run once per graph: partition, call-time dims,
schedule and memory plan, bundled for an emitter (see the package docstring)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from graphjit.codegen.memory import MemoryPlan, plan_memory
from graphjit.codegen.partition import LOOP_KINDS, Group, Plan, partition
from graphjit.codegen.schedule import Parallelism, Step, schedule, wants_parallel
from graphjit.codegen.symdims import DimTable, infer_all
from graphjit.codegen.updates import Fold, place_updates
from graphjit.ir import Node


@dataclass
class Lowered:
    """Everything an emitter needs: what each kernel computes (``plan``, ``steps``, with
    ``parallel[k]`` telling whether step k's loop nest gets a parallel variant), the call-time
    dims and checks (``table``) and where each value lives (``memory``)."""

    plan: Plan
    table: DimTable
    steps: list[Step]
    parallel: list[bool]
    memory: MemoryPlan
    in_place: dict[Node, Node] = field(default_factory=dict)  # value -> variable it is stored in
    late_inputs: list[Node] = field(default_factory=list)  # see ``codegen.updates``
    folds: dict[Node, Fold] = field(default_factory=dict)  # stores that compute their product
    # 0-d updates stored after every step from their scalar local (see ``codegen.updates``)
    late_stores: dict[Node, Node] = field(default_factory=dict)

    def group_of(self, node: Node) -> Group:
        return self.plan.group_of[node]


def lower(
    results: Sequence[Node],
    leaf_arrays: Mapping[Node, str],
    variables: Sequence[Node],
    policy: Parallelism,
    allocates_itself: Callable[[Node], bool],
    updates: Mapping[Node, Node] | None = None,
    fold_products: bool = False,
    scalar_locals: bool = False,
) -> Lowered:
    """Lower the graph of ``results``. ``leaf_arrays`` names the program's argument for each
    placeholder and variable (call-time dims are read from them); ``allocates_itself`` is the
    backend's list of lowerings that make their own output array (see ``plan_memory``);
    ``updates`` maps new values of variables to the variable they may be stored into (see
    ``codegen.updates``; none: every result gets an array of its own) and ``fold_products``
    whether the backend computes ``w - s * (a @ b)`` in one accumulating product;
    ``scalar_locals`` whether it keeps 0-d values only loop nests read in scalar locals (see
    ``codegen.memory.scalar_values``)."""
    plan = partition(results)
    table = infer_all(plan.order, leaf_arrays, variables)
    steps = schedule(plan, table, policy)
    leaves = set(variables)
    inputs = [x for x in leaf_arrays if x not in leaves]
    placed = place_updates(
        steps, plan.results, updates or {}, inputs, allocates_itself, fold_products, scalar_locals
    )
    steps = placed.steps
    parallel = [
        parts[0].kind in LOOP_KINDS and wants_parallel(parts, table, policy) for parts in steps
    ]
    late = placed.late_stores
    stores = {u: leaf_arrays[v] for u, v in placed.in_place.items() if u not in late}
    products = {f.product: list(f.product.inputs) for f in placed.folds.values()}
    memory = plan_memory(
        steps, plan.results, table, allocates_itself, stores, products, scalar_locals, set(late)
    )
    return Lowered(
        plan,
        table,
        steps,
        parallel,
        memory,
        placed.in_place,
        placed.late_inputs,
        placed.folds,
        placed.late_stores,
    )
