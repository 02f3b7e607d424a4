"""Optimisers that step eagerly (``opt.step()`` after ``loss.backward()``) and also emit the same
update as graph nodes for a compiled training step (``gj.compile(..., updates=opt.updates(loss))``).

Both paths share state: the parameters' arrays and the optimiser's own buffers (momentum, Adam's
moments and step count) are the storage of graph variables, so a model can be trained eagerly,
then by a compiled step, then eagerly again, and every step sees the others' updates.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from graphjit import autodiff, ir
from graphjit.ir import Node
from graphjit.nn.module import mark_modified
from graphjit.ops import power, sqrt
from graphjit.ops.dispatch import as_node, is_tensor
from graphjit.ops.leaves import Storage, Variable, variable_from_storage

__all__ = ["Optimizer", "SGD", "Adam"]


def _check_hyper(name: str, value: Any, low: float = 0.0, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not (value >= low and (high is None or value < high)):
        bound = f"in [{low}, {high})" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be {bound}, got {value}")
    return value


class Optimizer:
    """Holds the parameters and named state buffers shared by eager and compiled steps."""

    def __init__(self, params: Iterable[Any], lr: float) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        for i, p in enumerate(self.params):
            if not is_tensor(p) or not p.requires_grad:
                raise TypeError(
                    f"{type(self).__name__}: parameter {i} must be a tensor with "
                    "requires_grad=True (e.g. from model.parameters())"
                )
            if p.dtype not in ("float32", "float64"):
                raise TypeError(f"{type(self).__name__}: parameter {i} is {p.dtype}, not float")
        seen: dict[int, int] = {}
        for i, p in enumerate(self.params):
            if id(p) in seen:
                raise ValueError(
                    f"{type(self).__name__}: parameter {i} is the same tensor as parameter "
                    f"{seen[id(p)]}; pass each parameter once"
                )
            seen[id(p)] = i
        self.lr = _check_hyper("lr", lr)
        self._state: dict[tuple[int, str], Storage] = {}
        self._vars: dict[tuple[int, str], Variable] = {}

    def _buffer(self, i: int, name: str, like: np.ndarray | None = None) -> np.ndarray:
        """State buffer ``name`` of parameter ``i`` (zeros like the parameter, or a 0-d float64)."""
        key = (i, name)
        if key not in self._state:
            arr = np.zeros_like(like) if like is not None else np.zeros((), np.float64)
            self._state[key] = Storage(arr)
        return self._state[key].array

    def _buffer_var(self, i: int, name: str, like: np.ndarray | None = None) -> Variable:
        key = (i, name)
        if key not in self._vars:
            self._buffer(i, name, like)
            self._vars[key] = variable_from_storage(self._state[key], f"{name}{i}")
        return self._vars[key]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.numpy()[...] = 0

    def step(self) -> None:
        """One eager update from the parameters' ``.grad`` (parameters without one are skipped)."""
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            self._step_array(i, p.numpy(), np.asarray(p.grad.numpy(), dtype=p.dtype))
            mark_modified(p)

    def updates(self, loss: Node) -> dict[Variable, Node]:
        """The update of every parameter (and state buffer) as graph nodes, for ``gj.compile``."""
        if not isinstance(loss, Node):
            raise TypeError(
                "updates(loss) needs a graph loss built from placeholders (for an eager loss, "
                "call loss.backward() and opt.step())"
            )
        if tuple(loss.shape) != ():
            raise ValueError(
                f"updates(loss): the loss must be a scalar, got shape {tuple(loss.shape)} "
                "(reduce it with gj.mean or gj.sum)"
            )
        variables = [as_node(p) for p in self.params]
        # a parameter the loss does not reach has no gradient: it is left alone, as an eager
        # step skips a parameter whose .grad is None (weight decay and momentum do not move it)
        reached = set(ir.toposort([loss]))
        used = [i for i, var in enumerate(variables) if var in reached]
        grads = autodiff.grad(loss, [variables[i] for i in used])
        result: dict[Variable, Node] = {}
        for i, g in zip(used, grads):
            var = variables[i]
            assert isinstance(var, Variable)
            result.update(self._step_graph(i, var, g))
        return result

    def state_dict(self) -> dict[str, Any]:
        return {f"{name}{i}": s.array.copy() for (i, name), s in self._state.items()}

    def _step_array(self, i: int, p: np.ndarray, g: np.ndarray) -> None:
        raise NotImplementedError

    def _step_graph(self, i: int, p: Variable, g: Node) -> dict[Variable, Node]:
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum (PyTorch's formulation: the buffer is
    ``momentum * buf + g``), Nesterov momentum and weight decay."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 0.01,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(params, lr)
        self.momentum = _check_hyper("momentum", momentum)
        self.weight_decay = _check_hyper("weight_decay", weight_decay)
        if nesterov and self.momentum == 0:
            raise ValueError("SGD: nesterov momentum needs momentum > 0")
        self.nesterov = nesterov

    def _step_array(self, i: int, p: np.ndarray, g: np.ndarray) -> None:
        if self.weight_decay:
            g = g + p.dtype.type(self.weight_decay) * p
        if self.momentum:
            buf = self._buffer(i, "momentum", p)
            buf *= p.dtype.type(self.momentum)
            buf += g
            g = g + p.dtype.type(self.momentum) * buf if self.nesterov else buf
        p -= p.dtype.type(self.lr) * g

    def _step_graph(self, i: int, p: Variable, g: Node) -> dict[Variable, Node]:
        out: dict[Variable, Node] = {}
        if self.weight_decay:
            g = g + self.weight_decay * p
        if self.momentum:
            buf = self._buffer_var(i, "momentum", p.storage.array)
            new_buf = buf * self.momentum + g
            out[buf] = new_buf
            g = g + self.momentum * new_buf if self.nesterov else new_buf
        out[p] = p - self.lr * g
        return out


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction, as PyTorch's ``Adam`` (L2 ``weight_decay``)."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"Adam: betas must be a pair of floats, got {betas!r}")
        self.beta1 = _check_hyper("betas[0]", betas[0], 0.0, 1.0)
        self.beta2 = _check_hyper("betas[1]", betas[1], 0.0, 1.0)
        self.eps = _check_hyper("eps", eps)
        self.weight_decay = _check_hyper("weight_decay", weight_decay)

    def _step_array(self, i: int, p: np.ndarray, g: np.ndarray) -> None:
        t_arr = self._buffer(i, "step")
        t_arr += 1.0
        t = float(t_arr)
        if self.weight_decay:
            g = g + p.dtype.type(self.weight_decay) * p
        m = self._buffer(i, "exp_avg", p)
        v = self._buffer(i, "exp_avg_sq", p)
        m *= p.dtype.type(self.beta1)
        m += p.dtype.type(1 - self.beta1) * g
        v *= p.dtype.type(self.beta2)
        v += p.dtype.type(1 - self.beta2) * (g * g)
        m_hat = m / p.dtype.type(1 - self.beta1**t)
        v_hat = v / p.dtype.type(1 - self.beta2**t)
        p -= p.dtype.type(self.lr) * m_hat / (np.sqrt(v_hat) + p.dtype.type(self.eps))

    def _step_graph(self, i: int, p: Variable, g: Node) -> dict[Variable, Node]:
        like = p.storage.array
        t = self._buffer_var(i, "step")
        m = self._buffer_var(i, "exp_avg", like)
        v = self._buffer_var(i, "exp_avg_sq", like)
        new_t = t + 1.0
        if self.weight_decay:
            g = g + self.weight_decay * p
        new_m = m * self.beta1 + (1 - self.beta1) * g
        new_v = v * self.beta2 + (1 - self.beta2) * (g * g)
        bc1 = (1.0 - power(self.beta1, new_t)).astype(p.dtype)
        bc2 = (1.0 - power(self.beta2, new_t)).astype(p.dtype)
        new_p = p - self.lr * (new_m / bc1) / (sqrt(new_v / bc2) + self.eps)
        return {t: new_t, m: new_m, v: new_v, p: new_p}
