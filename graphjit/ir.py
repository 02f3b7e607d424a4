"""Graph IR: TensorType, immutable hash-consed Nodes, iterative traversal.

A ``Node`` is a value: it is built only through :func:`make_node`, which runs the op's shape/dtype
rule and returns the existing node when the same (op, inputs, attrs) was built before. Equal
expressions are therefore the same object, which gives common-subexpression elimination for free and
lets nodes be compared and hashed by identity.

Leaves are placeholders (call-time inputs), constants (numpy arrays baked into the graph) and
variables (persistent state held outside the graph, updated by compiled functions).
"""

from __future__ import annotations

import itertools
import math
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from graphjit.dtypes import as_dtype
from graphjit.errors import TracedValueError

if TYPE_CHECKING:
    # type-only: the IR holds ops but runs none of their code, and its operators and methods are
    # installed from above, by graphjit.methods
    from graphjit.methods import NumpyMethods as _InstalledMethods
    from graphjit.ops.registry import OpDef
else:
    _InstalledMethods = object

Dim = int | str | None


def _check_dim(d: Any) -> Dim:
    if d is None or isinstance(d, str):
        return d
    if isinstance(d, (bool, np.bool_)):
        raise TypeError(f"a dimension must be an int, None or a name, got {d!r}")
    if isinstance(d, (int, np.integer)):
        if d < 0:
            raise ValueError(f"a dimension must be >= 0, got {int(d)}")
        return int(d)
    raise TypeError(f"a dimension must be an int, None or a name (str), got {d!r}")


# the most bytes a numpy array can hold (its size in bytes is a signed 64-bit count)
MAX_BYTES = 2**63 - 1


def _check_size(shape: tuple[Dim, ...], itemsize: int) -> None:
    """ValueError for a shape whose known dims alone make more bytes than an array can hold
    (numpy refuses such an array, even with a zero dim among the others)."""
    size = 1
    for d in shape:
        if isinstance(d, int) and d > 1:
            size *= d
    if size * itemsize > MAX_BYTES:
        raise ValueError(
            f"shape {format_shape(shape)}: {size} elements of {itemsize} bytes are more than an "
            "array can hold (its size in bytes overflows a 64-bit integer)"
        )


@dataclass(frozen=True)
class TensorType:
    """Shape and dtype of a node. A dim is an int, ``None`` (any size, fixed at call time) or a
    name (``str``): inputs sharing a named dim must agree at call time."""

    shape: tuple[Dim, ...]
    dtype: str = "float64"

    def __post_init__(self) -> None:
        if isinstance(self.shape, (int, np.integer)):
            object.__setattr__(self, "shape", (self.shape,))
        if not isinstance(self.shape, (tuple, list)):
            raise TypeError(f"shape must be a tuple of dims, got {self.shape!r}")
        object.__setattr__(self, "shape", tuple(_check_dim(d) for d in self.shape))
        object.__setattr__(self, "dtype", as_dtype(self.dtype))
        _check_size(self.shape, np.dtype(self.dtype).itemsize)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def np_dtype(self) -> np.dtype:
        return np.dtype(self.dtype)

    @property
    def is_static(self) -> bool:
        """True when every dim is a known int."""
        return all(isinstance(d, int) for d in self.shape)

    @property
    def size(self) -> int | None:
        """Number of elements, or None when some dim is only known at call time."""
        if not self.is_static:
            return None
        return math.prod(d for d in self.shape if isinstance(d, int))

    def __str__(self) -> str:
        dims = ", ".join("?" if d is None else str(d) for d in self.shape)
        return f"{self.dtype}[{dims}]"


def format_shape(shape: Sequence[Dim]) -> str:
    return (
        "("
        + ", ".join("None" if d is None else repr(d) for d in shape)
        + (",)" if len(shape) == 1 else ")")
    )


# --------------------------------------------------------------------------------------------------
# Nodes


_node_table: weakref.WeakValueDictionary[tuple, Node] = weakref.WeakValueDictionary()
_leaf_ids = itertools.count()


_PLAIN = (bool, int, float, str, type(None))


