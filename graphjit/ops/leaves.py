"""Graph leaves: placeholders (call-time inputs), constants and variables (persistent state)."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from graphjit import ir
from graphjit.dtypes import as_array, as_dtype, result_dtype
from graphjit.ir import Node, TensorType
from graphjit.locks import STATE_LOCKS
from graphjit.ops.registry import defop


def _no_infer(*types: TensorType, **attrs: Any) -> TensorType:
    raise TypeError("leaf nodes are built with gj.placeholder / gj.constant / gj.variable")


def _leaf_vjp(g: Any, out: Any) -> tuple[()]:
    return ()


def _leaf_jvp(tangents: Any, out: Any) -> None:
    return None


PLACEHOLDER = defop(
    "placeholder",
    infer=_no_infer,
    impl=None,
    vjp=_leaf_vjp,
    jvp=_leaf_jvp,
    kind="leaf",
    doc="a value given at call time",
)
CONSTANT = defop(
    "constant",
    infer=_no_infer,
    impl=None,
    vjp=_leaf_vjp,
    jvp=_leaf_jvp,
    kind="leaf",
    doc="a value baked into the graph",
)
VARIABLE = defop(
    "variable",
    infer=_no_infer,
    impl=None,
    vjp=_leaf_vjp,
    jvp=_leaf_jvp,
    kind="leaf",
    doc="persistent state, read and updated by compiled functions",
)


def _check_name(name: Any, what: str) -> str | None:
    if name is None:
        return None
    if not isinstance(name, str):
        raise TypeError(f"{what} name must be a str, got {type(name).__name__}")
    return name


def placeholder(name: str, shape: Any = (), dtype: Any = "float64") -> Node:
    """A graph input. Dims are ints, ``None`` (any size) or names (inputs sharing a name agree)."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"placeholder name must be a non-empty str, got {name!r}")
    return ir.make_leaf(PLACEHOLDER, TensorType(shape, dtype), name)


def constant_value(node: Node) -> np.ndarray:
    """The numpy value of a constant node (read-only)."""
    if node.op is not CONSTANT:
        raise TypeError(f"{node!r} is not a constant")
    value: np.ndarray = node.attrs["value"].array
    return value


class _Frozen:
    """A read-only array held in a constant node's attrs, hashed by content digest."""

    __slots__ = ("array", "digest")

    def __init__(self, array: np.ndarray, digest: bytes) -> None:
        self.array = array
        self.digest = digest

    def __hash__(self) -> int:
        return hash(self.digest)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Frozen) and other.digest == self.digest

    def __repr__(self) -> str:
        return np.array2string(self.array, threshold=8)


def constant(value: Any, dtype: Any = None, name: str | None = None) -> Node:
    """A constant node holding a read-only copy of ``value``. Equal constants are the same node."""
    if isinstance(value, Node):
        raise TypeError("gj.constant takes a value, not a graph node")
    dt = as_dtype(dtype) if dtype is not None else None
    arr = as_array(value, dt)  # an eager tensor converts through its __array__
    arr = np.array(arr, dtype=arr.dtype, order="C", copy=True)
    arr.flags.writeable = False
    digest = hashlib.blake2b(arr.tobytes(), digest_size=16).digest()
    key = (arr.dtype.name, arr.shape, digest)
    return ir.make_leaf(
        CONSTANT,
        TensorType(arr.shape, arr.dtype.name),
        _check_name(name, "constant"),
        {"value": _Frozen(arr, digest)},
        key=key,
    )


class Storage:
    """The array behind a variable. Compiled updates and eager in-place ops write into ``array``,
    so everything holding this storage sees the new values."""

    __slots__ = ("array",)

    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    def __repr__(self) -> str:
        return f"Storage({self.array.dtype}{list(self.array.shape)})"


class Variable(Node):
    """Persistent state in a graph (a model parameter, say). Read with :meth:`get_value`, write with
    :meth:`set_value`; compiled functions update it in place through ``updates``."""

    __slots__ = ()

    @property
    def storage(self) -> Storage:
        storage: Storage = self.attrs["storage"]
        return storage

    def get_value(self, copy: bool = True) -> np.ndarray:
        arr = self.storage.array
        return arr.copy() if copy else arr

    def set_value(self, value: Any) -> None:
        """Write a new value into the variable (same shape; cast where numpy casts safely)."""
        arr = np.asarray(value)
        cur = self.storage.array
        if arr.shape != cur.shape:
            raise ValueError(
                f"variable {self.name or ''!r}: new value has shape {arr.shape}, "
                f"expected {cur.shape}"
            )
        if not np.can_cast(arr.dtype, cur.dtype, casting="same_kind"):
            raise TypeError(
                f"variable {self.name or ''!r}: cannot store {arr.dtype} values in a {cur.dtype} "
                "variable"
            )
        # atomic with respect to compiled calls updating or reading this variable in other threads
        stripes = STATE_LOCKS.stripes([cur])
        with STATE_LOCKS.hold(stripes):
            STATE_LOCKS.begin_write(stripes)
            try:
                cur[...] = arr
            finally:
                STATE_LOCKS.end_write(stripes)


def variable(value: Any, name: str | None = None, dtype: Any = None) -> Variable:
    """Persistent state initialised with a copy of ``value``."""
    arr = as_array(value, as_dtype(dtype) if dtype is not None else None)
    arr = np.array(arr, dtype=result_dtype([arr]), order="C", copy=True)
    return variable_from_storage(Storage(arr), name)


def variable_from_storage(storage: Storage, name: str | None = None) -> Variable:
    """A variable over an existing storage (used to share an eager tensor's array with a graph)."""
    arr = storage.array
    node = ir.make_leaf(
        VARIABLE,
        TensorType(arr.shape, arr.dtype.name),
        _check_name(name, "variable"),
        {"storage": storage},
        cls=Variable,
    )
    assert isinstance(node, Variable)
    return node
