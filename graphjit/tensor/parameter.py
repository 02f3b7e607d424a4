"""``Parameter``: a tensor that a ``gj.nn.Module`` registers as a parameter when it is assigned to
one of its attributes, as PyTorch's ``nn.Parameter`` (exported as ``gj.nn.Parameter``).

A module already registers any leaf tensor that requires grad; ``Parameter`` is the explicit
spelling PyTorch code uses (``self.scale = nn.Parameter(gj.ones(3))``), and it also registers a
frozen parameter (``requires_grad=False``), which then appears in ``parameters()`` and
``state_dict()`` but gets no gradient. Ops on a parameter return plain tensors; the eager backend
runs them on its fast path as it does for tensors."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from graphjit.tensor.device import copy_array
from graphjit.tensor.tensor import Tensor, array_from, new_tensor

__all__ = ["Parameter"]

# the fields a tensor is made of: a Parameter copies those of a fresh leaf tensor
_TENSOR_FIELDS = tuple(name for name in Tensor.__slots__ if name != "__weakref__")


class Parameter(Tensor):
    """``Parameter(data=None, requires_grad=True)``: a leaf over ``data``'s array when it is a
    tensor (shared, as PyTorch's: the parameter and ``data`` see each other's in-place writes),
    over a copy of an array-like otherwise; ``data=None`` gives an empty float64 tensor."""

    __slots__ = ()

    def __new__(cls, data: Any = None, requires_grad: builtins.bool = True) -> Parameter:
        if data is None:
            array: Any = np.empty(0)
        elif isinstance(data, Tensor):
            array = data._data
        else:
            array = array_from(data, None, copy=True)
        leaf = new_tensor(array)
        p = object.__new__(cls)
        for name in _TENSOR_FIELDS:
            setattr(p, name, getattr(leaf, name))
        p.requires_grad_(requires_grad)
        return p

    def __init__(self, data: Any = None, requires_grad: builtins.bool = True) -> None:
        pass  # made whole by __new__ (Tensor.__init__ reads its arguments otherwise)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo: dict[builtins.int, Any]) -> Parameter:
        p = Parameter(new_tensor(copy_array(self._data)), self._requires_grad)
        memo[id(self)] = p
        return p
