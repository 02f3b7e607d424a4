"""``ModuleList`` and ``ModuleDict``: submodules held in a list or a dict, registered under their
index or key so parameter and state dict names are PyTorch's (``layers.0.weight``);
``ParameterList`` and ``ParameterDict`` do the same for parameters (``params.0``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from graphjit.nn.module import Module
from graphjit.ops.dispatch import is_tensor
from graphjit.tensor.parameter import Parameter

__all__ = ["ModuleDict", "ModuleList", "ParameterDict", "ParameterList"]


def _check_module(value: Any, where: str) -> Module:
    if not isinstance(value, Module):
        raise TypeError(f"{where}: expected a Module, got {type(value).__name__}")
    return value


class ModuleList(Module):
    """A list of modules; it has no ``forward`` of its own."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def append(self, module: Module) -> ModuleList:
        setattr(self, str(len(self)), _check_module(module, "ModuleList.append"))
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for m in modules:
            self.append(m)
        return self

    def __getitem__(self, index: int) -> Module:
        items = list(self._modules.values())
        return items[index]

    def __setitem__(self, index: int, module: Module) -> None:
        key = str(range(len(self))[index])
        # in place, so the position (and the order of parameters) stays
        self._modules[key] = _check_module(module, "ModuleList")
        object.__setattr__(self, key, module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))


class ModuleDict(Module):
    """A dict of modules by string key, in insertion order; it has no ``forward`` of its own."""

    def __init__(self, modules: Mapping[str, Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def update(self, modules: Mapping[str, Module]) -> None:
        for key, m in modules.items():
            self[key] = m

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(key, str) or not key or "." in key:
            raise KeyError(f"ModuleDict: keys must be non-empty strings without '.', got {key!r}")
        setattr(self, key, _check_module(module, f"ModuleDict[{key!r}]"))

    def __delitem__(self, key: str) -> None:
        delattr(self, key)

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._modules))

    def keys(self) -> list[str]:
        return list(self._modules)

    def values(self) -> list[Module]:
        return list(self._modules.values())

    def items(self) -> list[tuple[str, Module]]:
        return list(self._modules.items())


def _as_parameter(value: Any, where: str) -> Parameter:
    """``value`` as a Parameter: a tensor becomes one over the same array (PyTorch's rule)."""
    if isinstance(value, Parameter):
        return value
    if is_tensor(value):
        return Parameter(value)
    raise TypeError(f"{where}: expected a gj.nn.Parameter or a tensor, got {type(value).__name__}")


def _iterable(values: Any, where: str) -> Iterable[Any]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{where}: expected an iterable, got {type(values).__name__}")
    return values


def _position(index: Any, length: int, where: str) -> int:
    """``index`` (an int, negative from the end) checked against ``length`` items."""
    if isinstance(index, bool) or not isinstance(index, int):
        raise TypeError(f"{where}: indices must be integers, got {type(index).__name__}")
    if not -length <= index < length:
        raise IndexError(f"{where}: index {index} is out of range for {length} parameters")
    return index % length


def _describe(p: Parameter) -> str:
    device = "" if not p.is_cuda else f" ({p.device})"
    shape = "x".join(str(d) for d in p.shape)
    return f"Parameter containing: [{p.dtype} of size {shape}{device}]"


class ParameterList(Module):
    """A list of parameters, registered as ``"0"``, ``"1"``, ...; tensors become Parameters over
    the same arrays. It has no ``forward`` of its own."""

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        super().__init__()
        if values is not None:
            self.extend(values)

    def append(self, value: Any) -> ParameterList:
        setattr(self, str(len(self)), _as_parameter(value, "ParameterList.append"))
        return self

    def extend(self, values: Iterable[Any]) -> ParameterList:
        for v in _iterable(values, "ParameterList"):
            self.append(v)
        return self

    def __getitem__(self, index: int) -> Parameter:
        items = list(self._parameters.values())
        if isinstance(index, slice):  # a plain list of the parameters
            return items[index]
        return items[_position(index, len(items), "ParameterList")]

    def __setitem__(self, index: int, value: Any) -> None:
        key = str(_position(index, len(self), "ParameterList"))
        param = _as_parameter(value, "ParameterList")
        self._parameters[key] = param  # in place, so the order of parameters stays
        object.__setattr__(self, key, param)

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[Parameter]:
        return iter(list(self._parameters.values()))

    def __repr__(self) -> str:
        lines = [f"  ({k}): {_describe(p)}" for k, p in self._parameters.items()]
        return "\n".join([f"{type(self).__name__}(", *lines, ")"])


class ParameterDict(Module):
    """A dict of parameters by string key, in insertion order; tensors become Parameters over the
    same arrays. It has no ``forward`` of its own."""

    def __init__(self, parameters: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def update(self, parameters: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> None:
        if isinstance(parameters, Mapping):
            items: Iterable[Any] = parameters.items()
        else:
            items = _iterable(parameters, "ParameterDict.update")
        for i, item in enumerate(items):
            if isinstance(item, (str, bytes)) or not isinstance(item, Iterable):
                raise TypeError(
                    f"ParameterDict.update: element #{i} is not a (key, parameter) pair, got "
                    f"{type(item).__name__}"
                )
            pair = tuple(item)
            if len(pair) != 2:
                raise ValueError(
                    f"ParameterDict.update: element #{i} has length {len(pair)}; 2 is required "
                    "(key, parameter)"
                )
            self[pair[0]] = pair[1]

    def __getitem__(self, key: str) -> Parameter:
        return self._parameters[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str) or not key or "." in key:
            raise KeyError(
                f"ParameterDict: keys must be non-empty strings without '.', got {key!r}"
            )
        if (
            key in self._buffers
            or key in self._modules
            or (key in self.__dict__ and key not in self._parameters)
            or hasattr(type(self), key)  # a method: ``d.update`` must stay the method
        ):
            raise KeyError(f"ParameterDict: {key!r} is an attribute of the ParameterDict itself")
        setattr(self, key, _as_parameter(value, f"ParameterDict[{key!r}]"))

    def __delitem__(self, key: str) -> None:
        if key not in self._parameters:
            raise KeyError(key)
        delattr(self, key)

    def __contains__(self, key: object) -> bool:
        return key in self._parameters

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._parameters))

    def keys(self) -> list[str]:
        return list(self._parameters)

    def values(self) -> list[Parameter]:
        return list(self._parameters.values())

    def items(self) -> list[tuple[str, Parameter]]:
        return list(self._parameters.items())

    def get(self, key: str, default: Any = None) -> Any:
        return self._parameters.get(key, default)

    def pop(self, key: str) -> Parameter:
        value = self[key]
        del self[key]
        return value

    def __repr__(self) -> str:
        lines = [f"  ({k}): {_describe(p)}" for k, p in self._parameters.items()]
        return "\n".join([f"{type(self).__name__}(", *lines, ")"])
