"""``gj.compile`` and ``CompiledFunction``: one front door for every backend.

The runtime owns what all backends share: checking the graph (inputs given, updates well typed),
optimising it, validating call arguments (count, dtype, rank, fixed and named dims) with errors that
name the input, and applying ``updates`` in place on the variables' arrays after the outputs are
computed (all from the old values). A backend only turns a :class:`Program` into something that maps
input and variable arrays to output arrays.

Threads: a call that updates variables is atomic. It holds the locks of every variable it reads or
writes (:class:`StateLocks`, taken in one global order, so functions updating several variables
cannot deadlock) from reading the variables until its new values are written, so concurrent calls of
one function, or of several functions updating the same variable, behave as some sequential order
of those calls. A call that updates nothing takes no lock: it reads a consistent snapshot
optimistically (seqlock: it checks that no update wrote any variable it read while it ran, runs
again if one did, and only after repeated collisions waits for the writers' locks). A function
without variables is never synchronised. ``Variable.set_value`` takes the same lock. Eager in-place
ops on tensors (``opt.step()``) are not synchronised with compiled calls, as in PyTorch.

The modules, bottom to top:

* ``backends``: :class:`Program` (what a backend compiles), the :class:`Executable` it returns,
  the reference interpreter as a backend, ``load_backend``.
* ``signature``: what ``gj.compile`` is given (placeholders, updates), checked.
* ``arguments``: a call's arguments checked against the placeholders and converted.
* ``lazy``: the protocol through which ``graphjit.dask`` runs calls with Dask arrays.
* ``repeat``: ``CompiledFunction.repeat``, n calls in one run.
* ``function``: ``CompiledFunction`` itself and ``compile``.
"""

from graphjit.runtime.arguments import check_device_argument, coerce_argument
from graphjit.runtime.backends import (
    BACKENDS,
    Executable,
    NumpyExecutable,
    Program,
    load_backend,
)
from graphjit.runtime.function import CompiledFunction, compile
from graphjit.runtime.lazy import LazyArrayCaller, register_lazy_caller

__all__ = [
    "BACKENDS",
    "CompiledFunction",
    "Executable",
    "LazyArrayCaller",
    "NumpyExecutable",
    "Program",
    "check_device_argument",
    "coerce_argument",
    "compile",
    "load_backend",
    "register_lazy_caller",
]
