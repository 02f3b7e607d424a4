"""PyTorch's flavour for graph nodes' methods: inside :func:`torch_flavour`, nodes' methods
follow PyTorch where it disagrees with numpy (``gj.jit`` tracing a function called with
tensors), so a function traces to what it computes eagerly."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

_TORCH_FLAVOUR: ContextVar[bool] = ContextVar("graphjit_torch_flavour", default=False)


@contextlib.contextmanager
def torch_flavour() -> Iterator[None]:
    """Inside, graph nodes' methods follow PyTorch where it disagrees with numpy
    (``x.transpose(0, 1)``, ``x.max(1)`` with indices, ``x.var()`` unbiased, ``x.size(0)``) and
    nodes also have the tensor-only methods (``expand``, ``view_as``, ...). ``gj.jit`` traces a
    function called with tensors this way, so it traces the way it runs eagerly."""
    token = _TORCH_FLAVOUR.set(True)
    try:
        yield
    finally:
        _TORCH_FLAVOUR.reset(token)


def torch_flavoured() -> bool:
    return _TORCH_FLAVOUR.get()
