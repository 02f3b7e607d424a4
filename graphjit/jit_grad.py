"""A ``gj.jit`` call as one eager op: compiled forward and backward, recorded on the tape.

When a jit function is called with tensors while grad mode is on and some input requires grad (an
argument, or a parameter the function closes over), the call records one tape vertex. Its forward
is a compiled program that returns the outputs and also the intermediate values the gradient
reads; its backward is a second compiled program, the traced graph's vjp (``gj.vjp`` with one
cotangent placeholder per output) taking those saved values as inputs instead of recomputing them.
Both are built once per signature and set of inputs that require grad (:class:`GradPlan`).

Each output a gradient can reach gets a small tape vertex of its own (its ``grad_fn``, named after
the function), which hands its cotangent on to the call's vertex inside one gathered value
(:class:`OutputCotangents`): however many outputs the loss uses, the backward program runs once.

Differentiating through the backward (``create_graph=True``) needs the gradient as tape, not as
numbers: then the traced graph is replayed eagerly, op by op with the same ops, and the tape
differentiates that.

A call with tensors on the GPU runs both programs compiled for CUDA: its results, the saved
values and the cotangents stay device arrays, and the replay runs the eager ops on the device.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphjit import autodiff, ir
from graphjit.autodiff import tape
from graphjit.autodiff.tape import TapeEntry
from graphjit.cuda_compat import as_numba_device_array
from graphjit.dtypes import is_float
from graphjit.errors import TensorUsageError
from graphjit.ir import Node, TensorType
from graphjit.ops.dispatch import is_tensor
from graphjit.ops.leaves import CONSTANT, VARIABLE, constant_value, placeholder
from graphjit.rewrite import optimize
from graphjit.runtime import CompiledFunction
from graphjit.runtime import compile as gj_compile
from graphjit.tensor import Tensor
from graphjit.tensor.backend import EagerTensors
from graphjit.tensor.device import CUDA, move_array
from graphjit.tensor.tensor import new_tensor

__all__ = ["GradPlan", "build_plan", "call_with_grad", "OutputCotangents", "result_tensor"]


def result_tensor(r: Any) -> Tensor:
    """A compiled function's result as a tensor over it: a host array (copied when it is
    read-only, a constant's value say), or a device array as a tensor on the GPU."""
    if isinstance(r, np.ndarray):
        return new_tensor(r if r.flags.writeable else r.copy())
    return new_tensor(as_numba_device_array(r))


@dataclass(frozen=True)
class GradPlan:
    """The two programs of a differentiable call, for one signature and one choice of the
    inputs that require grad."""

    forward: CompiledFunction  # arguments -> outputs, then the saved values
    backward: CompiledFunction  # arguments, cotangents, saved values -> one gradient per wrt
    n_outputs: int
    differentiable: tuple[int, ...]  # outputs that get a grad_fn: float, reached from a wrt
    wrt_args: tuple[int, ...]  # the argument arrays differentiated, by position
    wrt_params: tuple[Node, ...]  # the captured variables differentiated
    n_saved: int  # forward values handed to the backward program


def _reached(outputs: Sequence[Node], wrt: Sequence[Node]) -> set[int]:
    reach = {id(w) for w in wrt}
    for n in ir.toposort(outputs):
        if any(id(x) in reach for x in n.inputs):
            reach.add(id(n))
    return reach


