"""``CompiledFunction.repeat``: ``n`` calls of a compiled function on the same arguments in one
run, atomic as one call is. On the cpu backend the loop itself is compiled (the executable's
``repeat``: updates written in place each step); elsewhere it is a Python loop of calls, on the
cuda backend on inputs copied to the device once (the executable's ``stage``), with the outputs
kept on the device until the end.

:class:`Repeatable` is a base of :class:`~graphjit.runtime.function.CompiledFunction`; it names
below what it uses of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from graphjit.ir import Node
    from graphjit.locks import StateLocks
    from graphjit.ops.leaves import Storage, Variable
    from graphjit.runtime.backends import Executable


class Repeatable:
    """The ``repeat`` method of a compiled function."""

    if TYPE_CHECKING:
        graph: tuple[Node, ...]
        updates: tuple[tuple[Variable, Node], ...]
        _single: bool
        _n_out: int
        _executable: Executable
        _variable_storages: tuple[Storage, ...]
        _state_locks: StateLocks
        _lock_stripes: tuple[int, ...]
        _read_stripes: tuple[int, ...]
        _write_stripes: tuple[int, ...]

        def _fast_ok(self, args: tuple[Any, ...]) -> bool: ...
        def validate(self, args: Sequence[Any]) -> list[np.ndarray]: ...
        def _run(self, arrays: Sequence[np.ndarray]) -> list[np.ndarray]: ...
        def _apply_updates(self, results: list[np.ndarray]) -> None: ...

    def repeat(self, n: int, *args: Any, keep: str = "last") -> Any:
        """Call the function ``n`` times on the same arguments, applying the updates after each
        call; return the outputs of the last call (``keep="last"``) or of every call stacked
        along a new leading axis (``keep="all"``). The variables' locks are held for the whole
        run, so it is atomic as one call is. On the cpu backend the loop runs inside one
        compiled program (updates written in place each step), else it is a Python loop."""
        steps = _check_steps(n)
        if keep not in ("last", "all"):
            raise ValueError(f"repeat: keep must be 'last' or 'all', got {keep!r}")
        arrays = args if self._fast_ok(args) else self.validate(args)
        stripes = self._lock_stripes or self._read_stripes
        outs = self._state_locks.call(stripes, self._repeat_writing, steps, keep == "all", arrays)
        return outs[0] if self._single else outs

    def _repeat_writing(self, steps: int, keep_all: bool, arrays: Sequence[Any]) -> list[Any]:
        """``_repeat`` with the variables it updates marked as being written."""
        locks = self._state_locks
        locks.begin_write(self._write_stripes)
        try:
            return self._repeat(steps, keep_all, arrays)
        finally:
            locks.end_write(self._write_stripes)

    def _repeat(self, steps: int, keep_all: bool, arrays: Sequence[Any]) -> list[Any]:
        compiled = getattr(self._executable, "repeat", None)
        if compiled is not None and not any(s.on_device for s in self._variable_storages):
            variables = [s.array for s in self._variable_storages]
            targets = [var.storage.array for var, _ in self.updates]
            ranks = [o.ndim for o in self.graph[: self._n_out]]
            return list(compiled(steps, keep_all, arrays, variables, targets, ranks))
        # the cuda backend copies host inputs to the device once, and its outputs back once
        stage = getattr(self._executable, "stage", None)
        staged = stage(arrays) if stage is not None else None
        if staged is not None:
            arrays = staged.inputs
        kept: list[list[Any]] = []
        outs: list[Any] = []
        for _ in range(steps):
            results = self._run(arrays)
            self._apply_updates(results)
            outs = results[: self._n_out]
            if keep_all:
                kept.append(outs)
        if staged is not None:
            if keep_all:
                return [staged.stack([k[j] for k in kept]) for j in range(self._n_out)]
            return [staged.result(o) for o in outs]
        if keep_all:
            return [np.stack([k[j] for k in kept]) for j in range(self._n_out)]
        return outs


def _check_steps(n: Any) -> int:
    """``repeat``'s count: a positive int (a numpy integer too; not a bool or a float)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"repeat: n must be an int (the number of calls), got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"repeat: n must be at least 1 (the number of calls), got {n}")
    return int(n)
