"""The eager tape: grad mode, ``grad_fn`` names, and the backward pass over tensors.

Every op result that needs a gradient records a :class:`TapeEntry` in its ``_ctx``. The backward
pass is :func:`graphjit.autodiff.sweep.reverse_sweep`, the same sweep that differentiates graphs,
given a
``parents`` function that reads tape entries: the ops' vjp rules run on tensors, under
``no_grad`` (or recorded again, with ``create_graph=True``, for higher derivatives).

The version numbers catch a tensor modified in place after an op used it (its saved value would be
wrong): backward then raises instead of returning a silently wrong gradient, as PyTorch does.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from graphjit import ir
from graphjit.autodiff.sweep import VjpOp, reverse_sweep
from graphjit.errors import TensorUsageError
from graphjit.ops.dispatch import is_tensor, lift

if TYPE_CHECKING:
    from graphjit.tensor import Tensor  # the tape runs below the Tensor it records for

__all__ = [
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "is_grad_enabled",
    "backward",
    "grad",
    "vjp",
    "GradFn",
    "ImplicitGradientError",
    "capturing",
    "note_captured",
    "HookHandle",
]

# --------------------------------------------------------------------------------------------------
# grad mode


class _GradMode(threading.local):
    enabled = True


mode = _GradMode()


def is_grad_enabled() -> bool:
    return mode.enabled


class no_grad:  # noqa: N801 - PyTorch's name
    """Context manager and decorator (``@gj.no_grad`` or ``@gj.no_grad()``): ops inside record no
    tape, so their results do not require grad. Use it for optimiser steps and evaluation."""

    _enabled = False

    def __new__(cls, func: Callable[..., Any] | None = None) -> Any:
        self = super().__new__(cls)
        return self(func) if func is not None else self

    def __enter__(self) -> None:
        self._prev = mode.enabled
        mode.enabled = self._enabled

    def __exit__(self, *exc: object) -> None:
        mode.enabled = self._prev

    def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
        enabled = self._enabled

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            prev = mode.enabled
            mode.enabled = enabled
            try:
                return func(*args, **kwargs)
            finally:
                mode.enabled = prev

        return wrapper


class enable_grad(no_grad):  # noqa: N801
    """Context manager and decorator: record the tape again (inside a ``no_grad`` block)."""

    _enabled = True


class set_grad_enabled:  # noqa: N801
    """``set_grad_enabled(False)`` switches recording off now; used as a context manager it
    restores the previous mode on exit."""

    def __init__(self, enabled: bool) -> None:
        self._prev = mode.enabled
        mode.enabled = bool(enabled)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        mode.enabled = self._prev


# --------------------------------------------------------------------------------------------------
# tape entries and grad_fn


class TapeEntry(NamedTuple):
    """How a tensor was made: ``op(*inputs, **attrs)``, with the inputs' versions (and the
    output's) at that time, so that backward can tell that one was modified in place since.
    ``inputs`` is None once a backward has freed the entry. ``label`` names a composite (``mean``
    is recorded as ``sum / n`` but shows as ``MeanBackward0``)."""

    op: VjpOp
    inputs: Sequence[Tensor] | None
    attrs: dict[str, Any] | None
    versions: tuple[int, ...] | None
    out_version: int | None
    label: str | None = None


def record(
    op: VjpOp, inputs: Sequence[Tensor], attrs: dict[str, Any], out_version: int = 0
) -> TapeEntry:
    """A tape entry for ``op`` applied now to ``inputs`` (the eager hot path: built without
    NamedTuple's keyword handling)."""
    if len(inputs) == 2:  # most ops: no list built
        versions: tuple[int, ...] = (inputs[0]._version, inputs[1]._version)
    else:
        versions = tuple([x._version for x in inputs])
    return _new_entry(TapeEntry, (op, inputs, attrs, versions, out_version, None))


_new_entry = tuple.__new__

_TORCH_NAMES = {
    "add": "Add",
    "subtract": "Sub",
    "multiply": "Mul",
    "divide": "Div",
    "power": "Pow",
    "negative": "Neg",
    "matmul": "Mm",
    "astype": "ToCopy",
    "getitem": "Index",
    "concatenate": "Cat",
    "reshape": "View",
    "broadcast_to": "Expand",
    "expand_dims": "Unsqueeze",
}


def grad_fn_name(ctx: TapeEntry) -> str:
    """PyTorch's name for what made a tensor: ``MulBackward0``, ``MeanBackward0``...; a label
    that is already a full name (``lossBackward`` for a ``gj.jit`` function ``loss``, as PyTorch
    names a custom Function's node) is used as it is."""
    name = ctx.label
    if name is None:
        op = ctx.op.name
        name = _TORCH_NAMES.get(op) or "".join(p.capitalize() for p in op.split("_"))
    elif name.endswith("Backward"):
        return str(name)
    return f"{name}Backward0"


def labelled(t: Tensor, label: str) -> Tensor:
    """Name ``t``'s tape entry after the composite that made it (``mean`` is ``sum / n``, but
    PyTorch users expect ``MeanBackward0``)."""
    if t._ctx is not None:
        t._ctx = t._ctx._replace(label=label)
    return t


class GradFn:
    """What ``tensor.grad_fn`` shows: the op that made the tensor (class ``MulBackward0`` ...)."""

    __slots__ = ("op",)

    def __init__(self, op: VjpOp) -> None:
        self.op = op

    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{type(self).__name__} ({self.op.name})>"


_grad_fn_types: dict[str, type] = {}


def grad_fn(ctx: TapeEntry) -> GradFn:
    name = grad_fn_name(ctx)
    cls = _grad_fn_types.get(name)
    if cls is None:
        cls = _grad_fn_types[name] = type(name, (GradFn,), {"__slots__": ()})
    return cls(ctx.op)


def tape_inputs(t: Tensor) -> Sequence[Tensor]:
    """The tensors ``t`` was computed from (none for a leaf or a freed entry)."""
    ctx = t._ctx
    return () if ctx is None or ctx.inputs is None else ctx.inputs


def _tape_parents(t: Tensor) -> tuple[VjpOp, Sequence[Tensor], dict[str, Any]] | None:
    ctx = t._ctx
    if ctx is None:
        return None
    op, inputs, attrs, versions, out_version, _ = ctx
    if inputs is None or attrs is None or versions is None:
        raise TensorUsageError(
            f"backward through {grad_fn_name(ctx)} a second time: the first backward freed what "
            "it saved. Pass retain_graph=True to the first backward (or gj.grad) to keep it."
        )
    changed = t._version != out_version
    for x, v in zip(inputs, versions):  # a loop, not any(...): this runs for every tape entry
        changed = changed or x._version != v
    if changed:
        raise TensorUsageError(
            f"a tensor needed to differentiate {grad_fn_name(ctx)} was modified by an in-place "
            "operation after it was used; compute a new tensor instead, or .clone() it before "
            "modifying it"
        )
    return op, inputs, attrs


def _free(order: Sequence[Tensor]) -> None:
    for t in order:
        ctx = t._ctx
        if ctx is not None:
            t._ctx = TapeEntry(ctx.op, None, None, None, None, ctx.label)


def _reaching(order: Sequence[Tensor], wrt: Sequence[Tensor]) -> set[int]:
    """ids of the tensors in ``order`` that lie on a path from some tensor in ``wrt``."""
    reach = {id(w) for w in wrt}
    for v in order:
        ctx = v._ctx
        if ctx is not None and ctx.inputs is not None and any(id(x) in reach for x in ctx.inputs):
            reach.add(id(v))
    return reach


# --------------------------------------------------------------------------------------------------
# backward and grad


class ImplicitGradientError(TensorUsageError):
    """backward()/grad() of an output with more than one element and no gradient given: a
    RuntimeError as in PyTorch, and a ValueError as ``gj.grad`` raises for graphs."""


def _seed(y: Tensor, gradient: Any, what: str) -> Any:
    if gradient is None:
        if y.numel() != 1:
            raise ImplicitGradientError(
                f"{what}: the gradient can only be implied for a one-element output, this one has "
                f"shape {y.shape}; pass gradient= (a tensor of that shape), or reduce it first "
                "(e.g. y.sum().backward())"
            )
        return _on_device_of(y, lift(np.ones(y.shape, dtype=y.dtype)))
    g = _on_device_of(y, lift(gradient))
    if tuple(g.shape) != tuple(y.shape):
        raise ValueError(f"{what}: gradient has shape {g.shape}, the output has shape {y.shape}")
    return g if g.dtype == y.dtype else g.astype(y.dtype)


class HookHandle:
    """What ``Tensor.register_hook`` returns: ``remove()`` takes the hook off again."""

    __slots__ = ("_hooks",)

    def __init__(self, hooks: Hooks, hook: Callable[[Any], Any]) -> None:
        self._hooks = hooks
        hooks[self] = hook  # keyed by its handle: registration order, removal by identity

    def remove(self) -> None:
        self._hooks.pop(self, None)


# a tensor's gradient hooks, in the order they were registered
Hooks = dict[HookHandle, Callable[[Any], Any]]


def _run_hooks(t: Tensor, g: Any) -> Any:
    """``t``'s gradient ``g`` through the hooks registered on ``t``, in order: each sees the
    gradient so far and may return a replacement (of the same shape)."""
    hooks = t._hooks
    if not hooks:
        return g
    for hook in list(hooks.values()):
        new = hook(g)
        if new is None:
            continue
        new = _on_device_of(t, lift(new))
        if tuple(new.shape) != tuple(g.shape):
            raise ValueError(
                f"register_hook: a hook returned a gradient of shape {tuple(new.shape)}, the "
                f"tensor's gradient has shape {tuple(g.shape)}"
            )
        g = new if new.dtype == g.dtype else new.astype(g.dtype)
    return g


def _sweep(
    order: Sequence[Tensor],
    seeds: list[tuple[Tensor, Any]],
    active: Callable[[Any], bool],
    create_graph: bool,
) -> dict[int, Any]:
    hooked = any(t._hooks for t in order)
    prev = mode.enabled
    mode.enabled = bool(create_graph)
    try:
        return reverse_sweep(order, seeds, _tape_parents, active, _run_hooks if hooked else None)
    finally:
        mode.enabled = prev


def _requires(v: Tensor) -> bool:
    return v._requires_grad


def _on_device_of(t: Tensor, value: Tensor) -> Tensor:
    """``value`` on ``t``'s device (a seed or zero gradient of a tensor on the GPU)."""
    return value.to(t.device) if t.is_cuda and not value.is_cuda else value


def _accumulate_grad(t: Tensor, g: Tensor, create_graph: bool) -> None:
    """``t.grad += g``: in place on plain gradients (PyTorch), out of place on the tape (and on
    the GPU, where the sum is a new device array)."""
    if not create_graph:
        g = g.detach().clone()  # never alias another tensor's array
    if t.grad is None:
        t.grad = g
    elif create_graph or t.grad._requires_grad:
        t.grad = t.grad + g
    elif t.grad.is_cuda:
        with no_grad():
            t.grad._data = (t.grad + g)._data
        t.grad._version += 1
    else:
        t.grad._data += g._data
        t.grad._version += 1


def backward(
    y: Tensor,
    gradient: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Sequence[Tensor] | None = None,
) -> None:
    """``y.backward()``: accumulate d y / d leaf into ``.grad`` of each leaf that requires grad
    (of ``inputs`` only, when given) and of each tensor that called ``retain_grad()``."""
    if not y._requires_grad:
        raise TensorUsageError(
            "backward: this tensor does not require grad, so there is nothing to differentiate: "
            "none of its inputs had requires_grad=True, or it was computed under gj.no_grad()"
        )
    seed = _seed(y, gradient, "backward")
    if retain_graph is None:
        retain_graph = create_graph
    order = ir.toposort([y], inputs_of=tape_inputs)
    wanted: set[int] | None = None
    active: Callable[[Any], bool] = _requires
    if inputs is not None:
        wanted = {id(x) for x in inputs}
        reach = _reaching(order, list(inputs))
        active = lambda v: id(v) in reach  # noqa: E731
    cot = _sweep(order, [(y, seed)], active, create_graph)
    for t in order:
        if t._requires_grad and (t._ctx is None or t._retain):
            if wanted is not None and id(t) not in wanted:
                continue
            g = cot.get(id(t))
            if g is not None:
                _accumulate_grad(t, g, create_graph)
    if not retain_graph:
        _free(order)


def _tensor_list(xs: Any, what: str) -> list[Any]:
    if isinstance(xs, (str, bytes)) or not isinstance(xs, Iterable):
        raise TypeError(f"grad: {what} must be a Tensor or a list of them, got {type(xs).__name__}")
    return list(xs)


def grad(
    outputs: Any,
    inputs: Any,
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
) -> Any:
    """``gj.grad`` on tensors (PyTorch's ``torch.autograd.grad``): d outputs / d inputs, leaving
    ``.grad`` alone. A list in gives a list out; an input the outputs do not depend on gets
    zeros. With ``create_graph`` the results are on the tape (differentiate them again)."""
    outs = [outputs] if is_tensor(outputs) else _tensor_list(outputs, "outputs")
    single = is_tensor(inputs)
    ws = [inputs] if single else _tensor_list(inputs, "inputs")
    for i, w in enumerate(ws):
        if not is_tensor(w):
            raise TypeError(f"grad: inputs[{i}] is a {type(w).__name__}, expected a Tensor")
        if not w._requires_grad:
            raise TensorUsageError(f"grad: inputs[{i}] does not require grad")
    if grad_outputs is None:
        gos: list[Any] = [None] * len(outs)
    else:
        gos = (
            [grad_outputs]
            if len(outs) == 1 and not isinstance(grad_outputs, list)
            else list(grad_outputs)
        )
    if len(gos) != len(outs):
        raise ValueError(f"grad: {len(outs)} outputs but {len(gos)} grad_outputs")
    seeds = []
    for i, (o, go) in enumerate(zip(outs, gos)):
        if not is_tensor(o) or not o._requires_grad:
            raise TensorUsageError(
                f"grad: outputs[{i}] does not require grad (no input had requires_grad=True, or "
                "it was computed under gj.no_grad())"
            )
        seeds.append((o, _seed(o, go, "grad")))
    if retain_graph is None:
        retain_graph = create_graph
    order = ir.toposort(outs, inputs_of=tape_inputs)
    reach = _reaching(order, ws)
    cot = _sweep(order, seeds, lambda v: id(v) in reach, create_graph)
    result = []
    for w in ws:
        g = cot.get(id(w))
        if g is None:
            with no_grad():
                g = _on_device_of(w, lift(np.zeros(w.shape, dtype=w.dtype)))
        elif not create_graph:
            g = g.detach()
        result.append(g)
    if not retain_graph:
        _free(order)
    return result[0] if single else result


def vjp(outputs: Any, inputs: Any, cotangents: Any) -> Any:
    """``gj.vjp`` on tensors: sum_i cotangents[i] . d outputs[i] / d inputs (the tape is kept)."""
    cts = [cotangents] if is_tensor(outputs) else list(cotangents)
    return grad(outputs, inputs, grad_outputs=cts, retain_graph=True)


# --------------------------------------------------------------------------------------------------
# parameters captured by a trace (gj.jit differentiates a compiled call with respect to them)


class _Captured(threading.local):
    found: dict[ir.Node, Tensor] | None = None


_captured = _Captured()


@contextlib.contextmanager
def capturing() -> Iterator[dict[ir.Node, Tensor]]:
    """While a function is traced into a graph: every tensor that enters it as a variable sharing
    its storage (a parameter it closes over), keyed by that variable."""
    prev = _captured.found
    found: dict[ir.Node, Tensor] = {}
    _captured.found = found
    try:
        yield found
    finally:
        _captured.found = prev


def note_captured(var: ir.Node, t: Tensor) -> None:
    """Called by the eager backend when ``t`` becomes the graph variable ``var``."""
    if _captured.found is not None:
        _captured.found[var] = t
