"""The eager ``Tensor`` (define-by-run, PyTorch-style autograd) and how tensors are made.

* :mod:`~graphjit.tensor.tensor`: the :class:`Tensor` itself;
* :mod:`~graphjit.tensor.backend`: how ops run on tensors, and how a tensor becomes graph;
* :mod:`~graphjit.tensor.creation`: ``gj.tensor``, ``from_numpy``, ``zeros``, ``rand``, ...;
* :mod:`~graphjit.tensor.assign`: ``t[index] = value`` for a cuda tensor, on the device;
* :mod:`~graphjit.tensor.device`: ``gj.device`` and ``gj.cuda``.
"""

from graphjit.tensor.tensor import (
    Tensor,
    bool,  # noqa: F401 - PyTorch's dtype names gj.bool, gj.float, gj.int: not in __all__
    cuda,
    device,
    double,
    enable_grad,
    float,  # noqa: F401
    float32,
    float64,
    int,  # noqa: F401
    int8,
    int16,
    int32,
    int64,
    is_grad_enabled,
    long,
    no_grad,
    set_grad_enabled,
    uint8,
)

__all__ = [
    "Tensor",
    "cuda",
    "device",
    "double",
    "enable_grad",
    "float32",
    "float64",
    "int32",
    "int64",
    "is_grad_enabled",
    "long",
    "no_grad",
    "set_grad_enabled",
    "uint8",
    "int8",
    "int16",
]
