"""Installing the method tables on :class:`~graphjit.ir.Node` and
:class:`~graphjit.tensor.Tensor` (``graphjit/__init__.py`` calls :func:`install` once)."""

from __future__ import annotations

from typing import Any

from graphjit.ir import Node
from graphjit.methods.flavour import torch_flavoured
from graphjit.methods.numpy_methods import NumpyMethods
from graphjit.methods.torch_methods import IN_PLACE_NAMES, TorchMethods, torch_method
from graphjit.serialize import reduce_node
from graphjit.tensor import Tensor


class TensorMethods(TorchMethods, NumpyMethods):
    """What a Tensor has: PyTorch's methods over numpy's (for static typing of Tensor)."""

    __slots__ = ()


# what a class body defines that is not a method to install
_CLASS_ATTRS = frozenset(
    {"__slots__", "__doc__", "__module__", "__qualname__", "__dict__", "__weakref__",
     "__annotations__", "__firstlineno__", "__static_attributes__"}
)  # fmt: skip


def _table(*classes: type) -> dict[str, Any]:
    """The methods of ``classes``, later classes winning."""
    return {
        name: attr
        for cls in classes
        for name, attr in vars(cls).items()
        if name not in _CLASS_ATTRS
    }


def _node_getattr(self: Node, name: str) -> Any:
    # only reached for a missing attribute: inside torch_flavour() (gj.jit tracing a function
    # called with tensors), nodes also have the tensor-only methods (size(), expand, ...)
    if torch_flavoured() and not name.startswith("__"):
        method = torch_method(self, name)
        if method is not None:
            return method
    raise AttributeError(f"graph node has no attribute {name!r}")


# what only an eager tensor has: its memory, its device, its autograd hooks
_EAGER_ONLY_METHODS = ("stride", "storage_offset", "is_contiguous", "get_device",
                       "register_hook", "retain_grad", "new_tensor")  # fmt: skip
_EAGER_ONLY_PROPERTIES = ("is_cpu", "retains_grad")


def _eager_only(name: str) -> Any:
    def refuse(self: Node, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            f"{name}: a graph node has no memory, device or autograd tape of its own; {name} "
            "is for eager tensors (gj.tensor(...))"
        )

    refuse.__name__ = refuse.__qualname__ = name
    return refuse


def _install_on(cls: type, table: dict[str, Any]) -> None:
    for name, attr in table.items():
        if name not in vars(cls):  # what the class defines itself (Tensor.__eq__, ...) wins
            setattr(cls, name, attr)


_installed = False


def install() -> None:
    """Give :class:`Node` numpy's methods (PyTorch's inside :func:`torch_flavour`) and
    :class:`Tensor` PyTorch's over numpy's. Idempotent."""
    global _installed
    if _installed:
        return
    # nodes pickle by structure (graphjit.serialize): op names, input indices and plain attributes
    node_extras: dict[str, Any] = {"__getattr__": _node_getattr, "__reduce__": reduce_node}
    node_extras.update({name: _eager_only(name) for name in _EAGER_ONLY_METHODS})
    node_extras.update({name: property(_eager_only(name)) for name in _EAGER_ONLY_PROPERTIES})
    node_extras.update({name: vars(TorchMethods)[name] for name in IN_PLACE_NAMES})
    _install_on(Node, {**_table(NumpyMethods), **node_extras})
    _install_on(Tensor, _table(NumpyMethods, TorchMethods))
    _installed = True