def build_plan(
    inputs: Sequence[Node],
    outputs: Sequence[Node],
    wrt_args: tuple[int, ...],
    wrt_params: tuple[Node, ...],
    backend: str,
    optimize_graph: bool,
) -> GradPlan | None:
    """The forward and vjp programs of ``outputs`` with respect to the chosen arguments and
    variables; None when no float output depends on them."""
    outs = list(outputs)
    wrt = [inputs[i] for i in wrt_args] + list(wrt_params)
    reach = _reached(outs, wrt)
    diff = tuple(i for i, o in enumerate(outs) if is_float(o.dtype) and id(o) in reach)
    if not diff:
        return None
    cotangents = [placeholder(f"grad_{i}", outs[i].shape, outs[i].dtype) for i in diff]
    # gj.vjp differentiates the optimised outputs; the forward values it reads are nodes of that
    # graph (optimize is deterministic and nodes are hash-consed, so this names the same nodes)
    targets = optimize([outs[i] for i in diff])
    grads = autodiff.vjp(targets, wrt, cotangents)
    forward_nodes = {id(n) for n in ir.toposort([*targets, *outs]) if n.inputs}
    # the forward values the gradient graph reads first (it computes nothing below them again)
    frontier = ir.toposort(grads, lambda n: () if id(n) in forward_nodes else n.inputs)
    saved = [n for n in frontier if id(n) in forward_nodes]
    saved_inputs = [placeholder(f"saved_{k}", n.shape, n.dtype) for k, n in enumerate(saved)]
    grads = ir.graph_replace(grads, dict(zip(saved, saved_inputs)))
    if optimize_graph:
        # some forward nodes are read only for their shape (a broadcast's target): once the
        # gradient graph is optimised those reads may be gone, and so is the need to save them
        grads = optimize(grads)
        used = {id(n) for n in ir.leaves(grads, "placeholder")}
        kept = [k for k, ph in enumerate(saved_inputs) if id(ph) in used]
        saved, saved_inputs = [saved[k] for k in kept], [saved_inputs[k] for k in kept]
    forward = gj_compile(list(inputs), [*outs, *saved], backend=backend, optimize=optimize_graph)
    backward = gj_compile(
        [*inputs, *cotangents, *saved_inputs], grads, backend=backend, optimize=optimize_graph
    )
    return GradPlan(forward, backward, len(outs), diff, wrt_args, wrt_params, len(saved))


# --------------------------------------------------------------------------------------------------
# the tape vertices


class OutputCotangents:
    """The cotangents reaching a call's outputs, gathered into one value for the call's vertex.
    The sweep only adds these (and reads ``shape``/``dtype``, which match the vertex's)."""

    __slots__ = ("by_output",)
    shape: tuple[int, ...] = ()
    dtype = "float64"

    def __init__(self, by_output: dict[int, Any]) -> None:
        self.by_output = by_output

    def __add__(self, other: OutputCotangents) -> OutputCotangents:
        merged = dict(self.by_output)
        for i, g in other.by_output.items():
            merged[i] = g if i not in merged else merged[i] + g
        return OutputCotangents(merged)


def _no_graph(*types: TensorType, **attrs: Any) -> TensorType:
    raise TypeError(
        "a gj.jit result that requires grad cannot enter a graph (it came out of compiled "
        "code); call the plain Python function inside the graph instead, or .detach() it"
    )


@dataclass(frozen=True, eq=False)
class _JitOutput:
    """The tape op of one output of a call: passes its cotangent on to the call."""

    name: str
    infer = staticmethod(_no_graph)

    def backward(
        self, g: Any, out: Any, inputs: Sequence[Any], attrs: dict[str, Any], needs: Sequence[bool]
    ) -> list[Any]:
        return [OutputCotangents({attrs["index"]: g})]


@dataclass(eq=False)
class _Call:
    """What the backward of one call needs: the programs, its argument arrays and saved values."""

    plan: GradPlan
    graph_inputs: tuple[Node, ...]
    graph_outputs: tuple[Node, ...]
    params: dict[Node, Tensor]
    values: list[Any]  # the arguments' arrays and tensors, as called
    arrays: list[Any]  # host arrays, or device arrays for a call on the GPU
    saved: list[Any]
    out_types: list[tuple[tuple[int, ...], np.dtype]]
    watched: list[tuple[Tensor, int]]  # tensor arguments without grad, and their versions
    on_device: bool  # the programs run on the GPU: the cotangents must be device arrays

    def cotangent_arrays(self, by_output: dict[int, Any]) -> list[Any]:
        result = []
        for i in self.plan.differentiable:
            shape, dtype = self.out_types[i]
            g = by_output.get(i)
            if not self.on_device:
                result.append(np.zeros(shape, dtype) if g is None else np.asarray(g.numpy(), dtype))
            elif g is None:  # an output the loss does not use
                result.append(move_array(np.zeros(shape, dtype), CUDA))
            else:
                g = g.detach()
                result.append((g if g.dtype == dtype.name else g.astype(dtype.name))._data)
        return result


