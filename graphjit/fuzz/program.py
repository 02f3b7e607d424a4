"""A random program: what the fuzzer generates, builds (as a graph or eagerly), shrinks and prints.

A :class:`Program` is a straight-line list of items. An item is a :class:`Leaf` (a placeholder or
a variable, with the array it is fed or starts from) or a :class:`Step`, one call of a public
``gj`` function whose arguments are :class:`Ref`\\ s to earlier items or literals (numbers, dtype
names, tuples, slices, index arrays). The same list is built as a static graph (placeholders,
some dims declared ``None``), built on eager Tensors, and printed as Python source, so a
reproducer runs exactly the calls that were checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np

from graphjit import ops, torch_api
from graphjit.ir import Node
from graphjit.ops.leaves import Variable, placeholder, variable
from graphjit.tensor.creation import tensor

# gj.zeros_like and friends are the Tensor creation functions (which take no graph node); in a
# reproducer the graph ops of these names are spelled gj.ops.<name>
SHADOWED = frozenset({"zeros_like", "ones_like", "full_like"})


@dataclass(frozen=True)
class Ref:
    """An earlier item of the program, by position."""

    index: int


@dataclass(frozen=True, eq=False)
class Leaf:
    """A placeholder (``is_variable`` false) or a variable, and its array: the value fed to the
    placeholder, or the variable's value before the call. ``dynamic`` marks dims declared None."""

    name: str
    value: np.ndarray
    dynamic: tuple[bool, ...]
    is_variable: bool = False

    @property
    def declared_shape(self) -> tuple[int | None, ...]:
        return tuple(None if dyn else d for d, dyn in zip(self.value.shape, self.dynamic))


@dataclass(frozen=True, eq=False)
class Step:
    """``gj.<fn>(*args, **kwargs)``; ``op`` is the registry op the step was generated for."""

    fn: str
    args: tuple[Any, ...]
    kwargs: tuple[tuple[str, Any], ...] = ()
    op: str = ""

    def refs(self) -> list[int]:
        found: list[int] = []
        _walk_refs((self.args, self.kwargs), found)
        return found


Item = Leaf | Step


def _walk_refs(x: Any, found: list[int]) -> None:
    if isinstance(x, Ref):
        found.append(x.index)
    elif isinstance(x, (tuple, list)):
        for y in x:
            _walk_refs(y, found)


@dataclass(frozen=True, eq=False)
class Program:
    """Items in order; ``outputs`` and the values of ``updates`` (variable item, new value item)
    index ``items``."""

    items: tuple[Item, ...]
    outputs: tuple[int, ...]
    updates: tuple[tuple[int, int], ...] = ()
    seed: int | None = field(default=None, compare=False)

    def leaves(self) -> list[tuple[int, Leaf]]:
        return [(i, it) for i, it in enumerate(self.items) if isinstance(it, Leaf)]

    def results(self) -> list[int]:
        """The items whose values the program returns: outputs, then the updates' new values."""
        return [*self.outputs, *(new for _, new in self.updates)]

    def ops_used(self) -> set[str]:
        return {it.op for it in self.items if isinstance(it, Step)}

    def with_items(self, items: Sequence[Item]) -> Program:
        return replace(self, items=tuple(items))


def function(name: str) -> Callable[..., Any]:
    """The public function a step calls: ``graphjit.ops.<name>``, or the PyTorch-named
    ``graphjit.torch_api.<name>`` (both are ``gj.<name>``)."""
    fn: Callable[..., Any] = getattr(ops, name, None) or getattr(torch_api, name)
    return fn


def _resolve(x: Any, values: Sequence[Any]) -> Any:
    if isinstance(x, Ref):
        return values[x.index]
    if isinstance(x, tuple):
        return tuple(_resolve(y, values) for y in x)
    if isinstance(x, list):
        return [_resolve(y, values) for y in x]
    return x


def apply_step(step: Step, values: Sequence[Any]) -> Any:
    """Run one step on earlier values (graph nodes or Tensors alike)."""
    args = _resolve(step.args, values)
    kwargs = {k: _resolve(v, values) for k, v in step.kwargs}
    return function(step.fn)(*args, **kwargs)


class Graph(NamedTuple):
    """A program built as a static graph."""

    nodes: list[Node]  # one per item
    inputs: list[Node]  # the placeholders, in order
    feeds: list[np.ndarray]  # their arrays
    variables: list[tuple[Variable, np.ndarray]]  # each variable and its value before a call
    outputs: list[Node]
    updates: dict[Variable, Node]


