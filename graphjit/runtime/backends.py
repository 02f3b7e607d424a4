"""What a backend compiles and what it returns: :class:`Program` in, an :class:`Executable` out.

``load_backend`` names the three backends: the reference interpreter (``"numpy"``, here), the
numba CPU emitter and the CUDA emitter (``graphjit.codegen``, loaded on first use).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from graphjit.interp import evaluate
from graphjit.ir import Node, leaves
from graphjit.ops.leaves import Variable, constant_value
from graphjit.viz import pprint_str

BACKENDS = ("numpy", "cpu", "cuda")


@dataclass(frozen=True)
class Program:
    """What a backend compiles: a graph with its inputs, the variables it reads, and its results
    (the user's outputs followed by the new values of updated variables)."""

    inputs: tuple[Node, ...]
    variables: tuple[Variable, ...]
    results: tuple[Node, ...]
    n_updates: int = 0  # the last n_updates results are new values of updated variables
    # the variable each of those updates, where the backend may store the new value straight into
    # the variable's array (None: only into an array of its own, which the runtime copies in)
    targets: tuple[Variable | None, ...] = ()


class Executable(Protocol):
    """What a backend compiles a program to. Its results never share memory with an input, a
    variable or a constant (the generated programs copy such results, the interpreter too), so a
    caller may write into an output, and updates are copied in with no alias checks."""

    source: str

    def __call__(
        self, inputs: Sequence[np.ndarray], variables: Sequence[np.ndarray]
    ) -> Sequence[np.ndarray]: ...


class NumpyExecutable:
    """The reference interpreter as a backend. A result that is an input's, a variable's or a
    constant's own array (``y = w``, an identity) is returned as a copy, as the compiled
    backends return it: writing into an output never changes the function's state."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self._constants = [constant_value(c) for c in leaves(program.results, "constant")]

        self.source = "# numpy reference backend: the graph is interpreted node by node\n" + (
            pprint_str(list(program.results)) if program.results else "return"
        )

    def __call__(
        self, inputs: Sequence[np.ndarray], variables: Sequence[np.ndarray]
    ) -> list[np.ndarray]:
        feed = dict(zip(self.program.inputs, inputs))
        results = evaluate(list(self.program.results), feed)
        held = [a for a in (*inputs, *variables, *self._constants) if isinstance(a, np.ndarray)]
        return [_unshared(r, held) for r in results]


def _unshared(result: np.ndarray, held: Sequence[np.ndarray]) -> np.ndarray:
    """``result``, or a copy of it when it shares memory with one of the arrays ``held``."""
    if any(np.may_share_memory(result, a) for a in held):
        return np.array(result, copy=True)
    return result


def load_backend(name: str) -> Callable[[Program], Executable]:
    if name == "numpy":
        return NumpyExecutable
    if name == "cpu":
        # a backend's code generator loads on first use: eager-only users never pay for it
        from graphjit.codegen.numba_cpu import compile_program  # noqa: PLC0415

        return compile_program
    if name == "cuda":
        # the CUDA emitter loads numba.cuda (an optional extra): say what is missing, if anything
        from graphjit.codegen.cuda import compile_program as compile_cuda  # noqa: PLC0415
        from graphjit.codegen.cuda import require_device  # noqa: PLC0415

        require_device()
        return compile_cuda
    raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
