"""Graph leaves: placeholders (call-time inputs), constants and variables (persistent state)."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from graphjit import ir
from graphjit.cuda_compat import (
    array_address,
    import_numba_cuda,
    is_device_array,
    to_device,
    to_host,
)
from graphjit.dtypes import as_array, as_dtype, check_ints_fit, reject_masked, result_dtype
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
    so everything holding this storage sees the new values.

    ``array`` is a numpy array, or a device array when the variable lives on a GPU
    (:meth:`to`): CUDA-compiled functions then read and update it in place on the device, and
    other backends copy it to the host for each call. ``key`` names the storage's locks (see
    :mod:`graphjit.locks`): the address of the array it was made with, kept when it moves."""

    __slots__ = ("array", "key")

    def __init__(self, array: Any) -> None:
        self.array = array
        self.key = array_address(array)

    @property
    def on_device(self) -> bool:
        return is_device_array(self.array)

    def host(self) -> np.ndarray:
        """The values as a host array: the array itself, or a copy of the device array."""
        return to_host(self.array)

    def to(self, device: str) -> None:
        """Move the values to ``"cuda"`` or ``"cpu"`` in place (every node and tensor holding
        this storage follows), under the storage's lock."""
        kind, _, index = str(device).partition(":")
        if kind not in ("cpu", "cuda") or index not in ("", "0"):
            if kind == "cuda" and index.isdigit():
                raise RuntimeError(f"graphjit uses one GPU, cuda:0; got {device!r}")
            raise ValueError(f"unknown device {device!r}; expected 'cpu', 'cuda' or 'cuda:0'")
        if (kind == "cuda") == self.on_device:
            return
        STATE_LOCKS.write(STATE_LOCKS.stripes([self.key]), self._move, kind)

    def _move(self, kind: str) -> None:
        self.array = to_device(self.array) if kind == "cuda" else self.host()

    def __repr__(self) -> str:
        where = ", cuda" if self.on_device else ""
        return f"Storage({np.dtype(self.array.dtype)}{list(self.array.shape)}{where})"


class Variable(Node):
    """Persistent state in a graph (a model parameter, say). Read with :meth:`get_value`, write with
    :meth:`set_value`; compiled functions update it in place through ``updates``. A variable moved
    to a GPU (``gj.variable(..., device="cuda")`` or :meth:`to`) stays there: CUDA-compiled
    steps update it with no host copy, ``get_value`` copies it back and ``set_value`` in."""

    __slots__ = ()

    @property
    def storage(self) -> Storage:
        storage: Storage = self.attrs["storage"]
        return storage

    @property
    def device(self) -> str:
        """``"cuda"`` for a variable living on a GPU, else ``"cpu"``."""
        return "cuda" if self.storage.on_device else "cpu"

    def to(self, device: str) -> Variable:
        """Move the variable's values to ``"cuda"`` or back to ``"cpu"`` (in place: every node
        and eager tensor sharing its storage follows); returns the variable."""
        self.storage.to(device)
        return self

    def get_value(self, copy: bool = True) -> np.ndarray:
        """The value as a host array (a copy; ``copy=False``: the array itself when it is on the
        host, a copy from the device otherwise). A copy is taken under the variable's lock: a
        compiled call updating it in another thread is not seen half written."""
        storage = self.storage
        if not copy and not storage.on_device:
            return storage.array
        return STATE_LOCKS.call(STATE_LOCKS.stripes([storage.key]), _host_copy, storage)

    def set_value(self, value: Any) -> None:
        """Write a new value into the variable (same shape; cast where numpy casts safely); into
        the device array itself when the variable lives on a GPU."""
        storage = self.storage
        cur = storage.array
        reject_masked(value, f"variable {self.name or ''!r}: ")
        arr = value if is_device_array(value) else np.asarray(value)
        if tuple(arr.shape) != tuple(cur.shape):
            raise ValueError(
                f"variable {self.name or ''!r}: new value has shape {tuple(arr.shape)}, "
                f"expected {tuple(cur.shape)}"
            )
        if not np.can_cast(np.dtype(arr.dtype), np.dtype(cur.dtype), casting="same_kind"):
            raise TypeError(
                f"variable {self.name or ''!r}: cannot store {np.dtype(arr.dtype)} values in a "
                f"{np.dtype(cur.dtype)} variable"
            )
        if is_device_array(arr) and np.dtype(arr.dtype) != np.dtype(cur.dtype):
            arr = to_host(arr)  # the cast runs on the host (write_array), so the check does too
        check_ints_fit(arr, np.dtype(cur.dtype), f"variable {self.name or ''!r}")
        # atomic with respect to compiled calls updating or reading this variable in other threads
        STATE_LOCKS.write(STATE_LOCKS.stripes([storage.key]), _write_storage, storage, arr)


def _host_copy(storage: Storage) -> np.ndarray:
    arr = storage.array
    return to_host(arr) if is_device_array(arr) else arr.copy()


def _write_storage(storage: Storage, value: Any) -> None:
    write_array(storage.array, value)


def write_array(target: Any, value: Any) -> None:
    """``target[...] = value`` for host and device arrays alike (a device target is written on
    the device: from a device value with no host copy)."""
    if isinstance(target, np.ndarray):
        target[...] = to_host(value)
        return
    if not is_device_array(value):
        value = np.array(value, dtype=target.dtype, order="C", copy=None)
    elif np.dtype(value.dtype) != np.dtype(target.dtype):
        value = np.array(to_host(value), dtype=target.dtype, order="C")
    elif not hasattr(value, "copy_to_host"):  # CuPy, torch: seen as a numba device array
        value = import_numba_cuda().as_cuda_array(value)
    if target.size:
        target.copy_to_device(value)


def variable(
    value: Any, name: str | None = None, dtype: Any = None, device: str = "cpu"
) -> Variable:
    """Persistent state initialised with a copy of ``value``; ``device="cuda"`` keeps it on the
    GPU (see :class:`Variable`)."""
    if is_device_array(value):
        value = to_host(value)
    arr = as_array(value, as_dtype(dtype) if dtype is not None else None)
    arr = np.array(arr, dtype=result_dtype([arr]), order="C", copy=True)
    var = variable_from_storage(Storage(arr), name)
    return var.to(device) if device != "cpu" else var


def variable_from_storage(storage: Storage, name: str | None = None) -> Variable:
    """A variable over an existing storage (used to share an eager tensor's array with a graph)."""
    arr = storage.array
    node = ir.make_leaf(
        VARIABLE,
        TensorType(tuple(arr.shape), np.dtype(arr.dtype).name),
        _check_name(name, "variable"),
        {"storage": storage},
        cls=Variable,
    )
    assert isinstance(node, Variable)
    return node
