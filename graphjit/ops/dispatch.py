"""The dispatch every ``gj.*`` function goes through: :func:`apply` and the eager-backend protocol.

:func:`apply` turns python scalars, lists and numpy arrays into constants, applies numpy 2 dtype
promotion (python scalars are weak), and then builds a graph node when any argument is a graph node,
or runs the op eagerly when the arguments are eager tensors.

The eager ``Tensor`` lives above the ops (:mod:`graphjit.tensor`); it plugs in through the
:class:`EagerBackend` protocol, registered once by ``graphjit/__init__.py`` with
:func:`register_eager`. Until one is registered (only while ``graphjit`` itself is importing), plain
values build constant graphs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from graphjit import ir
from graphjit.dtypes import as_array, as_dtype, result_dtype
from graphjit.ir import Node
from graphjit.ops.leaves import constant
from graphjit.ops.registry import OPS, OpDef

__all__ = [
    "ArrayLike",
    "Value",
    "EagerBackend",
    "register_eager",
    "is_tensor",
    "untracked_array",
    "eager_result",
    "eager_nonzero",
    "eager_flatnonzero",
    "on_device_of",
    "lift_like",
    "lift_together",
    "apply",
    "lift",
    "as_node",
    "constant_node",
    "astype",
    "write_out",
    "result_dtype",
]


# What the gj.* functions take and give. An argument is a graph Node, an eager Tensor (its type is
# registered at run time, so it cannot be named here), a numpy array, or a python number or nested
# list; a result is a Node when any argument is a Node, else a Tensor. The names say which is meant
# where a signature would otherwise only say Any.
ArrayLike = Any
Value = Any


class EagerBackend(Protocol):
    """What ``graphjit.tensor`` registers so that ops run eagerly on its ``Tensor`` type."""

    tensor_type: type

    def from_value(self, value: np.ndarray) -> Any: ...
    def run(self, op: OpDef, args: tuple[Any, ...], attrs: dict[str, Any]) -> Any: ...
    def run_fast(self, op: OpDef, args: tuple[Any, ...], attrs: dict[str, Any]) -> Any: ...
    def to_node(self, t: Any) -> Node: ...
    def untracked_array(self, t: Any) -> np.ndarray | None: ...
    def nonzero(self, t: Any) -> tuple[Any, ...]: ...
    def flatnonzero(self, t: Any) -> Any: ...
    def on_device_of(self, value: Any, like: Any) -> Any: ...


_eager: EagerBackend | None = None
_TENSOR: tuple[type, ...] = ()


def register_eager(backend: EagerBackend) -> None:
    """Make ``backend`` the one that runs ops on its tensor type (graphjit registers its Tensor's
    backend once, at import)."""
    global _eager, _TENSOR
    if _eager is not None and _eager is not backend:
        raise RuntimeError("an eager backend is already registered")
    _eager = backend
    _TENSOR = (backend.tensor_type,)


def is_tensor(x: ArrayLike) -> bool:
    return isinstance(x, _TENSOR)


def constant_node(value: Any, dtype: Any = None, name: str | None = None) -> Node:
    """A constant graph node holding a read-only copy of ``value``; equal constants are one node."""
    return constant(value, dtype=dtype, name=name)


def apply(op: OpDef, *args: Any, **attrs: Any) -> Value:
    """Run ``op`` on ``args``: a graph node if any argument is a node, else an eager tensor."""
    if _eager is not None and args:
        # the eager hot path: tensors of one dtype (and python numbers that keep it) need no
        # promotion or lifting
        out = _eager.run_fast(op, args, attrs)
        if out is not None:
            return out
    graph = _eager is None  # no eager backend loaded: plain values build constant graphs
    for a in args:
        if isinstance(a, Node):
            graph = True
            break
    positions = _promoted_positions(op, len(args))
    common = result_dtype([args[i] for i in positions], op.to_float) if positions else None
    on_gpu = None if graph else _tensor_on_gpu(args)
    lifted = [
        _lift(a, common if i in positions else None, graph, on_gpu) for i, a in enumerate(args)
    ]
    if graph:
        return ir.make_node(op, lifted, attrs)
    assert _eager is not None
    return _eager.run(op, tuple(lifted), attrs)


_positions: dict[tuple[OpDef, int], Sequence[int]] = {}


def _promoted_positions(op: OpDef, n: int) -> Sequence[int]:
    if op.promote == "all":
        return range(n)
    if op.promote is None:
        return ()
    found = _positions.get((op, n))
    if found is None:
        assert isinstance(op.promote, tuple)
        found = _positions[op, n] = tuple([i for i in op.promote if i < n])
    return found


def _tensor_on_gpu(args: tuple[Any, ...]) -> Any:
    """The first eager tensor among ``args`` that lives on the GPU when there is a constant among
    them to lift (an array, a list, a number), else None."""
    if all(is_tensor(a) for a in args):
        return None
    for a in args:
        if is_tensor(a) and a.is_cuda:
            return a
    return None


def _lift(a: Any, dtype: str | None, graph: bool, on_gpu: Any = None) -> Any:
    """Argument ``a`` as a node (graph) or tensor (eager), cast to ``dtype`` when given. An array
    or list given with a tensor on the GPU (``on_gpu``) goes there, as a python number does: it
    is a constant of the op, not a tensor on another device."""
    if isinstance(a, _TENSOR):
        assert _eager is not None
        if graph:
            a = _eager.to_node(a)
        return a if dtype is None or a.dtype == dtype else astype(a, dtype)
    if isinstance(a, Node):
        return a if dtype is None or a.dtype == dtype else astype(a, dtype)
    value = as_array(a, dtype)
    if graph:
        return constant_node(value)
    assert _eager is not None
    if on_gpu is not None and value.ndim:
        return _eager.on_device_of(value, on_gpu)
    return _eager.from_value(value)


def untracked_array(t: Any) -> np.ndarray | None:
    """The array of tensor ``t`` when an op on it alone records nothing on the tape (it does not
    require grad, or grad mode is off): such an op may compute its result with numpy directly.
    None otherwise, and for anything that is not a tensor."""
    if _eager is None or not isinstance(t, _TENSOR):
        return None
    return _eager.untracked_array(t)


def eager_result(value: np.ndarray, view: bool = False) -> Any:
    """A tensor holding ``value`` (an op's result computed without the tape); ``view``: the
    result of a view op (reshape, indexing), a copy all the same, which refuses in-place changes
    (see ``Tensor._copied``)."""
    assert _eager is not None
    out = _eager.from_value(value)
    if view:
        out._copied = True
    return out


def eager_nonzero(t: Any) -> tuple[Any, ...]:
    """The indices of the non-zero (true) elements of the eager tensor ``t``, one 1-D int64
    tensor per dim, as numpy.nonzero, computed where ``t`` lives (on the GPU for a cuda tensor:
    only their number is read to the host)."""
    assert _eager is not None
    return _eager.nonzero(t)


def eager_flatnonzero(t: Any) -> Any:
    """The flat positions of the non-zero (true) elements of the eager tensor ``t``, a 1-D int64
    tensor on ``t``'s device, as numpy.flatnonzero."""
    assert _eager is not None
    return _eager.flatnonzero(t)


def on_device_of(value: Any, like: Any) -> Any:
    """``value`` (a tensor, a numpy array or a list) as an eager tensor on the device of the
    tensor ``like``: itself when it is there already, else a copy (as PyTorch copies a CPU index
    to the GPU to index a cuda tensor)."""
    assert _eager is not None
    return _eager.on_device_of(value, like)


def lift_like(x: ArrayLike, like: Any) -> Value:
    """``x`` lifted where ``like`` lives: as :func:`lift` for a graph node or a tensor in host
    memory; on the GPU for a cuda tensor ``like`` (an array copied there, a tensor moved)."""
    if isinstance(x, Node) or not is_tensor(like) or not like.is_cuda:
        return lift(x)
    return on_device_of(x, like)


def lift_together(*values: ArrayLike) -> tuple[Value, ...]:
    """``values`` lifted as the operands of one op: arrays, lists and numbers become constants
    where the first tensor among them lives (on the GPU beside a cuda tensor, as an op given them
    directly puts them); nodes and tensors stay as they are (tensors on two devices are for the
    op to refuse)."""
    like = next((v for v in values if is_tensor(v)), None)
    return tuple(v if isinstance(v, Node) or is_tensor(v) else lift_like(v, like) for v in values)


def lift(x: ArrayLike) -> Value:
    """A node or tensor for ``x`` (numpy arrays, lists and scalars become constants)."""
    if isinstance(x, Node) or is_tensor(x):
        return x
    if _eager is not None:
        return _eager.from_value(as_array(x, None))
    return constant_node(as_array(x, None))


def as_node(x: ArrayLike) -> Node:
    """``x`` as a graph node: an eager tensor becomes a constant, or, if it requires grad, a
    variable sharing its storage; arrays and scalars become constants."""
    if isinstance(x, Node):
        return x
    if is_tensor(x):
        assert _eager is not None
        return _eager.to_node(x)
    return constant_node(as_array(x, None))


def write_out(result: Any, out: Any, fn: str) -> Value:
    """numpy/PyTorch ``out=``: copy ``result`` into the eager tensor ``out`` and return ``out``."""
    if out is None:
        return result
    if isinstance(result, Node) or isinstance(out, Node):
        raise TypeError(f"{fn}: out= needs eager tensors; graph nodes are immutable values")
    if not is_tensor(out):
        raise TypeError(f"{fn}: out= must be a tensor, got {type(out).__name__}")
    if tuple(out.shape) != tuple(result.shape):
        raise ValueError(
            f"{fn}: out= has shape {tuple(out.shape)}, the result {tuple(result.shape)}"
        )
    return out.copy_(result)


def astype(x: ArrayLike, dtype: Any) -> Value:
    """``x`` converted to ``dtype`` (numpy casting: float -> int truncates toward zero)."""
    dtype = as_dtype(dtype)
    x = lift(x)
    if x.dtype == dtype:
        return x
    return apply(OPS["astype"], x, dtype=dtype)


def static_shape(x: ArrayLike) -> tuple[Any, ...]:
    return tuple(x.shape)
