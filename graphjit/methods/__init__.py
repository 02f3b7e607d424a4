"""The operators and methods of graph nodes and eager tensors, installed from one table.

Every method forwards to the public function of the same meaning (:mod:`graphjit.ops` for numpy's
names, :mod:`graphjit.torch_api` for PyTorch's), which dispatches on its arguments: graph nodes
build graph, eager tensors compute. Two tables say what the methods mean:

* :class:`NumpyMethods`: operators, numpy's methods, and the PyTorch spellings whose meaning is the
  same in both libraries (``x.pow``, ``x.view``, ``x.t()``). Graph nodes and tensors get these.
* :class:`TorchMethods`: PyTorch's meaning where it differs (``transpose(0, 1)`` swaps two dims,
  ``max(dim)`` returns values and indices, ``var`` is unbiased) and PyTorch-only methods
  (``size()``, ``expand``). Tensors get these over the numpy ones; graph nodes see them only inside
  :func:`torch_flavour` (``gj.jit`` tracing a function called with tensors), so a function traces
  to what it computes eagerly.

:func:`install` puts both on :class:`~graphjit.ir.Node` and :class:`~graphjit.tensor.Tensor`; the
IR and the Tensor define no op methods of their own, so they sit below the ops they would call.
``graphjit/__init__.py`` calls it once.

The modules: ``forwarding`` (a function made a method; the argument spellings methods share) and
``flavour`` (:func:`torch_flavour`) at the bottom, then ``torch_methods`` (:class:`TorchMethods`),
``numpy_methods`` (:class:`NumpyMethods`, whose methods that PyTorch means otherwise defer to
:class:`TorchMethods` inside :func:`torch_flavour`) and ``installation`` (:func:`install`).
"""

from graphjit.methods.flavour import torch_flavour, torch_flavoured
from graphjit.methods.installation import TensorMethods, install
from graphjit.methods.numpy_methods import NumpyMethods
from graphjit.methods.torch_methods import MaxMin, TorchMethods

__all__ = [
    "MaxMin",
    "NumpyMethods",
    "TorchMethods",
    "TensorMethods",
    "install",
    "torch_flavour",
    "torch_flavoured",
]
