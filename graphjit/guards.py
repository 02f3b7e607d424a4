"""The direct call of a compiled function: one guard, written out per function, then the program.

A small graph's call is dominated by Python, not by its kernel: a loop over the arguments
checking dtype, rank and fixed dims costs about as much as numpy's own ``x * y + 1``. For a
function without variables whose backend can be called directly, ``direct_call`` writes a
Python function with those checks unrolled (``a0.dtype is d0 and a0.ndim == 2 and
a0.shape[1] == 3 ...``) and the program called straight after them.

The guard only ever answers "these are exactly the arrays the program was built for"; anything
else (another dtype, a list, a Dask array, a wrong shape, an error the runtime words better)
returns ``MISS`` and the caller takes its ordinary path, which validates, converts and raises
the errors that name the input. The generated source holds only integers and the names ``a<i>``,
``d<i>`` and ``program``: dtypes and constants are bound as values, and no user string (a
placeholder's name) is ever written into it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["MISS", "DirectCall", "InputSpec", "direct_call"]


class _Miss:
    """The guard's "not for me": the caller falls back to its checked path."""

    def __repr__(self) -> str:
        return "MISS"


MISS: Any = _Miss()

# (dtype, ndim, ((axis, size), ...)) per input: the placeholders' fixed facts
InputSpec = tuple[np.dtype, int, tuple[tuple[int, int], ...]]
DirectCall = Callable[..., Any]


def _conditions(i: int, ndim: int, fixed: Sequence[tuple[int, int]]) -> list[str]:
    a = f"a{i}"
    checks = [f"type({a}) is ndarray", f"{a}.dtype is d{i}", f"{a}.ndim == {int(ndim)}"]
    checks += [f"{a}.shape[{int(axis)}] == {int(size)}" for axis, size in fixed]
    return checks


def direct_call(
    specs: Sequence[InputSpec],
    program: Callable[..., Any],
    constants: Sequence[Any],
    n_out: int,
    single: bool,
    retry: tuple[type[BaseException], ...],
) -> DirectCall:
    """A function ``(*args) -> outputs | MISS``: the unrolled guard, then
    ``program(*args, *constants)``. An exception of a type in ``retry`` also gives ``MISS`` (the
    program is pure, so the checked path may run it again and word the error its own way)."""
    names = [f"a{i}" for i in range(len(specs))]
    conds = [c for i, (_, ndim, fixed) in enumerate(specs) for c in _conditions(i, ndim, fixed)]
    call_args = [*names, *(f"c{i}" for i in range(len(constants)))]
    result = "results[0]" if single else f"list(results[:{int(n_out)}])"
    unpack = f"        {', '.join(names)}{',' if len(names) == 1 else ''} = args\n" if names else ""
    guard = " and ".join(conds) if conds else "True"
    source = (
        "def direct(*args):\n"
        f"    if len(args) == {len(specs)}:\n"
        f"{unpack}"
        f"        if {guard}:\n"
        "            try:\n"
        f"                results = program({', '.join(call_args)})\n"
        "            except retry:\n"
        "                return MISS\n"
        f"            return {result}\n"
        "    return MISS\n"
    )
    scope: dict[str, Any] = {
        "ndarray": np.ndarray,
        "program": program,
        "retry": retry,
        "MISS": MISS,
        **{f"d{i}": dtype for i, (dtype, _, _) in enumerate(specs)},
        **{f"c{i}": c for i, c in enumerate(constants)},
    }
    exec(compile(source, "<graphjit direct call>", "exec"), scope)  # integers and fixed names only
    direct: DirectCall = scope["direct"]
    direct.__doc__ = source  # what it checks, for a reader in a debugger
    return direct
