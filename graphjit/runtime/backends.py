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
from graphjit.ir import Node
from graphjit.ops.leaves import Variable
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
    source: str
    # True when no result ever shares memory with an input, a variable or a constant (the
    # generated programs copy such results), so updates need no alias checks
    fresh_results: bool

    def __call__(
        self, inputs: Sequence[np.ndarray], variables: Sequence[np.ndarray]
    ) -> Sequence[np.ndarray]: ...


class NumpyExecutable:
    """The reference interpreter as a backend."""

    fresh_results = False  # an output may be a variable's own array (y = w)

    def __init__(self, program: Program) -> None:
        self.program = program

        self.source = "# numpy reference backend: the graph is interpreted node by node\n" + (
            pprint_str(list(program.results)) if program.results else "return"
        )

    def __call__(
        self, inputs: Sequence[np.ndarray], variables: Sequence[np.ndarray]
    ) -> list[np.ndarray]:
        feed = dict(zip(self.program.inputs, inputs))
        return evaluate(list(self.program.results), feed)


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
