"""The eager backend: how ops run on :class:`~graphjit.tensor.Tensor` values, and how a tensor
becomes a graph node.

:func:`graphjit.ops.dispatch.apply` hands an op whose arguments are tensors to
:meth:`EagerTensors.run`, which computes it with the op's numpy reference implementation and
records a tape entry when an input requires grad. A tensor used in a graph op becomes a node through
:meth:`EagerTensors.to_node`: a constant, a variable sharing a parameter's storage, or the graph its
tape recorded. ``graphjit/__init__.py`` registers :data:`EAGER` with the dispatcher.

Tensors on the GPU hold device arrays: an op with one among its arguments runs on the device
through the :class:`DeviceRunner` registered by ``graphjit/__init__.py`` (``graphjit.cuda_eager``:
the op compiled by the CUDA backend as a one-op program, cached per signature), and its tape entry
is the same as on the CPU, so autograd runs on the device too. The other arguments must be on the
device as well, except 0-d host values (python numbers), as in PyTorch.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import numpy as np
from numpy import ndarray

from graphjit import ir
from graphjit.autodiff import tape
from graphjit.autodiff.tape import record, tape_inputs
from graphjit.cuda_compat import to_host
from graphjit.dtypes import as_array, is_float, result_dtype
from graphjit.errors import TensorUsageError
from graphjit.ir import Node, freeze_attr
from graphjit.ops.comparison import not_equal
from graphjit.ops.leaves import Storage, constant, variable_from_storage
from graphjit.ops.registry import OpDef
from graphjit.tensor.device import move_array
from graphjit.tensor.parameter import Parameter
from graphjit.tensor.tensor import Tensor, fast_type, new_tensor

_mode = tape.mode


class DeviceRunner(Protocol):
    """Runs one op on the GPU (registered by ``graphjit/__init__.py``; the tensor package never
    imports a backend)."""

    def __call__(self, op: OpDef, datas: tuple[Any, ...], attrs: dict[str, Any]) -> Any:
        """The op's value, a device array, for arguments that are device arrays or 0-d host
        arrays."""
        ...

    def flatnonzero(self, mask: Any) -> Any:
        """The flat positions of the true elements of a boolean device array, in increasing
        order: a 1-D int64 device array."""
        ...

    def unravel(self, positions: Any, shape: tuple[int, ...]) -> Any:
        """The coordinates of flat ``positions`` in an array of ``shape``: an
        ``(n, len(shape))`` int64 device array."""
        ...


_device_runners: list[DeviceRunner] = []


def register_device_runner(runner: DeviceRunner) -> None:
    """Let ops on tensors in GPU memory run through ``runner``."""
    if runner not in _device_runners:
        _device_runners.append(runner)


def _device_runner(what: str) -> DeviceRunner:
    if not _device_runners:
        raise RuntimeError(f"{what}: no runner for tensors on the GPU is registered")
    return _device_runners[0]


def device_flatnonzero(mask: Tensor) -> Tensor:
    """The flat positions of the true elements of the boolean tensor ``mask`` on the GPU, in
    increasing order: a 1-D int64 tensor on the GPU. The positions are found on the device; their
    number is read to the host to size the result (PyTorch synchronises here too)."""
    return new_tensor(_device_runner("flatnonzero").flatnonzero(mask._data))


def device_unravel(positions: Tensor, shape: tuple[int, ...]) -> Tensor:
    """The coordinates of the flat ``positions`` (a 1-D int64 tensor on the GPU) in an array of
    ``shape``: an ``(n, len(shape))`` int64 tensor on the GPU."""
    return new_tensor(_device_runner("unravel").unravel(positions._data, tuple(shape)))


def _run_on_device(
    op: OpDef, args: tuple[Tensor, ...], datas: tuple[Any, ...], attrs: dict[str, Any]
) -> Tensor:
    for i, d in enumerate(datas):
        if isinstance(d, np.ndarray) and d.ndim:
            raise RuntimeError(
                f"{op.name}: expected all tensors to be on the same device, but argument {i} is "
                f"on cpu (shape {d.shape}) and another on cuda:0; move it with .to('cuda') (or "
                "the others with .cpu())"
            )
    value = _device_runner(op.name)(op, datas, attrs)
    out = new_tensor(value)
    if is_float(np.dtype(value.dtype).name) and _mode.enabled:
        for a in args:
            if a._requires_grad:
                out._requires_grad = True
                out._ctx = record(op, args, attrs)
                break
    return out


class _Rule(NamedTuple):
    """What an op's shape/dtype rule says about one concrete signature (memoised: the rule is a
    pure function of the input types and attrs, and an eager loop calls each op with the same few
    signatures again and again)."""

    impl: Callable[..., Any]
    dtype: np.dtype
    differentiable: builtins.bool
    view: builtins.bool  # a view op (reshape, transpose, ...): its result is a copy all the same


def _rule(op: OpDef, datas: tuple[np.ndarray, ...], attrs: dict[str, Any]) -> _Rule:
    """Run ``op``'s shape/dtype rule on the types of ``datas`` (raising what it raises)."""
    out_type = op.infer(*[fast_type(d) for d in datas], **attrs)
    if op.impl is None:
        raise TypeError(f"{op.name} cannot run eagerly (it has no implementation)")
    return _Rule(op.impl, np.dtype(out_type.dtype), is_float(out_type.dtype), op.fusion == "view")


