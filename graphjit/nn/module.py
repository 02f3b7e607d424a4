"""``Module``: parameters, submodules and state dicts, in PyTorch's shape.

A module's ``forward`` is written once with ``gj.*`` functions. Called on eager tensors it computes
at once and records the tape; called on graph nodes it builds graph, and each parameter enters
the graph as a variable sharing the parameter's storage, so a compiled training step updates the
very arrays the eager model reads (and the other way round).

Buffers (``register_buffer``) are state that is not trained, such as BatchNorm's running
statistics. Eagerly a layer updates them in place. On graphs a buffer enters as a variable over its
storage and a layer cannot write it; it records the update instead (:meth:`Module.record_update`),
and :meth:`Module.buffer_updates` hands the recorded updates to ``gj.compile(..., updates=...)``.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple, overload

import numpy as np

from graphjit import ir
from graphjit.cuda_compat import array_address
from graphjit.ir import Node
from graphjit.locks import STATE_LOCKS
from graphjit.ops.counter_rng import COUNTER_UNIFORM, GRAPH_GENERATOR
from graphjit.ops.dispatch import as_node, is_tensor
from graphjit.ops.leaves import Storage, Variable, variable_from_storage, write_array
from graphjit.tensor.device import check_device
from graphjit.tensor.parameter import Parameter

# reads a buffer's value as of the updates recorded before this one
BufferReader = Callable[[Variable], Node]


def mark_modified(t: Any) -> None:
    """Record that ``t``'s array was written in place (as a tensor's own in-place ops do), so a
    backward through a tape that saved the old values raises instead of using the new ones."""
    if hasattr(t, "_version"):
        t._version += 1


def lock_stripes(tensors: Iterable[Any]) -> tuple[int, ...]:
    """The stripes of the locks that compiled calls take for these tensors' arrays (see
    :mod:`graphjit.locks`): the key of the variable sharing a tensor's array, which keeps the
    address the array had when the variable was made, else the array's own address."""
    keys = []
    for t in tensors:
        var = getattr(t, "_var", None)
        if var is not None and var.storage.array is t._data:
            keys.append(var.storage.key)
        else:
            keys.append(array_address(t._data))
    return STATE_LOCKS.stripes(keys)


def _copies(named: list[tuple[str, Any]]) -> dict[str, np.ndarray]:
    return {name: t.detach().cpu().numpy().copy() for name, t in named}


def _load(pending: list[tuple[Any, np.ndarray]]) -> None:
    for p, arr in pending:
        write_array(p._data, arr)  # in place, in host or GPU memory
        mark_modified(p)


def operand(param: Any, like: Any) -> Any:
    """``param`` in the same world as ``like``: its graph variable when ``like`` is a node.

    Layers call this before doing anything to a parameter alone (``W.T``), so that the work happens
    in the graph rather than eagerly on a copy."""
    if param is None:
        return None
    return as_node(param) if isinstance(like, Node) else param


def random_updates(*outputs: Node) -> dict[Variable, Node]:
    """The update advancing the graph generator's counter when ``outputs`` draw from it (a
    dropout in training mode), so each call of the compiled step draws new numbers; else {}."""
    counter = GRAPH_GENERATOR.counter_variable
    for node in ir.toposort(list(outputs)):
        if node.op is COUNTER_UNIFORM and counter in node.inputs:
            return GRAPH_GENERATOR.advance()
    return {}


def untracked_state(*outputs: Node) -> list[str]:
    """What in the graph of ``outputs`` needs updates that a plain compile of them would lack:
    buffer updates recorded by modules (BatchNorm in training mode) and random draws (dropout).
    Callers that compile without updates (``gj.jit``) refuse such graphs instead of silently
    repeating a mask or leaving running statistics behind; the records found are dropped."""
    reached = set(ir.toposort(list(outputs)))
    found: list[str] = []
    for mod in list(_RECORDING):
        mine = [r for r in mod._recorded if r.anchor in reached]
        if mine:
            found.append(f"{type(mod).__name__}'s buffer updates")
            mod._recorded[:] = [r for r in mod._recorded if r.anchor not in reached]
    if random_updates(*outputs):
        found.append("random numbers (dropout in training mode)")
    return found


