"""The numba CPU backend: one generated module per graph, one ``@njit`` program per module.

The module holds one function per kernel (a fused elementwise loop nest, a reduction with its fused
producers, or an op's own loops) and one ``program`` that takes the inputs, variables and array
constants, checks call-time shapes, allocates (reusing dead buffers), calls the kernels and returns
the outputs followed by the new values of updated variables (a training step's updates are mostly
stored into the variables' arrays by its last loops: see ``codegen.updates``; the executable's
``in_place`` says which). A call from Python is one dispatch.

Kernels above ``PARALLEL_MIN_SIZE`` elements call a ``prange`` variant (when more than one thread is
allowed: ``GRAPHJIT_NUM_THREADS``, and never inside pytest-xdist workers), from a second program
that is compiled only when a call reaches that size. The module is written to the disk cache and
imported from there, so numba caches the machine code beside it.

This package is the emitter only: ``program`` (the module), ``loops`` (loop-nest kernels),
``lowerings`` (per-op lowerings, registered by OpDef), ``writer`` (the state they share) and
``stages`` (a long program's body cut into functions of bounded size).
"""

from __future__ import annotations

import contextlib
import threading
import warnings
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
from numba.core.errors import NumbaPerformanceWarning

from graphjit import cache, ir
from graphjit.codegen.numba_cpu import wrappers
from graphjit.codegen.numba_cpu.program import (
    PARALLEL_MIN_SIZE,
    Generated,
    ProgramSpec,
    generate,
    missing_lowerings,
    num_threads,
)
from graphjit.codegen.numba_cpu.repeat import build_driver
from graphjit.codegen.updates import NO_STORES, Stores, read_stores
from graphjit.errors import SlowCompileWarning
from graphjit.ops.leaves import constant_value

wrappers.install()

# a compile taking longer than this says so once (numba gives no progress of its own)
SLOW_COMPILE_SECONDS = 5.0

# Executables built from one source (two models of one structure, in two threads) share its
# module, so they call the same dispatchers: the lock under which one of them switches a
# dispatcher's compilation on, calls it and switches it off again belongs to the dispatcher.
_dispatcher_locks: weakref.WeakKeyDictionary[Any, threading.Lock] = weakref.WeakKeyDictionary()
_dispatcher_locks_guard = threading.Lock()


@contextlib.contextmanager
def _compiling(dispatchers: Sequence[Any]) -> Iterator[None]:
    """Hold the compile locks of ``dispatchers`` (taken in one global order: no deadlock)
    with their compilation on; off again after, for those that compiled something."""
    with _dispatcher_locks_guard:
        locks = [_dispatcher_locks.setdefault(d, threading.Lock()) for d in dispatchers]
    with contextlib.ExitStack() as stack:
        for lock in sorted(locks, key=id):
            stack.enter_context(lock)
        for d in dispatchers:
            d.disable_compile(False)
        try:
            yield
        finally:
            for d in dispatchers:
                if d.signatures:
                    d.disable_compile()