@dataclass(frozen=True, eq=False)
class _JitCall:
    """The tape op of a whole call: runs the compiled vjp program (or replays the graph on the
    tape when the backward is itself recorded)."""

    name: str
    infer = staticmethod(_no_graph)

    def backward(
        self, g: Any, out: Any, inputs: Sequence[Any], attrs: dict[str, Any], needs: Sequence[bool]
    ) -> list[Any]:
        call: _Call = attrs["call"]
        for t, version in call.watched:
            if t._version != version:
                raise TensorUsageError(
                    f"an argument of the gj.jit function {self.name} was modified by an in-place "
                    "operation after the call; its backward needs the value it was called with"
                )
        if tape.is_grad_enabled():  # create_graph: the gradient must be on the tape
            return _replayed_vjp(call, g.by_output, inputs, needs)
        grads = call.plan.backward(*call.arrays, *call.cotangent_arrays(g.by_output), *call.saved)
        return [result_tensor(r) if need else None for r, need in zip(grads, needs)]


def _replayed_vjp(
    call: _Call, by_output: dict[int, Any], inputs: Sequence[Tensor], needs: Sequence[bool]
) -> list[Any]:
    """The vjp on the tape: run the traced graph eagerly with the same ops, differentiate it."""
    env: dict[int, Tensor] = {}
    for ph, v in zip(call.graph_inputs, call.values):
        env[id(ph)] = v if is_tensor(v) else new_tensor(np.asarray(v))
    for n in ir.toposort(call.graph_outputs):
        if id(n) in env:
            continue
        if n.op is CONSTANT:
            value = constant_value(n)
            if call.on_device and value.ndim:  # 0-d host values mix with device ones
                value = move_array(value, CUDA)
            env[id(n)] = new_tensor(value)
        elif n.op is VARIABLE:
            param = call.params.get(n)
            env[id(n)] = new_tensor(n.attrs["storage"].array) if param is None else param
        else:
            args = tuple(env[id(x)] for x in n.inputs)
            env[id(n)] = EagerTensors.run(n.op, args, dict(n.attrs))
    pairs = [(env[id(call.graph_outputs[i])], g) for i, g in sorted(by_output.items())]
    pairs = [(o, g) for o, g in pairs if o._requires_grad]
    wanted = [x for x, need in zip(inputs, needs) if need]
    if not pairs or not wanted:
        return [None] * len(inputs)
    grads = iter(
        tape.grad(
            [o for o, _ in pairs],
            wanted,
            grad_outputs=[g for _, g in pairs],
            retain_graph=True,
            create_graph=True,
        )
    )
    return [next(grads) if need else None for need in needs]


# --------------------------------------------------------------------------------------------------
# a call


def call_with_grad(
    plan: GradPlan,
    fn_name: str,
    graph_inputs: tuple[Node, ...],
    graph_outputs: tuple[Node, ...],
    params: dict[Node, Tensor],
    values: list[Any],
    arrays: list[Any],
    on_device: bool = False,
) -> list[Tensor]:
    """Run the forward program and return the outputs as tensors, those a gradient reaches with
    a ``grad_fn`` whose backward runs the vjp program (``on_device``: the programs are compiled
    for CUDA and ``arrays`` hold device arrays)."""
    results = plan.forward(*arrays)
    outs, saved = results[: plan.n_outputs], results[plan.n_outputs :]
    wrt = [values[i] for i in plan.wrt_args] + [params[v] for v in plan.wrt_params]
    call = _Call(
        plan,
        graph_inputs,
        graph_outputs,
        params,
        values,
        arrays,
        list(saved),
        [(tuple(r.shape), np.dtype(r.dtype)) for r in outs],
        [(v, v._version) for v in values if is_tensor(v) and not v._requires_grad],
        on_device,
    )
    label = (re.sub(r"\W", "", fn_name) or "jit") + "Backward"
    vertex = new_tensor(np.zeros(()))  # the call itself: its cotangent is an OutputCotangents
    vertex._requires_grad = True
    vertex._ctx = TapeEntry(
        _JitCall(label), tuple(wrt), {"call": call}, tuple(t._version for t in wrt), 0
    )
    output_op = _JitOutput(label)
    tensors = []
    for i, r in enumerate(outs):
        t = result_tensor(r)
        if i in plan.differentiable:
            t._requires_grad = True
            t._ctx = TapeEntry(output_op, (vertex,), {"index": i}, (0,), 0, label)
        tensors.append(t)
    return tensors
