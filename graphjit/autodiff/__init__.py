"""Automatic differentiation, one derivative table for both modes.

* :mod:`~graphjit.autodiff.sweep`: the reverse sweep over any kind of vertex, and ``unbroadcast``.
* :mod:`~graphjit.autodiff.graph`: ``grad``/``vjp``/``jvp``/``hvp`` building gradient *graphs*.
* :mod:`~graphjit.autodiff.tape`: the eager tape behind ``Tensor.backward`` and grad mode.

``gj.grad`` and ``gj.vjp`` (defined here) take either: graph nodes go to ``graph``, eager tensors
to ``tape``.
"""

from __future__ import annotations

from typing import Any

from graphjit.autodiff import graph, tape
from graphjit.autodiff.graph import hvp, jvp
from graphjit.ops.dispatch import is_tensor

__all__ = ["grad", "vjp", "jvp", "hvp"]


def _eager(outputs: Any) -> bool:
    """True when ``outputs`` (one or a list) are eager tensors rather than graph nodes."""
    first = outputs[0] if isinstance(outputs, (list, tuple)) and outputs else outputs
    return is_tensor(first)


def grad(y: Any, wrt: Any, create_graph: bool = False, retain_graph: bool | None = None) -> Any:
    """Gradient of scalar ``y`` with respect to each of ``wrt``: graph nodes for a graph (see
    :func:`graphjit.autodiff.graph.grad`), tensors for an eager tensor (PyTorch's
    ``torch.autograd.grad``, see :func:`graphjit.autodiff.tape.grad`).

    A list in gives a list out; a single node or tensor gives a single one."""
    if _eager(y):
        return tape.grad(y, wrt, create_graph=create_graph, retain_graph=retain_graph)
    return graph.grad(y, wrt)


def vjp(outputs: Any, wrt: Any, cotangents: Any) -> Any:
    """Vector-Jacobian product ``sum_i cotangents[i] . d outputs[i] / d wrt``, as graph nodes for
    graphs and as tensors (keeping the tape) for eager tensors."""
    if _eager(outputs):
        return tape.vjp(outputs, wrt, cotangents)
    return graph.vjp(outputs, wrt, cotangents)