def _remember(cache: dict[tuple[Any, ...], _Rule], key: tuple[Any, ...], rule: _Rule) -> None:
    if len(cache) > 4096:
        cache.clear()
    cache[key] = rule


# the rules of every signature run, and, apart, those of calls that took the fast path (tensors of
# one dtype, and python numbers that keep it): only such signatures are ever found there
_rules: dict[tuple[Any, ...], _Rule] = {}
_fast_rules: dict[tuple[Any, ...], _Rule] = {}


# (dtype, python number type, op.to_float) -> whether numpy 2 promotion keeps the dtype
_number_keeps_dtype: dict[tuple[np.dtype, type, builtins.bool], builtins.bool] = {}


def _weak_number(op: OpDef, dt: np.dtype, number: builtins.int | builtins.float) -> Any:
    """``number`` as a 0-d array of dtype ``dt`` when promotion leaves that dtype unchanged
    (NEP 50: a python number is weak, so whether it does depends on the types alone), else None."""
    key = (dt, type(number), op.to_float)
    keeps = _number_keeps_dtype.get(key)
    if keeps is None:
        keeps = result_dtype((np.empty((), dt), number), op.to_float) == dt.name
        _number_keeps_dtype[key] = keeps
    if not keeps:
        return None
    try:
        return np.array(number, dt)
    except OverflowError:
        return as_array(number, dt.name)  # raises IntegerOutOfRangeError


class _Every:
    """The positions an op with ``promote="all"`` promotes: every one."""

    def __contains__(self, i: object) -> builtins.bool:
        return True


_EVERY = _Every()


def _arrays(
    op: OpDef, args: tuple[Any, ...]
) -> tuple[tuple[np.ndarray, ...], tuple[Any, ...], builtins.bool] | None:
    """What :meth:`EagerTensors.run_fast` runs ``op`` on, when the general path would run it on
    exactly the same arrays (tensors in host memory, the promoted ones of one dtype, and among
    these python numbers that promotion leaves at that dtype, as 0-d arrays of it): the arrays,
    their signature (the op, their shapes, their dtypes: the key of the op's memoised rule), and
    whether a tensor among the arguments requires grad. None for anything else."""
    promote = op.promote
    promoted: Any = _EVERY if promote == "all" else (() if promote is None else promote)
    dt = None
    numbers = tracked = False
    datas: list[Any] = []
    for i, a in enumerate(args):
        kind = type(a)
        if kind is Tensor or kind is Parameter:
            d = a._data
            if type(d) is not ndarray:
                return None
            if i in promoted:
                if dt is None:
                    dt = d.dtype
                elif d.dtype != dt:
                    return None
            tracked = tracked or a._requires_grad
            datas.append(d)
        elif (kind is builtins.float or kind is builtins.int) and i in promoted:
            numbers = True
            datas.append(a)
        else:
            return None
    if dt is not None and op.to_float and dt.kind != "f":
        return None  # promotion makes the promoted arguments floats
    if numbers:
        if dt is None:
            return None  # only numbers are promoted: they decide the dtype
        for i, d in enumerate(datas):
            if type(d) is not ndarray:
                d = datas[i] = _weak_number(op, dt, d)
                if d is None:
                    return None
    key: list[Any] = [op]
    for d in datas:
        key.append(d.shape)
    for d in datas:
        key.append(d.dtype)
    return tuple(datas), tuple(key), tracked


_new = object.__new__


