"""The eager ``opt.step()`` of parameters on the GPU: the optimiser's own update graph, compiled
once for CUDA and run on the device.

An optimiser already describes its update as graph nodes for compiled training steps
(``Optimizer._step_graph``). For the parameters of an eager step that live on the GPU,
:class:`DeviceSteps` builds that update with each gradient as a placeholder, compiles it with
``backend="cuda"`` and keeps the program. The parameters and their state buffers (momentum, Adam's
moments and step count) are variables whose storage is on the device, so the runtime reads them in
place and writes their new values device to device: no parameter, gradient or state value goes
through the host. What still crosses, a few bytes per step, are the hyper-parameters an optimiser
holds in 0-d host arrays so that schedulers can move them (the learning rate, SGD's momentum,
Adam's first beta): the runtime copies each in as a host variable.

A program is kept per signature: which parameters have a gradient, their shapes and dtypes, the
variables they are (a parameter given new storage gets a new program), and the hyper-parameters
the update graph bakes in as constants (:meth:`Optimizer.step_signature`), so changing
``opt.weight_decay`` between steps compiles a new program rather than running a stale one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

import numpy as np

from graphjit.ir import Node
from graphjit.ops.dispatch import as_node, astype
from graphjit.ops.leaves import Variable, placeholder
from graphjit.runtime import CompiledFunction


class SteppedOptimizer(Protocol):
    """What a device step asks of an optimiser (``graphjit.optim.Optimizer`` provides it)."""

    def step_signature(self) -> tuple[Any, ...]: ...
    def _step_graph(self, i: int, p: Variable, g: Node) -> dict[Variable, Node]: ...
    def place_state(self, i: int, device: str) -> None: ...


# compiled steps kept per optimiser; a loop whose set of parameters with gradients keeps changing
# recompiles, but never grows without bound
MAX_PROGRAMS = 64


class DeviceParameter(NamedTuple):
    """One parameter of a device step: its position in the optimiser's list, its graph variable
    and the gradient's device array."""

    position: int
    variable: Variable
    grad: Any


class DeviceSteps:
    """The compiled device steps of one optimiser, per signature (see the module docstring)."""

    def __init__(self) -> None:
        self._programs: dict[tuple[Any, ...], CompiledFunction] = {}

    def __call__(self, opt: SteppedOptimizer, params: Sequence[DeviceParameter]) -> None:
        """Update ``params`` (parameters on the GPU with a gradient) and their state in place on
        the device."""
        if not params:
            return
        key = (
            type(opt),
            opt.step_signature(),
            tuple((p.position, p.variable, p.grad.shape, np.dtype(p.grad.dtype)) for p in params),
        )
        program = self._programs.get(key)
        if program is None:
            program = self._compile(opt, params)
            if len(self._programs) >= MAX_PROGRAMS:
                self._programs.clear()
            self._programs[key] = program
        program(*[p.grad for p in params])

    def __len__(self) -> int:
        return len(self._programs)

    @staticmethod
    def _compile(opt: SteppedOptimizer, params: Sequence[DeviceParameter]) -> CompiledFunction:
        grads: list[Node] = []
        updates: dict[Variable, Node] = {}
        for p in params:
            g = placeholder(f"grad{p.position}", tuple(p.grad.shape), np.dtype(p.grad.dtype).name)
            grads.append(g)
            value = g if g.dtype == p.variable.dtype else astype(g, p.variable.dtype)
            updates.update(opt._step_graph(p.position, p.variable, value))
            opt.place_state(p.position, "cuda")  # state the graph just made is on the host
        return CompiledFunction(grads, [], updates=updates, backend="cuda")


def device_parameter(index: int, param: Any) -> DeviceParameter:
    """The :class:`DeviceParameter` of a parameter tensor on the GPU that has a gradient."""
    var = as_node(param)
    if not isinstance(var, Variable):  # a leaf requiring grad is always one; say so if not
        raise TypeError(f"parameter {index} is not a leaf tensor, so it cannot be stepped")
    return DeviceParameter(index, var, param.grad._data)