def build_graph(program: Program) -> Graph:
    """Placeholders (some dims None), variables holding copies of their arrays, then the steps."""
    nodes: list[Any] = []
    inputs: list[Node] = []
    feeds: list[np.ndarray] = []
    variables: list[tuple[Variable, np.ndarray]] = []
    for item in program.items:
        if isinstance(item, Step):
            nodes.append(ops.dispatch.lift(apply_step(item, nodes)))
        elif item.is_variable:
            var = variable(item.value.copy(), name=item.name)
            variables.append((var, item.value))
            nodes.append(var)
        else:
            ph = placeholder(item.name, item.declared_shape, str(item.value.dtype))
            inputs.append(ph)
            feeds.append(item.value)
            nodes.append(ph)
    updates: dict[Variable, Node] = {}
    for var_index, new_index in program.updates:
        var = nodes[var_index]
        assert isinstance(var, Variable)
        updates[var] = nodes[new_index]
    return Graph(nodes, inputs, feeds, variables, [nodes[i] for i in program.outputs], updates)


def build_eager(program: Program, requires_grad: Callable[[Leaf], bool]) -> list[Any]:
    """The program run on eager Tensors: one Tensor (or scalar) per item."""
    values: list[Any] = []
    for item in program.items:
        if isinstance(item, Step):
            values.append(apply_step(item, values))
        else:
            values.append(tensor(item.value.copy(), requires_grad=requires_grad(item)))
    return values


# --------------------------------------------------------------------------------------------------
# source


def item_name(program: Program, index: int) -> str:
    item = program.items[index]
    return item.name if isinstance(item, Leaf) else f"v{index}"


def array_source(a: np.ndarray) -> str:
    """``a`` as an exact numpy expression (float reprs round-trip)."""
    dtype = f"np.{a.dtype}" if a.dtype != np.bool_ else "bool"
    if a.ndim == 0:
        return f"np.array({a.item()!r}, dtype={dtype})"
    return f"np.array({a.tolist()!r}, dtype={dtype})"


def literal_source(x: Any, program: Program) -> str:
    if isinstance(x, Ref):
        return item_name(program, x.index)
    if isinstance(x, np.ndarray):
        return array_source(x)
    if isinstance(x, list):
        return "[" + ", ".join(literal_source(y, program) for y in x) + "]"
    if isinstance(x, tuple):
        inner = ", ".join(literal_source(y, program) for y in x)
        return f"({inner},)" if len(x) == 1 else f"({inner})"
    if isinstance(x, slice):
        return f"slice({x.start!r}, {x.stop!r}, {x.step!r})"
    return repr(x)


def step_source(step: Step, program: Program) -> str:
    parts = [literal_source(a, program) for a in step.args]
    parts += [f"{k}={literal_source(v, program)}" for k, v in step.kwargs]
    prefix = "gj.ops." if step.fn in SHADOWED else "gj."
    return f"{prefix}{step.fn}({', '.join(parts)})"


def leaf_source(leaf: Leaf) -> str:
    if leaf.is_variable:
        return f"gj.variable({array_source(leaf.value)}, name={leaf.name!r})"
    return f"gj.placeholder({leaf.name!r}, {leaf.declared_shape!r}, {str(leaf.value.dtype)!r})"


def eager_source(program: Program) -> list[str]:
    """Lines running the program's steps on eager Tensors (leaves ``gj.tensor``), with ``_t``
    appended to every name."""
    renamed = program.with_items(
        [replace(it, name=it.name + "_t") if isinstance(it, Leaf) else it for it in program.items]
    )
    lines = []
    for i, item in enumerate(renamed.items):
        name = item_name(renamed, i) if isinstance(item, Leaf) else f"v{i}_t"
        if isinstance(item, Leaf):
            lines.append(f"{name} = gj.tensor({array_source(item.value)})")
        else:
            src = step_source(item, renamed)
            for j in item.refs():
                if isinstance(renamed.items[j], Step):
                    src = re.sub(rf"\bv{j}\b", f"v{j}_t", src)
            lines.append(f"{name} = {src}")
    results = [*program.outputs, *(n for _, n in program.updates)]
    names = [
        item_name(renamed, i) if isinstance(renamed.items[i], Leaf) else f"v{i}_t" for i in results
    ]
    lines.append(f"eager = [{', '.join(names)}]")
    return lines


def graph_source(program: Program) -> list[str]:
    """Lines building the program's graph: its leaves and steps, ``outputs`` and ``updates``."""
    lines = []
    for i, item in enumerate(program.items):
        name = item_name(program, i)
        if isinstance(item, Leaf):
            lines.append(f"{name} = {leaf_source(item)}")
        else:
            lines.append(f"{name} = {step_source(item, program)}")
    names = [item_name(program, i) for i in program.outputs]
    lines.append(f"outputs = [{', '.join(names)}]")
    pairs = [f"{item_name(program, v)}: {item_name(program, n)}" for v, n in program.updates]
    lines.append(f"updates = {{{', '.join(pairs)}}}")
    inputs = [leaf.name for _, leaf in program.leaves() if not leaf.is_variable]
    feeds = [array_source(leaf.value) for _, leaf in program.leaves() if not leaf.is_variable]
    variables = [leaf.name for _, leaf in program.leaves() if leaf.is_variable]
    lines.append(f"inputs = [{', '.join(inputs)}]")
    lines.append(f"variables = [{', '.join(variables)}]")
    lines.append(f"feeds = [{', '.join(feeds)}]")
    return lines