def _tape_inputs(args: tuple[Any, ...], datas: tuple[np.ndarray, ...]) -> tuple[Any, ...]:
    """The tensors an op ran on, for its tape entry: python numbers join it as 0-d tensors."""
    for a in args:
        if not isinstance(a, Tensor):
            return tuple(
                [a if isinstance(a, Tensor) else new_tensor(d) for a, d in zip(args, datas)]
            )
    return args


class EagerTensors:
    tensor_type: type = Tensor

    from_value = staticmethod(new_tensor)

    @staticmethod
    def run_fast(op: OpDef, args: tuple[Any, ...], attrs: dict[str, Any]) -> Tensor | None:
        """:meth:`run` for the eager hot path, when nothing needs promoting or lifting: the
        arguments are tensors in host memory, those the op promotes of one dtype (a float one
        for an op that computes in floats), and python numbers among these that promotion leaves
        at that dtype. None for anything else: the caller then takes the general path, which
        gives the same result."""
        # Written for speed (it is every eager op's path): a tensor and a tensor or number
        # unrolled, the op's rule memoised on the concrete signature, the result built in place.
        first = args[0]
        n = len(args)
        second = args[1] if n == 2 else None
        kind = type(second)
        k0 = type(first)
        eager0 = k0 is Tensor or k0 is Parameter  # Parameter: a Tensor subclass, same layout
        if eager0 and (n == 1 or kind is Tensor or kind is Parameter):
            d0 = first._data
            if type(d0) is not ndarray:
                return None
            if n == 1:
                datas: tuple[np.ndarray, ...] = (d0,)
                key: tuple[Any, ...] = (op, d0.shape, d0.dtype)
                tracked = first._requires_grad
            else:
                d1 = second._data  # type: ignore[union-attr]
                if type(d1) is not ndarray:
                    return None
                datas = (d0, d1)
                key = (op, d0.shape, d0.dtype, d1.shape, d1.dtype)
                tracked = first._requires_grad or second._requires_grad  # type: ignore[union-attr]
            numbers = False
        elif eager0 and (kind is builtins.float or kind is builtins.int) and op.promote == "all":
            d0 = first._data
            if type(d0) is not ndarray:
                return None
            d1 = _weak_number(op, d0.dtype, second)  # type: ignore[arg-type]
            if d1 is None:
                return None
            datas = (d0, d1)
            key = (op, d0.shape, d0.dtype, d1.shape, d1.dtype)
            tracked = first._requires_grad
            numbers = True
        else:
            found = _arrays(op, args)
            if found is None:
                return None
            datas, key, tracked = found
            d0 = None  # _arrays checked the dtypes
            numbers = True  # perhaps: the tape's inputs are made tensors if not
        if attrs:
            key += tuple(attrs.items())
        try:
            rule = _fast_rules.get(key)
        except TypeError:  # a list among the attrs: the general path freezes them
            return None
        if rule is None:
            if d0 is not None:
                dt = d0.dtype
                for d in datas:
                    if d.dtype != dt:
                        return None
                if op.to_float and dt.kind != "f":
                    return None
            rule = _rule(op, datas, attrs)
            _remember(_fast_rules, key, rule)
        impl, dtype, differentiable, view = rule
        value = impl(*datas, **attrs)
        if type(value) is not ndarray:
            value = np.asarray(value)
        if value.dtype is not dtype and value.dtype != dtype:
            value = value.astype(dtype)
        # new_tensor(value), inlined: a call is a tenth of a small op's time
        out = _new(Tensor)
        out._data = value
        out._ctx = None
        out._version = 0
        out._grad = None
        out._var = None
        out._retain = False
        out._hooks = None
        out._copied = view
        if tracked and differentiable and _mode.enabled:
            out._requires_grad = True
            out._ctx = record(op, _tape_inputs(args, datas) if numbers else args, attrs)
        else:
            out._requires_grad = False
        return out

    @staticmethod
    def run(op: OpDef, args: tuple[Tensor, ...], attrs: dict[str, Any]) -> Tensor:
        datas = tuple([a._data for a in args])
        parts: list[Any] = [op]
        for d in datas:
            if type(d) is not ndarray and not isinstance(d, ndarray):
                return _run_on_device(op, args, datas, attrs)
            parts += (d.shape, d.dtype)
        if attrs:
            parts += attrs.items()
        key = tuple(parts)
        try:
            rule = _rules.get(key)
        except TypeError:  # a list among the attrs: freeze them (lists become tuples)
            attrs = {k: freeze_attr(v) for k, v in attrs.items()}
            try:
                key = key[: -len(attrs)] + tuple(attrs.items())
                rule = _rules.get(key)
            except TypeError:  # still unhashable: no memo
                key, rule = (), None
        if rule is None:
            rule = _rule(op, datas, attrs)
            if key:
                _remember(_rules, key, rule)
        impl, dtype, differentiable, view = rule
        value = impl(*datas, **attrs)
        if type(value) is not ndarray:
            value = np.asarray(value)
        if value.dtype is not dtype and value.dtype != dtype:
            value = value.astype(dtype)
        out = new_tensor(value)
        out._copied = view
        if differentiable and _mode.enabled:
            for a in args:
                if a._requires_grad:
                    out._requires_grad = True
                    out._ctx = record(op, args, attrs)
                    break
        return out

    @staticmethod
    def untracked_array(t: Tensor) -> np.ndarray | None:
        """``t``'s array when an op on it alone would record nothing on the tape, else None
        (also for a tensor on the GPU: its ops run as CUDA programs, not with numpy)."""
        if (t._requires_grad and _mode.enabled) or not isinstance(t._data, np.ndarray):
            return None
        return t._data

    @staticmethod
    def flatnonzero(t: Tensor) -> Tensor:
        """The flat positions of ``t``'s non-zero elements, a 1-D int64 tensor on ``t``'s device
        (for a cuda tensor found on the device: only their number is read to the host)."""
        if isinstance(t._data, np.ndarray):
            return new_tensor(np.flatnonzero(t._data).astype(np.int64))
        mask = t if t._data.dtype == np.bool_ else not_equal(t.detach(), 0)
        return device_flatnonzero(mask)

    @staticmethod
    def nonzero(t: Tensor) -> tuple[Tensor, ...]:
        """The indices of ``t``'s non-zero elements, one 1-D int64 tensor per dim on ``t``'s
        device, as numpy.nonzero (which refuses a 0-d array)."""
        if isinstance(t._data, np.ndarray):
            return tuple(new_tensor(i.astype(np.int64)) for i in np.nonzero(t._data))
        if t.ndim == 0:  # numpy's error, which the CPU path raises
            raise ValueError(
                "Calling nonzero on 0d arrays is not allowed. Use np.atleast_1d(scalar).nonzero() "
                "instead."
            )
        positions = EagerTensors.flatnonzero(t)
        if t.ndim == 1:
            return (positions,)
        coords = device_unravel(positions, t.shape)
        return tuple(coords[:, j] for j in range(t.ndim))

    @staticmethod
    def on_device_of(value: Any, like: Tensor) -> Tensor:
        """``value`` (a tensor or anything numpy reads) as a tensor on ``like``'s device: itself
        when it is there, else a copy."""
        target = like.device
        if isinstance(value, Tensor):
            return value if value.device == target else value.to(target)
        return new_tensor(move_array(np.asarray(value), target))

    @staticmethod
    def to_node(t: Tensor) -> Node:
        """A constant for a tensor without grad, the shared-storage variable for a leaf that
        requires grad or is a (frozen) Parameter, so compiled functions read its current value,
        and for a tensor computed from such leaves its tape replayed as graph (so gradients flow
        back to the parameters it came from)."""
        if not t._requires_grad:
            if type(t) is Parameter:
                return _leaf_variable(t)
            return constant(to_host(t._data))
        if t._ctx is None:
            return _leaf_variable(t)
        return _tape_as_graph(t)


def _leaf_variable(t: Tensor) -> Node:
    var = t._var
    if var is None or var.storage.array is not t._data:
        var = t._var = variable_from_storage(Storage(t._data))
    tape.note_captured(var, t)
    return var


def _tape_as_graph(root: Tensor) -> Node:
    """The graph that recomputes ``root`` from its leaves, following the tape (iteratively)."""
    nodes: dict[builtins.int, Node] = {}
    for t in ir.toposort([root], tape_inputs):
        ctx = t._ctx
        if not t._requires_grad:
            frozen = type(t) is Parameter
            nodes[id(t)] = _leaf_variable(t) if frozen else constant(to_host(t._data))
        elif ctx is None:
            nodes[id(t)] = _leaf_variable(t)
        elif ctx.inputs is None:
            raise TensorUsageError(
                "this tensor's tape was freed by an earlier backward(), so it cannot be turned "
                "into graph; pass retain_graph=True to that backward, or build it again"
            )
        else:
            op, inputs, attrs = ctx.op, ctx.inputs, ctx.attrs
            nodes[id(t)] = ir.make_node(op, [nodes[id(x)] for x in inputs], attrs)
    return nodes[id(root)]


EAGER = EagerTensors()
