"""A random program being drawn (:class:`Draw`): its values, their graph nodes and reference values,
and the checks a step passes to be kept: it builds (the ops' shape rules accept it), the reference
interpreter evaluates it, and it is well conditioned: no float argument of a discontinuous op
(floor, a comparison, a cast to int, argmax...) lies within rounding distance of a jump, where
backends that round differently could legitimately disagree, and integers stay small (no overflow).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graphjit import ir
from graphjit.fuzz.program import Leaf, Step, apply_step
from graphjit.interp import evaluate
from graphjit.ir import Node
from graphjit.ops.dispatch import lift
from graphjit.ops.leaves import placeholder, variable

MAX_DEPTH = 8
DTYPES = ("float64", "float64", "float32", "int64", "int32")
SCALARS = (2, -1, 3, 0.5, -1.5, 2.0)
BUILD_ERRORS = (ValueError, TypeError, IndexError, NotImplementedError)


@dataclass
class Draw:
    """A program being drawn: its items, their graph nodes (static shapes), reference values and
    depths."""

    rng: np.random.Generator
    items: list[Leaf | Step] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    values: list[np.ndarray] = field(default_factory=list)
    depth: list[int] = field(default_factory=list)

    def shape(self, i: int) -> tuple[int, ...]:
        return tuple(int(d) for d in self.nodes[i].shape)  # type: ignore[arg-type]

    def dtype(self, i: int) -> str:
        return str(self.nodes[i].dtype)

    def choice(self, seq: Sequence[Any]) -> Any:
        return seq[int(self.rng.integers(len(seq)))]

    def pick(self, fits: Callable[[int], bool] = lambda i: True) -> int | None:
        """A value that ``fits``, recent values likelier (so chains grow deep)."""
        found = [i for i in range(len(self.items)) if self.depth[i] < MAX_DEPTH and fits(i)]
        if not found:
            return None
        weights = np.arange(1, len(found) + 1, dtype=float)
        return int(self.rng.choice(found, p=weights / weights.sum()))

    def leaf(
        self,
        shape: Sequence[int],
        dtype: str | None = None,
        is_variable: bool = False,
        value: np.ndarray | None = None,
    ) -> int:
        """A new input (or variable) leaf of ``shape``, random unless ``value`` is given."""
        dtype = dtype or self.choice(DTYPES)
        if value is None:
            value = random_array(self.rng, tuple(shape), dtype)
        name = f"{'w' if is_variable else 'x'}{len(self.items)}"
        self.items.append(Leaf(name, value, (False,) * len(shape), is_variable))
        if is_variable:
            self.nodes.append(variable(value.copy(), name=name))
        else:
            self.nodes.append(placeholder(name, tuple(shape), dtype))
        self.values.append(value)
        self.depth.append(0)
        return len(self.items) - 1

    def operand(self, shape: Sequence[int], fits: Callable[[int], bool] | None = None) -> int:
        """A value of exactly ``shape`` (passing ``fits``), or a new leaf of it."""
        found = self.pick(lambda i: self.shape(i) == tuple(shape) and (fits is None or fits(i)))
        if found is not None and self.rng.random() < 0.7:
            return found
        return self.leaf(shape)

    def add(self, step: Step) -> bool:
        """Append ``step`` if it builds, evaluates and is well conditioned."""
        try:
            node = lift(apply_step(step, self.nodes))
        except BUILD_ERRORS:
            return False
        if not isinstance(node, Node):
            return False
        known = set(self.nodes)
        new = [n for n in ir.toposort([node]) if n not in known]
        feed = {n: v for n, v in zip(self.nodes, self.values) if n.op.name == "placeholder"}
        try:
            with np.errstate(all="ignore"):
                values = evaluate([node, *(x for n in new for x in n.inputs)], feed)
        except Exception:
            return False
        by_node = dict(zip([node, *(x for n in new for x in n.inputs)], values))
        with np.errstate(all="ignore"):
            if not all(_well_conditioned(n, [by_node[x] for x in n.inputs]) for n in new):
                return False
        if np.issubdtype(values[0].dtype, np.integer) and np.any(np.abs(values[0]) > 2**20):
            return False
        self.items.append(step)
        self.nodes.append(node)
        self.values.append(values[0])
        self.depth.append(1 + max((self.depth[r] for r in step.refs()), default=0))
        return True


def random_array(rng: np.random.Generator, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    if dtype.startswith("int"):
        return rng.integers(-3, 4, shape).astype(dtype)
    if dtype == "bool":
        return rng.random(shape) < 0.5
    return rng.uniform(-2, 2, shape).round(6).astype(dtype)


# --------------------------------------------------------------------------------------------------
# conditioning: how far a float argument is from where a discontinuous op jumps


def _near(distance: np.ndarray, scale: np.ndarray, dtype: Any) -> bool:
    rel = 1e-3 if dtype == np.float32 else 1e-6
    with np.errstate(all="ignore"):
        near = np.abs(distance) <= rel * np.maximum(1.0, np.abs(scale))
    return bool(np.any(near & np.isfinite(scale)))


def _well_conditioned(node: Node, args: list[np.ndarray]) -> bool:
    name = node.op.name
    floats = [a for a in args if np.issubdtype(a.dtype, np.floating)]
    if not floats:
        return True
    x = floats[0]
    if name in ("floor", "ceil"):
        return not _near(x - np.round(x), x, x.dtype)
    if name == "round":
        return not _near(np.abs(x - np.floor(x)) - 0.5, x, x.dtype)
    if name == "sign":
        return not _near(x, x, x.dtype)
    if name == "astype":
        target = np.dtype(node.attrs["dtype"])
        if target == np.bool_:
            return not _near(x, x, x.dtype)
        if np.issubdtype(target, np.integer):
            fits = np.all(np.isfinite(x)) and np.all(np.abs(x) < 2**20)
            return bool(fits) and not _near(x - np.round(x), x, x.dtype)
        return True
    if name in ("less", "less_equal", "greater", "greater_equal", "equal", "not_equal"):
        a, b = np.broadcast_arrays(*(np.asarray(v, np.float64) for v in args))
        return not _near(a - b, np.maximum(np.abs(a), np.abs(b)), x.dtype)
    if name in ("argmax", "argmin"):
        flat = np.sort(x[np.isfinite(x)].ravel())
        gaps = np.diff(flat)
        return not _near(gaps[gaps > 0], flat[1:][gaps > 0], x.dtype)
    return True