class BufferUpdate(NamedTuple):
    """An update of buffers recorded by a graph-building ``forward`` in training mode.

    ``anchor`` is a node of the graph the call built (its input): :meth:`Module.buffer_updates`
    keeps only the records whose anchor the given outputs reach. ``rule`` maps a reader of the
    buffers' current values to their new values, so two calls of one layer chain as they do
    eagerly."""

    anchor: Node
    rule: Callable[[BufferReader], dict[Variable, Node]]


class Module:
    """Base class of models and layers: subclasses set parameters, buffers and submodules as
    attributes in ``__init__`` and define ``forward``."""

    _parameters: dict[str, Any]
    _buffers: dict[str, Any]
    _non_persistent: set[str]
    _buffer_vars: dict[str, Variable]
    _recorded: list[BufferUpdate]
    _modules: dict[str, Module]
    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_buffer_vars", {})
        object.__setattr__(self, "_recorded", [])
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() is called; call "
                "super().__init__() first in your __init__"
            )
        params: dict[str, Any] = self.__dict__["_parameters"]
        modules: dict[str, Module] = self.__dict__["_modules"]
        buffers: dict[str, Any] = self.__dict__["_buffers"]
        is_param = isinstance(value, Parameter) or (is_tensor(value) and value.requires_grad)
        if name in params and not (is_param or value is None or isinstance(value, Module)):
            raise TypeError(
                f"cannot assign {type(value).__name__} as parameter {name!r} of "
                f"{type(self).__name__} (a gj.nn.Parameter, a tensor that requires grad, or None "
                "expected)"
            )
        if name in buffers and (value is None or (is_tensor(value) and not is_param)):
            # assigning a tensor to a buffer's name replaces the buffer (PyTorch's rule)
            buffers[name] = value
            self.__dict__["_buffer_vars"].pop(name, None)
            object.__setattr__(self, name, value)
            return
        home = modules if isinstance(value, Module) else params if is_param else None
        for registry in (params, modules):
            if registry is not home:
                registry.pop(name, None)
        if name in buffers:
            self._forget_buffer(name)
        if home is not None:
            home[name] = value  # a replaced parameter or module keeps its place, as in PyTorch
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self.__dict__["_parameters"].pop(name, None)
        self.__dict__["_modules"].pop(name, None)
        if name in self.__dict__["_buffers"]:
            self._forget_buffer(name)
        object.__delattr__(self, name)

    def _forget_buffer(self, name: str) -> None:
        self._buffers.pop(name, None)
        self._non_persistent.discard(name)
        self._buffer_vars.pop(name, None)

    # -- parameters and buffers
    def register_parameter(self, name: str, param: Any) -> None:
        """Add ``param`` (a :class:`Parameter`, a tensor that requires grad, or None) as
        parameter ``name``, as PyTorch's."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot register a parameter before Module.__init__() is called")
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(
                f"register_parameter: the name must be a non-empty str without '.', got {name!r}"
            )
        if name in self._buffers or name in self._modules:
            raise KeyError(f"register_parameter: {name!r} is already a buffer or submodule")
        if param is None:
            self._parameters.pop(name, None)
            object.__setattr__(self, name, None)
            return
        if not (isinstance(param, Parameter) or (is_tensor(param) and param.requires_grad)):
            what = "a tensor without grad" if is_tensor(param) else type(param).__name__
            raise TypeError(
                f"register_parameter: parameter {name!r} must be a gj.nn.Parameter, a tensor "
                f"that requires grad, or None; got {what} (wrap it: gj.nn.Parameter(t))"
            )
        setattr(self, name, param)

    def register_buffer(self, name: str, tensor: Any, persistent: bool = True) -> None:
        """Add state that is not trained (BatchNorm's running statistics): a tensor without grad,
        or None. Persistent buffers are saved in ``state_dict`` under their dotted names."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot register a buffer before Module.__init__() is called")
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(
                f"register_buffer: the name must be a non-empty str without '.', got {name!r}"
            )
        if name in self._parameters or name in self._modules:
            raise KeyError(f"register_buffer: {name!r} is already a parameter or submodule")
        if tensor is not None and not is_tensor(tensor):
            raise TypeError(
                f"register_buffer: buffer {name!r} must be a gj tensor or None, got "
                f"{type(tensor).__name__}"
            )
        if tensor is not None and tensor.requires_grad:
            raise ValueError(
                f"register_buffer: buffer {name!r} requires grad; a trained tensor is a parameter"
            )
        self._buffers[name] = tensor
        self._buffer_vars.pop(name, None)
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)
        object.__setattr__(self, name, tensor)

    def named_buffers(self) -> Iterator[tuple[str, Any]]:
        """Every buffer that is not None, by dotted name, in ``named_modules`` order."""
        seen: set[int] = set()
        for prefix, mod in self.named_modules():
            for name, b in mod._buffers.items():
                if b is None or id(b) in seen:
                    continue
                seen.add(id(b))
                yield (f"{prefix}.{name}" if prefix else name), b

    def buffers(self) -> Iterator[Any]:
        for _, b in self.named_buffers():
            yield b

    def buffer_variable(self, name: str) -> Variable:
        """Buffer ``name`` as a graph variable over its storage: compiled functions read its
        current value and their updates write into the very array the eager module reads."""
        t = self._buffers.get(name)
        if t is None:
            raise KeyError(f"{type(self).__name__} has no buffer {name!r}")
        var = self._buffer_vars.get(name)
        if var is None or var.storage.array is not t._data:  # host or GPU memory
            var = variable_from_storage(Storage(t._data), name)
            self._buffer_vars[name] = var
        return var

    def record_update(
        self, anchor: Node, rule: Callable[[BufferReader], dict[Variable, Node]]
    ) -> None:
        """Record an update of this module's buffers made by a graph-building call (see
        :class:`BufferUpdate`); layers call this where they would write a buffer eagerly."""
        self._recorded.append(BufferUpdate(anchor, rule))
        _RECORDING.add(self)

    def buffer_updates(self, *outputs: Node) -> dict[Variable, Node]:
        """The buffer updates recorded by graph-building calls of this module and its submodules,
        as ``{variable: new value}`` for ``gj.compile(..., updates=...)``; the records are cleared.

        With ``outputs`` (the loss), only the calls whose graph the outputs reach count, so an
        earlier graph built in training mode and never compiled does not leak into this one, and
        the update includes :func:`random_updates` (dropout's generator counter). Several calls
        of one layer chain in call order, as eager calls do."""
        reached = set(ir.toposort(list(outputs))) if outputs else None
        current: dict[Variable, Node] = {}

        def read(var: Variable) -> Node:
            return current.get(var, var)

        for _, mod in self.named_modules():
            records, mod._recorded[:] = list(mod._recorded), []
            for record in records:
                if reached is None or record.anchor in reached:
                    current.update(record.rule(read))
        if outputs:
            current.update(random_updates(*outputs))
        return current

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # -- traversal
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every submodule once, depth first in registration order (PyTorch's
        order, so parameter names and optimiser state line up with a PyTorch port)."""
        stack: list[tuple[str, Module]] = [(prefix, self)]
        seen: set[int] = set()
        while stack:
            name, mod = stack.pop()
            if id(mod) in seen:
                continue
            seen.add(id(mod))
            yield name, mod
            children = list(mod._modules.items())
            for child_name, child in reversed(children):
                stack.append((f"{name}.{child_name}" if name else child_name, child))

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def children(self) -> Iterator[Module]:
        yield from self._modules.values()

    def named_parameters(self) -> Iterator[tuple[str, Any]]:
        seen: set[int] = set()
        for prefix, mod in self.named_modules():
            for name, p in mod._parameters.items():
                if id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{prefix}.{name}" if prefix else name), p

    def parameters(self) -> Iterator[Any]:
        for _, p in self.named_parameters():
            yield p

    # -- state
    def _named_state(self) -> Iterator[tuple[str, Any]]:
        """Parameters and persistent buffers, each module's own before its children's (the order
        of PyTorch's state dicts)."""
        seen: set[int] = set()
        for prefix, mod in self.named_modules():
            own = list(mod._parameters.items()) + [
                (n, b)
                for n, b in mod._buffers.items()
                if b is not None and n not in mod._non_persistent
            ]
            for name, t in own:
                if id(t) in seen:
                    continue
                seen.add(id(t))
                yield (f"{prefix}.{name}" if prefix else name), t

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter's and persistent buffer's value, by dotted name
        (``bn.weight``, ``bn.running_mean``, ``bn.num_batches_tracked``), numpy arrays (from the
        GPU too). Taken under the locks of compiled calls updating them: a training step running
        in another thread is seen whole or not at all."""
        named = list(self._named_state())
        return STATE_LOCKS.call(lock_stripes(t for _, t in named), _copies, named)

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> None:
        """Copy values into the parameters and persistent buffers in place (so compiled functions
        keep seeing them)."""
        if not isinstance(state, dict):
            raise TypeError(f"load_state_dict: expected a dict, got {type(state).__name__}")
        params = dict(self._named_state())
        missing = sorted(set(params) - set(state))
        unexpected = sorted(set(state) - set(params))
        if strict and (missing or unexpected):
            raise KeyError(f"load_state_dict: missing keys {missing}, unexpected keys {unexpected}")
        # check every entry before writing any, so a bad state dict leaves the model untouched
        pending: list[tuple[Any, np.ndarray]] = []
        for name, p in params.items():
            if name not in state:
                continue
            value = state[name]
            arr = value.detach().cpu().numpy() if is_tensor(value) else np.asarray(value)
            target = p.detach()
            if arr.shape != target.shape:
                raise ValueError(
                    f"load_state_dict: {name!r} has shape {arr.shape} in the state dict, "
                    f"{target.shape} in the model"
                )
            if not np.can_cast(arr.dtype, np.dtype(target.dtype), casting="same_kind"):
                raise TypeError(
                    f"load_state_dict: {name!r} is {arr.dtype} in the state dict, "
                    f"{target.dtype} in the model"
                )
            pending.append((p, arr))
        # all at once for compiled calls in other threads: none sees a half-loaded model, and
        # none writes a step computed from the old values over the loaded ones
        STATE_LOCKS.write(lock_stripes(p for p, _ in pending), _load, pending)

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    def train(self, mode: bool = True) -> Module:
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def to(self, device: Any) -> Module:
        """Move every parameter (and its gradient) and buffer to ``device`` in place: they stay
        the same tensor objects, so an optimiser built before follows, and so do compiled
        functions reading them (their variables share the tensors' storage). An optimiser's
        state for a parameter moves when a step next uses it."""
        dev = check_device(device, "Module.to()")
        for p in self.parameters():
            p._move_(dev)
        for _, mod in self.named_modules():
            for b in mod._buffers.values():
                if b is not None:
                    b._move_(dev)
        return self

    def cuda(self) -> Module:
        return self.to("cuda")

    def cpu(self) -> Module:
        return self.to("cpu")

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not self._modules:
            return head + ")"
        lines = [head]
        for name, m in self._modules.items():
            child = repr(m).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child}")
        lines.append(")")
        return "\n".join(lines)


class Sequential(Module):
    """Modules applied one after another."""

    def __init__(self, *layers: Module) -> None:
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(
                    f"Sequential: argument {i} is a {type(layer).__name__}, not a Module"
                )
            setattr(self, str(i), layer)

    def forward(self, x: Any) -> Any:
        for layer in self._modules.values():
            x = layer(x)
        return x

    @overload
    def __getitem__(self, i: int) -> Module: ...
    @overload
    def __getitem__(self, i: slice) -> Sequential: ...
    def __getitem__(self, i: int | slice) -> Module:
        layers = list(self._modules.values())
        if isinstance(i, slice):
            return Sequential(*layers[i])
        return layers[i]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())


# modules holding records not yet collected (weak: a dropped model takes its records with it)
_RECORDING: weakref.WeakSet[Module] = weakref.WeakSet()