def freeze_attr(value: Any) -> Any:
    """Hashable form of an attribute value (lists become tuples)."""
    t = type(value)
    if t in _PLAIN:  # the common case, first: eager ops freeze their attrs on every call
        return value
    if t is tuple and all(type(v) in _PLAIN for v in value):
        return value
    if isinstance(value, list):
        return tuple(freeze_attr(v) for v in value)
    if isinstance(value, tuple):
        return tuple(freeze_attr(v) for v in value)
    if isinstance(value, np.ndarray):
        raise TypeError("array attributes must be passed as constant inputs, not attrs")
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


class Node(_InstalledMethods):
    """One value in a graph: ``op`` applied to ``inputs`` with static ``attrs``.

    Nodes are immutable and hash-consed; use :func:`make_node` (or the ``gj.*`` functions) to build
    them. ``==`` is identity (so nodes work as dict keys, e.g. in ``updates``); use ``gj.equal`` for
    the elementwise comparison. Operators and numpy-named methods (``x + y``, ``x.sum()``) are
    installed by :mod:`graphjit.methods`, which sits above the ops; the IR itself knows no op.
    """

    __array_priority__ = 1000  # numpy defers to our reflected operators: ndarray + node -> node

    __slots__ = ("__weakref__", "attrs", "inputs", "name", "op", "type")

    op: OpDef
    inputs: tuple[Node, ...]
    attrs: MappingProxyType[str, Any]
    type: TensorType
    name: str | None

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError("graph nodes are immutable")

    def __delattr__(self, key: str) -> None:
        raise AttributeError("graph nodes are immutable")

    @property
    def shape(self) -> tuple[Dim, ...]:
        return self.type.shape

    @property
    def dtype(self) -> str:
        return self.type.dtype

    @property
    def ndim(self) -> int:
        return self.type.ndim

    @property
    def is_leaf(self) -> bool:
        return not self.inputs and self.op.name in ("placeholder", "constant", "variable")

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"<Node {self.op.name}{label}: {self.type}>"

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d node")
        d = self.shape[0]
        if not isinstance(d, int):
            raise TypeError(f"len() of a node whose first dim is not fixed ({d!r})")
        return d

    def __iter__(self) -> Any:
        raise TypeError(
            "graph nodes are not iterable; index them (x[i]) or use gj.split / gj.unstack"
        )

    def __bool__(self) -> bool:
        raise _traced_value_error(self, "bool() (an `if`, `while`, `and`/`or` on it)")

    def __float__(self) -> float:
        raise _traced_value_error(self, "float()")

    def __int__(self) -> int:
        raise _traced_value_error(self, "int()")


def _traced_value_error(node: Node, what: str) -> TracedValueError:
    inputs = sorted({n.name for n in toposort([node]) if n.op.name == "placeholder" and n.name})
    source = f", computed from input {', '.join(map(repr, inputs))}" if inputs else ""
    return TracedValueError(
        f"{what} of the graph node {node.op.name} ({node.type}{source}): its value is not known "
        "until the graph runs, so Python control flow cannot depend on it. Use "
        "gj.where(condition, a, b) to choose between values, or pass the value as a static "
        "python argument instead of an array"
    )


def _new_node(
    op: OpDef,
    inputs: tuple[Node, ...],
    attrs: dict[str, Any],
    type_: TensorType,
    name: str | None,
    cls: type[Node] = Node,
) -> Node:
    node = object.__new__(cls)
    object.__setattr__(node, "op", op)
    object.__setattr__(node, "inputs", inputs)
    object.__setattr__(node, "attrs", MappingProxyType(attrs))
    object.__setattr__(node, "type", type_)
    object.__setattr__(node, "name", name)
    return node


