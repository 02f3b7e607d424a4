"""A compiled loop around a generated program: ``CompiledFunction.repeat`` on the cpu backend.

The driver calls the module's program ``steps`` times in one numba function, writing the new values
of updated variables into their arrays after each step (every new value is computed from the old
ones first: the program's results never alias its arguments; the updates it stores into their
variables itself it does not return, and the driver leaves them alone), and returns the outputs
of the last step or all steps stacked along a new leading axis. It is written once per (program,
keep) and compiled by numba on its first call; the program it calls is compiled already.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numba import njit

from graphjit.codegen.emit import SourceWriter

DRIVER_FLAGS: dict[str, Any] = {"nogil": True, "error_model": "numpy"}


def driver_source(
    n_args: int,
    out_ranks: Sequence[int],
    n_updates: int,
    keep_all: bool,
    in_place: Sequence[int] = (),
) -> tuple[str, str]:
    """The source of the driver (a function named ``repeat_program``) and its name. It takes
    ``steps``, the program's ``n_args`` arguments and one target array per update; the updates
    in ``in_place`` the program stores into their variables itself."""
    args = [f"a{k}" for k in range(n_args)]
    targets = [f"u{k}" for k in range(n_updates)]
    n_out = len(out_ranks)
    call = f"program({', '.join(args)})"
    w = SourceWriter()
    with w.block(f"def repeat_program({', '.join(['steps', *args, *targets])}):"):
        w.line(f'"""{"all steps" if keep_all else "the last step"}\'s outputs of steps calls"""')
        w.line(f"r = {call}")

        def keep(i: str) -> None:
            for k, rank in enumerate(out_ranks):
                w.line(f"all{k}[{i}] = r[{k}]" + ("[()]" if rank == 0 else ""))

        # the program returns the updates it does not store itself, after the outputs
        returned = [k for k in range(n_updates) if k not in in_place]

        def update() -> None:
            for at, k in enumerate(returned):
                w.line(f"{targets[k]}[...] = r[{n_out + at}]")

        if keep_all:
            for k in range(n_out):
                w.line(f"all{k} = np.empty((steps,) + r[{k}].shape, r[{k}].dtype)")
            keep("0")
        update()
        with w.block("for i in range(1, steps):"):
            w.line(f"r = {call}")
            if keep_all:
                keep("i")
            update()
        outs = [f"all{k}" if keep_all else f"r[{k}]" for k in range(n_out)]
        w.line(f"return ({''.join(o + ', ' for o in outs)})")
    return w.text(), "repeat_program"


def build_driver(
    program: Any,
    n_args: int,
    out_ranks: Sequence[int],
    n_updates: int,
    keep_all: bool,
    in_place: Sequence[int] = (),
) -> Any:
    """The jitted driver around ``program`` (a numba dispatcher)."""
    source, name = driver_source(n_args, out_ranks, n_updates, keep_all, in_place)
    namespace: dict[str, Any] = {"np": np, "program": program}
    exec(compile(source, f"<graphjit repeat driver of {n_args} arguments>", "exec"), namespace)
    return njit(**DRIVER_FLAGS)(namespace[name])