class CpuExecutable:
    """A compiled program: ``__call__(inputs, variables)`` is one numba dispatch.

    numba compiles a program on its first call for each new argument type. Only those calls
    run with numba's performance warnings silenced (BLAS reading a strided view warns, and
    ``kernels.ops.matmul_blas`` gets such operands on purpose); every other call is a plain
    dispatch with compilation switched off, so no warning filter is ever installed for it.

    A module with parallel loop variants has a second program: a call runs it when
    ``parallel_pays`` says a nest is large enough at the call's sizes, so the parallel program
    is compiled only by the first call that needs it."""

    def __init__(
        self,
        source: str,
        program: Any,
        constants: Sequence[np.ndarray],
        what: str = "a graph",
        parallel: Any = None,
        parallel_pays: Callable[..., bool] | None = None,
        stores: Stores = NO_STORES,
        n_results: int = 0,
    ) -> None:
        self.source = source
        # the updates the program stores into their variables itself (see ``codegen.updates``);
        # the program does not return them: each goes back into the results, at its place among
        # the ``n_results`` (outputs, then one per update), as its variable's own array
        self.in_place = stores.in_place
        self._written = stores.written
        self._late = stores.late_inputs
        first_update = n_results - stores.n_updates
        self._stored_at = sorted(
            (first_update + k, j) for k, j in zip(stores.in_place, stores.written)
        )
        self._program = program
        self._parallel = parallel
        self._pays = parallel_pays if parallel is not None else None
        self._constants = tuple(constants)
        self._what = what
        # the programs this executable has seen compiled (their compilation is then off: above)
        self._compiled: set[int] = set()
        self._drivers: dict[tuple[int, bool], Any] = {}  # (program, keep_all) -> repeat driver

    def __call__(self, inputs: Sequence[np.ndarray], variables: Sequence[np.ndarray]) -> Any:
        if not self._stored_at:
            return self._call(inputs, variables)
        results = list(self._call(inputs, variables))
        for at, j in self._stored_at:  # in order of place: each lands where it belongs
            results.insert(at, variables[j])
        return results

    def _call(self, inputs: Sequence[np.ndarray], variables: Sequence[np.ndarray]) -> Any:
        if self._late:
            inputs = self._unshared(inputs, variables)
        args = (*inputs, *variables, *self._constants)
        program = self._program
        if self._pays is not None and self._wants_parallel(args):
            program = self._parallel
        if id(program) in self._compiled:
            try:
                return program(*args)
            except TypeError:
                if self._matches(program, args):
                    raise  # a compiled signature fits: the error is the program's own
        return self._compile_and_call(program, args)

    def _unshared(
        self, inputs: Sequence[np.ndarray], variables: Sequence[np.ndarray]
    ) -> list[np.ndarray]:
        """``inputs``, with a copy of each one the program reads after storing into a variable
        (or returns) when it shares memory with that variable: it must read the old values."""
        out = list(inputs)
        written = [variables[j] for j in self._written]
        for i in self._late:
            if any(np.may_share_memory(out[i], w) for w in written):
                out[i] = np.array(out[i], copy=True)
        return out

    def direct_program(self) -> tuple[Any, tuple[np.ndarray, ...]] | None:
        """The program and its constants, to be called as ``program(*inputs, *variables,
        *constants)`` without this object, once a call has compiled it (its compilation is then
        off, so an argument of another type raises TypeError); None while it is not compiled,
        or when each call must choose between it and its parallel twin."""
        if self._pays is not None or id(self._program) not in self._compiled:
            return None
        return self._program, self._constants

    def _wants_parallel(self, args: tuple[Any, ...]) -> bool:
        assert self._pays is not None
        try:
            return bool(self._pays(*args))
        except Exception:  # bad shapes: the serial program raises the error that names them
            return False

    @staticmethod
    def _matches(program: Any, args: tuple[Any, ...]) -> bool:
        sig = tuple(program.typeof_pyval(a) for a in args)
        return sig in program.overloads

    def repeat(
        self,
        steps: int,
        keep_all: bool,
        inputs: Sequence[np.ndarray],
        variables: Sequence[np.ndarray],
        targets: Sequence[np.ndarray],
        out_ranks: Sequence[int],
    ) -> Any:
        """Run the program ``steps`` times in one compiled loop, writing each step's new
        variable values (the results after the outputs) into ``targets``; returns the last
        step's outputs, or (``keep_all``) every step's stacked along a new leading axis."""
        if self._late:
            inputs = self._unshared(inputs, variables)
        args = (*inputs, *variables, *self._constants)
        program = self._program
        if self._pays is not None and self._wants_parallel(args):
            program = self._parallel
        key = (id(program), keep_all)
        driver = self._drivers.get(key)
        if driver is None:
            n_up = len(targets)
            driver = build_driver(program, len(args), out_ranks, n_up, keep_all, self.in_place)
            self._drivers[key] = driver
        full = (steps, *args, *targets)
        if id(driver) in self._compiled:
            try:
                return driver(*full)
            except TypeError:
                if self._matches(driver, full):
                    raise
        return self._compile_and_call(driver, full, calls=program)

    def _compile_and_call(self, program: Any, args: tuple[Any, ...], calls: Any = None) -> Any:
        """Call ``program`` with compilation on (and on ``calls``, a program it calls)."""
        # numba compiles in this thread and gives no progress: a timer says when it takes long.
        # Ctrl-C interrupts numba between its (Python) passes; the cache is written atomically,
        # so an interrupted compile leaves nothing half-written.
        timer = threading.Timer(SLOW_COMPILE_SECONDS, self._announce_slow_compile)
        timer.daemon = True
        dispatchers = [program] if calls is None else [program, calls]
        with _compiling(dispatchers), warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=NumbaPerformanceWarning)
            timer.start()
            try:
                return program(*args)
            finally:
                timer.cancel()
                self._compiled.update(id(d) for d in dispatchers if d.signatures)

    def _announce_slow_compile(self) -> None:
        warnings.warn(
            f"graphjit: numba has been compiling the program of {self._what} for more than "
            f"{SLOW_COMPILE_SECONDS:g} s (it is still working; Ctrl-C interrupts it). Compile "
            "time grows with the size of the graph, and the first use of graphjit's hand-written "
            "kernels (convolution, pooling, ...) after installing it compiles them too; the "
            "compiled program and kernels are cached on disk, so the next process loads them at "
            "once",
            SlowCompileWarning,
            stacklevel=1,
        )


def compile_program(program: ProgramSpec) -> CpuExecutable:
    source, constants = generate(program)
    module = cache.load_module(source)
    arrays = [np.array(constant_value(c)) for c in constants]  # writeable copies: one numba type
    size = len(ir.toposort(program.results))
    return CpuExecutable(
        source,
        module.program,
        arrays,
        what=f"a graph of {size} nodes",
        parallel=getattr(module, "program_parallel", None),
        parallel_pays=getattr(module, "parallel_pays", None),
        stores=read_stores(module, program),
        n_results=len(program.results),
    )


__all__ = [
    "PARALLEL_MIN_SIZE",
    "CpuExecutable",
    "Generated",
    "compile_program",
    "generate",
    "missing_lowerings",
    "num_threads",
]