def make_node(op: OpDef, inputs: Sequence[Node], attrs: dict[str, Any] | None = None) -> Node:
    """Build (or find) the node ``op(*inputs, **attrs)``, checking shapes and dtypes now."""
    inputs = tuple(inputs)
    for i, x in enumerate(inputs):
        if not isinstance(x, Node):
            raise TypeError(f"{op.name}: input {i} is a {type(x).__name__}, expected a graph Node")
    arity = getattr(op, "arity", None)  # an OpDef's; ops made elsewhere (jit calls) have none
    if arity is not None and len(inputs) != arity:
        raise TypeError(f"{op.name}: takes {arity} input(s), got {len(inputs)}")
    frozen = {k: freeze_attr(v) for k, v in sorted((attrs or {}).items())}
    key = (op.name, tuple(id(x) for x in inputs), tuple(frozen.items()))
    try:
        hit = _node_table.get(key)
    except TypeError as exc:  # an unhashable attribute value
        raise TypeError(f"{op.name}: attributes must be hashable, got {frozen!r}") from exc
    if hit is not None:
        return hit
    type_ = op.infer(*[x.type for x in inputs], **frozen)
    node = _new_node(op, inputs, frozen, type_, None)
    _node_table[key] = node
    return node


def make_leaf(
    op: OpDef,
    type_: TensorType,
    name: str | None,
    attrs: dict[str, Any] | None = None,
    key: tuple | None = None,
    cls: type[Node] | None = None,
) -> Node:
    """A leaf node. With ``key`` it is hash-consed on that key (constants); without, it is unique
    (placeholders and variables are distinct objects even with equal names)."""
    if key is not None:
        full_key = ("leaf", op.name, key)
        hit = _node_table.get(full_key)
        if hit is not None:
            return hit
    attrs = dict(attrs or {})
    attrs.setdefault("uid", next(_leaf_ids))
    node = _new_node(op, (), attrs, type_, name, cls or Node)
    if key is not None:
        _node_table[full_key] = node
    return node


# --------------------------------------------------------------------------------------------------
# Traversal (iterative: deep graphs must not hit the recursion limit)


def _node_inputs(node: Any) -> Sequence[Any]:
    inputs: Sequence[Any] = node.inputs
    return inputs


def toposort(
    outputs: Iterable[Any], inputs_of: Callable[[Any], Sequence[Any]] = _node_inputs
) -> list[Any]:
    """All vertices the outputs depend on, inputs before users, in a deterministic order.

    ``inputs_of`` makes the walk generic: the eager tape uses it over tensors."""
    order: list[Any] = []
    seen: set[int] = set()
    for root in outputs:
        if id(root) in seen:
            continue
        stack: list[tuple[Any, Sequence[Any], int]] = [(root, inputs_of(root), 0)]
        seen.add(id(root))
        while stack:
            node, ins, i = stack[-1]
            if i < len(ins):
                stack[-1] = (node, ins, i + 1)
                child = ins[i]
                if id(child) not in seen:
                    seen.add(id(child))
                    stack.append((child, inputs_of(child), 0))
            else:
                stack.pop()
                order.append(node)
    return order


def users(order: Sequence[Node]) -> dict[Node, list[Node]]:
    """Map each node in ``order`` to the nodes (within ``order``) that use it."""
    result: dict[Node, list[Node]] = {n: [] for n in order}
    for n in order:
        for x in n.inputs:
            if x in result and (not result[x] or result[x][-1] is not n):
                result[x].append(n)
    return result


def leaves(outputs: Iterable[Node], kind: str | None = None) -> list[Node]:
    """Leaf nodes (optionally only ``kind``: placeholder/constant/variable) in topological order."""
    return [n for n in toposort(outputs) if not n.inputs and (kind is None or n.op.name == kind)]


def graph_replace(outputs: Sequence[Node], mapping: dict[Node, Node]) -> list[Node]:
    """Rebuild ``outputs`` with some nodes replaced (substitution), iteratively."""
    new: dict[Node, Node] = dict(mapping)
    for n in toposort(outputs):
        if n in new:
            continue
        if not n.inputs:
            new[n] = n
            continue
        ins = tuple(new[x] for x in n.inputs)
        if all(a is b for a, b in zip(ins, n.inputs)):
            new[n] = n
        else:
            new[n] = make_node(n.op, ins, n.attrs)
    return [new[o] for o in outputs]
