"""``Module``: parameters, submodules and state dicts, in PyTorch's shape.

A module's ``forward`` is written once with ``gj.*`` functions. Called on eager tensors it computes
at once and records the tape; called on graph nodes it builds graph, and each parameter enters
the graph as a variable sharing the parameter's storage, so a compiled training step updates the
very arrays the eager model reads (and the other way round).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, overload

import numpy as np

from graphjit.ir import Node
from graphjit.ops.dispatch import as_node, is_tensor
from graphjit.ops.leaves import write_array
from graphjit.tensor.device import check_device


def mark_modified(t: Any) -> None:
    """Record that ``t``'s array was written in place (as a tensor's own in-place ops do), so a
    backward through a tape that saved the old values raises instead of using the new ones."""
    if hasattr(t, "_version"):
        t._version += 1


def operand(param: Any, like: Any) -> Any:
    """``param`` in the same world as ``like``: its graph variable when ``like`` is a node.

    Layers call this before doing anything to a parameter alone (``W.T``), so that the work happens
    in the graph rather than eagerly on a copy."""
    if param is None:
        return None
    return as_node(param) if isinstance(like, Node) else param


class Module:
    """Base class of models and layers: subclasses set parameters and submodules as attributes in
    ``__init__`` and define ``forward``."""

    _parameters: dict[str, Any]
    _modules: dict[str, Module]
    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
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
        params.pop(name, None)
        modules.pop(name, None)
        if isinstance(value, Module):
            modules[name] = value
        elif is_tensor(value) and value.requires_grad:
            params[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self.__dict__["_parameters"].pop(name, None)
        self.__dict__["_modules"].pop(name, None)
        object.__delattr__(self, name)

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
    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter's value, by dotted name (numpy arrays, from the GPU too)."""
        return {name: p.detach().cpu().numpy().copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> None:
        """Copy values into the parameters in place (so compiled functions keep seeing them)."""
        if not isinstance(state, dict):
            raise TypeError(f"load_state_dict: expected a dict, got {type(state).__name__}")
        params = dict(self.named_parameters())
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
        for p, arr in pending:
            write_array(p._data, arr)  # in place, in host or GPU memory
            mark_modified(p)

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
        """Move every parameter (and its gradient) to ``device`` in place: the parameters stay
        the same tensor objects, so an optimiser built before follows, and so do compiled
        functions reading them (their variables share the parameters' storage). An
        optimiser's state for a parameter moves when a step next uses it."""
        dev = check_device(device, "Module.to()")
        for p in self.parameters():
            p._move_(dev)
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
