"""Lazy arrays (Dask arrays) given to a compiled function: the protocol of the caller that runs
such a call, and the callers registered."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from graphjit.runtime.function import CompiledFunction


class LazyArrayCaller(Protocol):
    """Runs a compiled function on lazy arrays (Dask arrays), registered by ``graphjit.dask``
    (wired in ``graphjit/__init__.py``, as the eager backend is): the runtime never imports it."""

    def handles(self, args: Sequence[Any]) -> bool:
        """True when some argument is a lazy array this caller runs."""
        ...

    def __call__(self, fn: CompiledFunction, args: Sequence[Any]) -> Any:
        """The outputs of ``fn(*args)``, lazy."""
        ...


_lazy_callers: list[LazyArrayCaller] = []


def register_lazy_caller(caller: LazyArrayCaller) -> None:
    """Let compiled functions called with lazy arrays hand the call to ``caller``."""
    if caller not in _lazy_callers:
        _lazy_callers.append(caller)


def lazy_caller_for(args: Sequence[Any]) -> LazyArrayCaller | None:
    """The registered caller that runs a call with these arguments, if any argument is lazy."""
    for caller in _lazy_callers:
        if caller.handles(args):
            return caller
    return None
