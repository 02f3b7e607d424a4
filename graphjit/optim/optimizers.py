"""Optimisers that step eagerly (``opt.step()`` after ``loss.backward()``) and also emit the same
update as graph nodes for a compiled training step (``gj.compile(..., updates=opt.updates(loss))``).

Both paths share state: the parameters' arrays and the optimiser's own buffers (momentum, Adam's
moments and step count) are the storage of graph variables, so a model can be trained eagerly,
then by a compiled step, then eagerly again, and every step sees the others' updates.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from graphjit import autodiff, ir
from graphjit.autodiff.tape import enable_grad
from graphjit.ir import Node
from graphjit.locks import STATE_LOCKS
from graphjit.nn.module import lock_stripes, mark_modified
from graphjit.ops import power, sqrt
from graphjit.ops.dispatch import as_node, is_tensor
from graphjit.ops.leaves import Storage, Variable, variable_from_storage
from graphjit.optim.device_step import DeviceSteps, device_parameter
from graphjit.tensor.parameter import Parameter

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad"]


def _check_hyper(
    owner: object, name: str, value: Any, low: float = 0.0, high: float | None = None
) -> float:
    """``value`` as a float, checked to be a number in ``[low, high)``; errors name ``owner``'s
    class."""
    cls = type(owner).__name__
    # numpy scalars (np.float32(0.1), np.int64(0)) are numbers.Real, as PyTorch accepts them
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{cls}: {name} must be a number, got {value!r}")
    value = float(value)
    if not (value >= low and (high is None or value < high)):
        bound = f"in [{low}, {high})" if high is not None else f">= {low}"
        raise ValueError(f"{cls}: {name} must be {bound}, got {value}")
    return value


def _copies(items: list[tuple[tuple[int, str], Storage]]) -> dict[str, np.ndarray]:
    return {f"{name}{i}": s.host().copy() for (i, name), s in items}


class Optimizer:
    """Holds the parameters and named state buffers shared by eager and compiled steps."""

    #: the rate the first learning-rate scheduler started from (PyTorch's ``initial_lr``)
    initial_lr: float | None = None

    def __init__(self, params: Iterable[Any], lr: float) -> None:
        name = type(self).__name__
        # a tensor is iterable (over its rows, each computed from it): it must not pass as a list
        if is_tensor(params) or isinstance(params, dict) or not isinstance(params, Iterable):
            raise TypeError(
                f"{name}: params must be an iterable of tensors (e.g. model.parameters()), "
                f"got {type(params).__name__}"
            )
        # a frozen gj.nn.Parameter (requires_grad=False) is left out: PyTorch's optimisers never
        # step a parameter without a gradient, so model.parameters() may include frozen ones
        self.params = [p for p in params if not (isinstance(p, Parameter) and not p.requires_grad)]
        if not self.params:
            raise ValueError(f"{name}: got an empty parameter list")
        for i, p in enumerate(self.params):
            if isinstance(p, dict):
                raise TypeError(
                    f"{name}: parameter {i} is a dict; parameter groups are not supported, "
                    "pass the tensors themselves (one optimiser per group of settings)"
                )
            if not is_tensor(p) or not p.requires_grad:
                raise TypeError(
                    f"{type(self).__name__}: parameter {i} must be a tensor with "
                    "requires_grad=True (e.g. from model.parameters())"
                )
            if p.dtype not in ("float32", "float64"):
                raise TypeError(f"{type(self).__name__}: parameter {i} is {p.dtype}, not float")
            if not p.is_leaf:
                # an op's result: it never gets a .grad, and a step would update a temporary
                raise ValueError(
                    f"{type(self).__name__}: parameter {i} is computed from other tensors (not a "
                    "leaf); optimise the leaf tensors it comes from (model.parameters())"
                )
        seen: dict[int, int] = {}
        for i, p in enumerate(self.params):
            if id(p) in seen:
                raise ValueError(
                    f"{type(self).__name__}: parameter {i} is the same tensor as parameter "
                    f"{seen[id(p)]}; pass each parameter once"
                )
            seen[id(p)] = i
        # the learning rate lives in a 0-d array read by compiled steps as a variable, so a
        # scheduler (or a plain assignment to ``opt.lr``) moves compiled steps as well
        self._lr = Storage(np.zeros((), np.float64))
        self._lr_var = variable_from_storage(self._lr, "lr")
        self.lr = lr
        self._state: dict[tuple[int, str], Storage] = {}
        self._state_of: dict[int, list[Storage]] = {}  # each parameter's buffers, to move them
        self._vars: dict[tuple[int, str], Variable] = {}
        self._device_steps = DeviceSteps()

    @property
    def lr(self) -> float:
        return float(self._lr.array)

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr.array[...] = _check_hyper(self, "lr", value)

    def lr_node(self, like: Variable) -> Node:
        """The learning rate as a graph value of ``like``'s dtype."""
        return self._lr_var.astype(like.dtype)

    def _hyper_variable(self, name: str, value: float) -> tuple[Storage, Variable]:
        """A hyper-parameter held in a 0-d float64 array that compiled steps read as a variable,
        so a scheduler cycling it (OneCycleLR's momentum) moves compiled steps too."""
        storage = Storage(np.array(value, np.float64))
        return storage, variable_from_storage(storage, name)

    def _buffer(self, i: int, name: str, like: np.ndarray | None = None) -> np.ndarray:
        """State buffer ``name`` of parameter ``i`` (zeros like the parameter, or a 0-d float64)."""
        key = (i, name)
        if key not in self._state:
            arr = np.zeros(like.shape, like.dtype) if like is not None else np.zeros((), np.float64)
            self._state[key] = Storage(arr)
            self._state_of.setdefault(i, []).append(self._state[key])
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
                p.grad.detach().zero_()  # in place, in host or GPU memory

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One eager update from the parameters' ``.grad`` (parameters without one are skipped).
        ``closure``, as PyTorch's, recomputes the loss (and its gradients) first; its result is
        returned.

        Parameters in host memory are updated with numpy; those on the GPU all at once by the
        update graph compiled for CUDA (:mod:`graphjit.optim.device_step`), on the device. Each
        parameter's state is kept where the parameter is (moved there when it is not)."""
        loss = None
        if closure is not None:
            if not callable(closure):
                raise TypeError(
                    f"{type(self).__name__}.step: closure must be callable, got "
                    f"{type(closure).__name__}"
                )
            with enable_grad():
                loss = closure()
        # checked before any parameter moves: numpy would broadcast a (1,) gradient silently
        for i, p in enumerate(self.params):
            if p.grad is not None and tuple(p.grad.shape) != tuple(p.shape):
                raise RuntimeError(
                    f"{type(self).__name__}.step: parameter {i} has shape {tuple(p.shape)} but "
                    f"its .grad has shape {tuple(p.grad.shape)}"
                )
        host = [i for i, p in enumerate(self.params) if p.grad is not None and not p.is_cuda]
        on_device = [
            device_parameter(i, p)
            for i, p in enumerate(self.params)
            if p.grad is not None and p.is_cuda
        ]
        if host:
            for i in host:
                self.place_state(i, "cpu")  # each buffer moved under its own lock
            # under the locks of compiled calls updating these parameters (or their state) in
            # other threads: neither writes a step computed from values the other overwrites
            keys = [s.key for i in host for s in self._state_of.get(i, ())]
            params = lock_stripes(self.params[i] for i in host)
            stripes = tuple(sorted({*params, *STATE_LOCKS.stripes(keys)}))
            STATE_LOCKS.write(stripes, self._host_steps, host)
        if on_device:
            for dp in on_device:
                self.place_state(dp.position, "cuda")
            self._device_steps(self, on_device)  # a compiled step: it takes the locks itself
            for dp in on_device:
                mark_modified(self.params[dp.position])
        return loss

    def _host_steps(self, host: list[int]) -> None:
        for i in host:
            p = self.params[i]
            self._step_array(i, p.numpy(), np.asarray(p.grad.numpy(), dtype=p.dtype))
            mark_modified(p)

    def place_state(self, i: int, device: str) -> None:
        """Move parameter ``i``'s state buffers to ``device`` (``"cpu"`` or ``"cuda"``), where
        they are not already."""
        for storage in self._state_of.get(i, ()):
            storage.to(device)

    def step_signature(self) -> tuple[Any, ...]:
        """What an update graph bakes in, so a compiled eager step is reused only while these
        are unchanged: the hyper-parameters held as plain numbers (graph constants) and, for
        those held in 0-d arrays (variables of the graph), whether they are zero, which decides
        the graph's structure (SGD's momentum buffer)."""
        # initial_lr is a scheduler's record, which no step reads
        plain = [
            (k, v)
            for k, v in vars(self).items()
            if isinstance(v, (bool, int, float)) and k != "initial_lr"
        ]
        held = [(k, bool(v.array)) for k, v in vars(self).items() if isinstance(v, Storage)]
        return tuple(sorted(plain)) + tuple(sorted(held))

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
            if var.storage.on_device:  # the state of a parameter on a GPU lives there too
                self.place_state(i, "cuda")
        return result

    def state_dict(self) -> dict[str, Any]:
        """A copy of every state buffer (momentum, moments, step counts), by name and parameter
        index, taken under the locks of compiled steps updating them: a step running in another
        thread is seen whole or not at all."""
        items = list(self._state.items())
        return STATE_LOCKS.call(STATE_LOCKS.stripes([s.key for _, s in items]), _copies, items)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Replace the state buffers with copies of ``state_dict``'s (from :meth:`state_dict` of
        an optimiser of the same class over parameters of the same shapes); buffers it does not
        name start afresh. Everything is checked before anything is written, so a refused dict
        leaves the optimiser as it was. Compiled steps keep reading the same buffers."""
        cls = type(self).__name__
        if not isinstance(state_dict, dict):
            raise TypeError(
                f"{cls}.load_state_dict: expected a dict, got {type(state_dict).__name__}"
            )
        staged: dict[tuple[int, str], np.ndarray] = {}
        for key, value in state_dict.items():
            match = re.fullmatch(r"([a-z_]+?)(\d+)", key) if isinstance(key, str) else None
            if match is None or match.group(1) not in self.state_names:
                raise KeyError(
                    f"{cls}.load_state_dict: unexpected key {key!r}; {cls} keeps "
                    f"{', '.join(self.state_names)} per parameter (e.g. {self.state_names[0]}0)"
                )
            name, i = match.group(1), int(match.group(2))
            if i >= len(self.params):
                raise KeyError(
                    f"{cls}.load_state_dict: key {key!r} is for parameter {i}, but the "
                    f"optimiser has {len(self.params)} parameters"
                )
            p = self.params[i]
            shape, dtype = ((), np.dtype(np.float64)) if name == "step" else (p.shape, p.dtype)
            arr = np.asarray(value)
            if arr.dtype.kind not in "fiu":
                raise TypeError(
                    f"{cls}.load_state_dict: {key!r} must be a real array, got dtype {arr.dtype}"
                )
            if tuple(arr.shape) != tuple(shape):
                raise ValueError(
                    f"{cls}.load_state_dict: {key!r} has shape {tuple(arr.shape)}, expected "
                    f"{tuple(shape)} (parameter {i}'s)"
                )
            staged[(i, name)] = np.array(arr, dtype=dtype)
        for i in sorted({i for i, _ in staged}):
            missing = [n for n in self._needed_state() if (i, n) not in staged]
            if missing:
                raise KeyError(
                    f"{cls}.load_state_dict: parameter {i}'s state lacks "
                    f"{', '.join(f'{n}{i}' for n in missing)}"
                )
        for i, name in staged:
            p = self.params[i]
            self._buffer(i, name, None if name == "step" else np.zeros(p.shape, p.dtype))
        items = list(self._state.items())
        on_device = [storage for _, storage in items if storage.on_device]
        for storage in on_device:
            storage.to("cpu")  # written on the host, then moved back
        stripes = STATE_LOCKS.stripes([s.key for _, s in items])
        STATE_LOCKS.write(stripes, self._load_buffers, items, staged)
        for storage in on_device:
            storage.to("cuda")

    #: the names of the state buffers this class keeps per parameter (``exp_avg`` ...)
    state_names: tuple[str, ...] = ()

    def _needed_state(self) -> tuple[str, ...]:
        """The buffers a step with the present settings keeps for each parameter."""
        return self.state_names

    def _load_buffers(
        self,
        items: list[tuple[tuple[int, str], Storage]],
        staged: dict[tuple[int, str], np.ndarray],
    ) -> None:
        for slot, storage in items:
            storage.array[...] = staged.get(slot, self._fresh_value(slot[1]))

    def _fresh_value(self, name: str) -> float:
        return 0.0

    def _step_array(self, i: int, p: np.ndarray, g: np.ndarray) -> None:
        raise NotImplementedError

    def _step_graph(self, i: int, p: Variable, g: Node) -> dict[Variable, Node]:
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum (PyTorch's formulation: the buffer is
    ``momentum * buf + g``), Nesterov momentum and weight decay."""

    state_names = ("momentum",)

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 0.01,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(params, lr)
        self._momentum, self._momentum_var = self._hyper_variable(
            "momentum", _check_hyper(self, "momentum", momentum)
        )
        self.weight_decay = _check_hyper(self, "weight_decay", weight_decay)
        if nesterov and self.momentum == 0:
            raise ValueError("SGD: nesterov momentum needs momentum > 0")
        self.nesterov = nesterov

    def _needed_state(self) -> tuple[str, ...]:
        return self.state_names if self.momentum else ()

    @property
    def momentum(self) -> float:
        """The momentum factor, a variable of compiled steps (whether a compiled step has a
        momentum buffer at all is decided by its value when the step is built)."""
        return float(self._momentum.array)

    @momentum.setter
    def momentum(self, value: float) -> None:
        self._momentum.array[...] = _check_hyper(self, "momentum", value)

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
            momentum = self._momentum_var.astype(p.dtype)
            buf = self._buffer_var(i, "momentum", p.storage.array)
            new_buf = buf * momentum + g
            out[buf] = new_buf
            g = g + momentum * new_buf if self.nesterov else new_buf
        out[p] = p - self.lr_node(p) * g
        return out


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction, as PyTorch's ``Adam`` (L2 ``weight_decay``)."""

    # AdamW's decay shrinks the parameter itself instead of adding to the gradient
    decoupled_weight_decay = False
    state_names = ("step", "exp_avg", "exp_avg_sq")

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
            raise TypeError(f"{type(self).__name__}: betas must be a pair of floats, got {betas!r}")
        self._beta1, self._beta1_var = self._hyper_variable(
            "beta1", _check_hyper(self, "betas[0]", betas[0], 0.0, 1.0)
        )
        self.beta2 = _check_hyper(self, "betas[1]", betas[1], 0.0, 1.0)
        self.eps = _check_hyper(self, "eps", eps)
        self.weight_decay = _check_hyper(self, "weight_decay", weight_decay)

    @property
    def beta1(self) -> float:
        """The first moment's decay, a variable of compiled steps (OneCycleLR cycles it)."""
        return float(self._beta1.array)

    @beta1.setter
    def beta1(self, value: float) -> None:
        self._beta1.array[...] = _check_hyper(self, "betas[0]", value, 0.0, 1.0)

    def _step_array(self, i: int, p: np.ndarray, g: np.ndarray) -> None:
        t_arr = self._buffer(i, "step")
        t_arr += 1.0
        t = float(t_arr)
        lr = p.dtype.type(self.lr)
        if self.weight_decay and self.decoupled_weight_decay:
            p *= 1 - lr * p.dtype.type(self.weight_decay)
        elif self.weight_decay:
            g = g + p.dtype.type(self.weight_decay) * p
        m = self._buffer(i, "exp_avg", p)
        v = self._buffer(i, "exp_avg_sq", p)
        m *= p.dtype.type(self.beta1)
        m += p.dtype.type(1 - self.beta1) * g
        v *= p.dtype.type(self.beta2)
        v += p.dtype.type(1 - self.beta2) * (g * g)
        m_hat = m / p.dtype.type(1 - self.beta1**t)
        v_hat = v / p.dtype.type(1 - self.beta2**t)
        p -= lr * m_hat / (np.sqrt(v_hat) + p.dtype.type(self.eps))

    def _step_graph(self, i: int, p: Variable, g: Node) -> dict[Variable, Node]:
        like = p.storage.array
        t = self._buffer_var(i, "step")
        m = self._buffer_var(i, "exp_avg", like)
        v = self._buffer_var(i, "exp_avg_sq", like)
        lr = self.lr_node(p)
        new_t = t + 1.0
        decayed: Node = p
        if self.weight_decay and self.decoupled_weight_decay:
            decayed = p * (1 - lr * self.weight_decay)
        elif self.weight_decay:
            g = g + self.weight_decay * p
        beta1 = self._beta1_var.astype(p.dtype)
        new_m = m * beta1 + (1.0 - self._beta1_var).astype(p.dtype) * g
        new_v = v * self.beta2 + (1 - self.beta2) * (g * g)
        bc1 = (1.0 - power(self._beta1_var, new_t)).astype(p.dtype)
        bc2 = (1.0 - power(self.beta2, new_t)).astype(p.dtype)
        new_p = decayed - lr * (new_m / bc1) / (sqrt(new_v / bc2) + self.eps)
        return {t: new_t, m: new_m, v: new_v, p: new_p}


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as PyTorch's ``AdamW``: each step
    first multiplies the parameter by ``1 - lr * weight_decay``."""

    decoupled_weight_decay = True

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)


class RMSprop(Optimizer):
    """RMSprop as PyTorch's: a running mean of squared gradients (``alpha``), optionally centred
    (minus the squared running mean of gradients), momentum and L2 ``weight_decay``."""

    state_names = ("square_avg", "grad_avg", "momentum_buffer")

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        super().__init__(params, lr)
        self.alpha = _check_hyper(self, "alpha", alpha)
        self.eps = _check_hyper(self, "eps", eps)
        self.weight_decay = _check_hyper(self, "weight_decay", weight_decay)
        self.momentum = _check_hyper(self, "momentum", momentum)
        self.centered = centered

    def _needed_state(self) -> tuple[str, ...]:
        return (
            ("square_avg",)
            + ("grad_avg",) * self.centered
            + ("momentum_buffer",) * bool(self.momentum)
        )

    def _step_array(self, i: int, p: np.ndarray, g: np.ndarray) -> None:
        f = p.dtype.type
        if self.weight_decay:
            g = g + f(self.weight_decay) * p
        sq = self._buffer(i, "square_avg", p)
        sq *= f(self.alpha)
        sq += f(1 - self.alpha) * (g * g)
        if self.centered:
            ga = self._buffer(i, "grad_avg", p)
            ga *= f(self.alpha)
            ga += f(1 - self.alpha) * g
            avg = np.sqrt(sq - ga * ga) + f(self.eps)
        else:
            avg = np.sqrt(sq) + f(self.eps)
        if self.momentum:
            buf = self._buffer(i, "momentum_buffer", p)
            buf *= f(self.momentum)
            buf += g / avg
            p -= f(self.lr) * buf
        else:
            p -= f(self.lr) * (g / avg)

    def _step_graph(self, i: int, p: Variable, g: Node) -> dict[Variable, Node]:
        like = p.storage.array
        out: dict[Variable, Node] = {}
        if self.weight_decay:
            g = g + self.weight_decay * p
        sq = self._buffer_var(i, "square_avg", like)
        new_sq = sq * self.alpha + (1 - self.alpha) * (g * g)
        out[sq] = new_sq
        if self.centered:
            ga = self._buffer_var(i, "grad_avg", like)
            new_ga = ga * self.alpha + (1 - self.alpha) * g
            out[ga] = new_ga
            avg = sqrt(new_sq - new_ga * new_ga) + self.eps
        else:
            avg = sqrt(new_sq) + self.eps
        if self.momentum:
            buf = self._buffer_var(i, "momentum_buffer", like)
            new_buf = buf * self.momentum + g / avg
            out[buf] = new_buf
            out[p] = p - self.lr_node(p) * new_buf
        else:
            out[p] = p - self.lr_node(p) * (g / avg)
        return out


class Adagrad(Optimizer):
    """Adagrad as PyTorch's: the step divided by the root of the summed squared gradients, the
    rate decayed as ``lr / (1 + (step - 1) * lr_decay)``."""

    state_names = ("step", "sum")

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ) -> None:
        super().__init__(params, lr)
        self.lr_decay = _check_hyper(self, "lr_decay", lr_decay)
        self.weight_decay = _check_hyper(self, "weight_decay", weight_decay)
        self.initial_accumulator_value = _check_hyper(
            self, "initial_accumulator_value", initial_accumulator_value
        )
        self.eps = _check_hyper(self, "eps", eps)

    def _fresh_value(self, name: str) -> float:
        return self.initial_accumulator_value if name == "sum" else 0.0

    def _sum(self, i: int, p: np.ndarray) -> np.ndarray:
        fresh = (i, "sum") not in self._state
        acc = self._buffer(i, "sum", p)
        if fresh:
            acc[...] = self.initial_accumulator_value
        return acc

    def _step_array(self, i: int, p: np.ndarray, g: np.ndarray) -> None:
        f = p.dtype.type
        t_arr = self._buffer(i, "step")
        t_arr += 1.0
        if self.weight_decay:
            g = g + f(self.weight_decay) * p
        clr = self.lr / (1 + (float(t_arr) - 1) * self.lr_decay)
        acc = self._sum(i, p)
        acc += g * g
        p -= f(clr) * (g / (np.sqrt(acc) + f(self.eps)))

    def _step_graph(self, i: int, p: Variable, g: Node) -> dict[Variable, Node]:
        like = p.storage.array
        self._sum(i, like)
        t = self._buffer_var(i, "step")
        acc = self._buffer_var(i, "sum", like)
        new_t = t + 1.0
        if self.weight_decay:
            g = g + self.weight_decay * p
        clr = (self._lr_var / (1.0 + (new_t - 1.0) * self.lr_decay)).astype(p.dtype)
        new_acc = acc + g * g
        new_p = p - clr * (g / (sqrt(new_acc) + self.eps))
        return {t: new_t, acc: new_acc, p: new_p}
