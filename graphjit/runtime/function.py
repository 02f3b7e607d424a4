"""``CompiledFunction`` and ``gj.compile``: a call's path from its arguments to its outputs.

A call takes the direct path when its arguments are exactly what the program was built for
(``graphjit.guards``), else the checked one (:mod:`graphjit.runtime.arguments`), or hands itself
to a lazy-array caller (:mod:`graphjit.runtime.lazy`); it runs the backend's executable on the
arrays and the variables, under the variables' locks as the package docstring describes, and
writes the updated variables' new values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from graphjit import ir
from graphjit.cuda_compat import array_span
from graphjit.errors import VARIABLE_RESHAPED
from graphjit.guards import MISS, DirectCall, direct_call
from graphjit.ir import Node
from graphjit.locks import OPTIMISTIC_TRIES, STATE_LOCKS
from graphjit.ops.dispatch import lift
from graphjit.ops.leaves import VARIABLE, Variable, write_array
from graphjit.rewrite import optimize as optimize_graph
from graphjit.runtime.arguments import bind_arguments, fast_specs
from graphjit.runtime.backends import BACKENDS, Program, load_backend
from graphjit.runtime.lazy import lazy_caller_for
from graphjit.runtime.repeat import Repeatable
from graphjit.runtime.signature import (
    check_inputs_given,
    check_listed,
    check_placeholder,
    check_updates,
)
from graphjit.serialize import decode_graph, encode_graph

_odd = (1).__and__


class CompiledFunction(Repeatable):
    """A compiled graph: call it with one array per input; get one array per output."""

    def __init__(
        self,
        inputs: Sequence[Node],
        outputs: Any,
        updates: Any = None,
        backend: str = "cpu",
        optimize: bool = True,
    ) -> None:
        if isinstance(inputs, Node):
            inputs = [inputs]
        check_listed(inputs, "inputs", "placeholders")
        self.inputs = tuple(check_placeholder(x, i) for i, x in enumerate(inputs))
        if len({id(x) for x in self.inputs}) != len(self.inputs):
            raise ValueError("compile: the same placeholder is listed twice in inputs")
        self._single = isinstance(outputs, Node)
        if not self._single:
            check_listed(outputs, "outputs", "graph nodes")
        outs = [outputs] if self._single else list(outputs)

        lifted = [lift(o) for o in outs]
        for i, (given, o) in enumerate(zip(outs, lifted)):
            if not isinstance(o, Node):  # name what was given, not what lift made of it
                raise TypeError(
                    f"compile: outputs[{i}] is a {type(given).__name__}, expected a graph node "
                    "(wrap a fixed value in gj.constant)"
                )
        self.outputs = tuple(lifted)
        self.updates = tuple(check_updates(updates))
        results = list(self.outputs) + [new for _, new in self.updates]
        check_inputs_given(self.inputs, results)
        if optimize:
            results = optimize_graph(results)
        self.graph = tuple(results)
        variables = tuple(n for n in ir.toposort(results) if n.op is VARIABLE)
        targets = _in_place_targets(variables, [var for var, _ in self.updates])
        self.program = Program(self.inputs, variables, tuple(results), len(self.updates), targets)
        self.backend = backend
        self._executable = load_backend(backend)(self.program)
        # a backend running on a GPU takes device arrays as they are (zero copy)
        self._device_arrays = backend == "cuda"
        self._n_out = len(self.outputs)
        self._fast = fast_specs(self.inputs)
        self._variable_storages = tuple(v.storage for v in self.program.variables)
        # the stripes to lock: every variable read or written, when the call writes any
        # (read-compute-write is atomic); the stripes to check, when it only reads
        self._state_locks = STATE_LOCKS
        touched = [s.key for s in self._variable_storages]
        touched += [var.storage.key for var, _ in self.updates]
        self._lock_stripes = STATE_LOCKS.stripes(touched) if self.updates else ()
        self._read_stripes = () if self.updates else STATE_LOCKS.stripes(touched)
        self._write_stripes = STATE_LOCKS.stripes([var.storage.key for var, _ in self.updates])
        self._read_versions = STATE_LOCKS.snapshot(self._read_stripes)
        # a function without variables gets a direct call (graphjit.guards) once its first call
        # has compiled the program: exactly the arrays it was built for go straight to it
        self._direct: DirectCall | None = None
        self._direct_pending = (
            self._fast is not None
            and not self.program.variables
            and hasattr(self._executable, "direct_program")
        )

    @property
    def returns_single(self) -> bool:
        """True when compiled with one output node (not a list): a call returns one array."""
        return self._single

    @property
    def source(self) -> str:
        """The generated code (for the numpy backend: the listing it interprets)."""
        return self._executable.source

    def __repr__(self) -> str:
        names = ", ".join(x.name or "?" for x in self.inputs)
        return f"<CompiledFunction({names}) backend={self.backend!r}>"

    def validate(self, args: Sequence[Any]) -> list[np.ndarray]:
        """Arguments as arrays of the placeholders' dtypes, or TypeError/ValueError naming one."""
        return bind_arguments(self.inputs, args, self._device_arrays, self.backend)

    def _fast_ok(self, args: tuple[Any, ...]) -> bool:
        """True when every argument is already an array of the exact dtype, rank and fixed dims
        (the common case, checked without building anything; else ``validate`` does the work)."""
        specs = self._fast
        if specs is None or len(args) != len(specs):
            return False
        for a, (dtype, ndim, fixed) in zip(args, specs):
            if type(a) is not np.ndarray or a.dtype is not dtype or a.ndim != ndim:
                return False
            for axis, size in fixed:
                if a.shape[axis] != size:
                    return False
        return True

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickle by structure: the optimised graph as plain data (variables with their current
        values, constants with their arrays), never code; the receiving process compiles it (its
        own kernel cache makes that a load) and its variables are copies."""
        roots = [*self.inputs, *self.graph, *(var for var, _ in self.updates)]
        return (
            _rebuild_compiled,
            (encode_graph(roots), len(self.inputs), self._n_out, self._single, self.backend),
        )

    def __call__(self, *args: Any) -> Any:
        direct = self._direct
        if direct is not None:
            try:
                out = direct(*args)
            except SystemError as exc:
                raise interrupt_behind(exc) from None
            if out is not MISS:
                return out
        arrays: Sequence[np.ndarray]
        if not self._fast_ok(args):
            caller = lazy_caller_for(args)
            if caller is not None:
                lazy = caller(self, args)
                return lazy[0] if self._single else lazy
            arrays = self.validate(args)
        else:
            arrays = args
        if self._lock_stripes:
            results = self._state_locks.call(self._lock_stripes, self._step, arrays)
        elif self._read_stripes:
            results = self._run_reading(arrays)
        else:
            results = self._run(arrays)
            if self._direct_pending:
                self._install_direct()
        outs = results[: self._n_out]
        return outs[0] if self._single else outs

    def _step(self, arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
        """A call that updates variables, under their locks: run it (a program may write some
        variables itself), write the updates, the variables marked as written meanwhile."""
        locks = self._state_locks
        locks.begin_write(self._write_stripes)
        try:
            results = self._run(arrays)
            self._apply_updates(results)
            return results
        finally:
            locks.end_write(self._write_stripes)

    def _install_direct(self) -> None:
        direct_program = getattr(self._executable, "direct_program", None)
        if direct_program is None or self._fast is None:
            self._direct_pending = False  # an executable that cannot be called directly
            return
        entry = direct_program()
        if entry is None:
            return
        program, constants = entry
        # TypeError: an array layout the program was not compiled for; ValueError and
        # MemoryError: the checked path words them (naming the call and its shapes)
        retry = (TypeError, ValueError, MemoryError)
        self._direct = direct_call(self._fast, program, constants, self._n_out, self._single, retry)
        self._direct_pending = False

    def _run(self, arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
        # a variable living on a GPU is used in place by the cuda backend, copied to the host
        # for the others
        if self._device_arrays:
            variables = [s.array for s in self._variable_storages]
        else:
            variables = [s.host() for s in self._variable_storages]
        try:
            return list(self._executable(arrays, variables))
        except SystemError as exc:
            raise interrupt_behind(exc) from None
        except MemoryError as exc:
            # numpy and numba refuse an allocation before touching memory: say for which call
            raise MemoryError(
                f"{self._describe(arrays)}: an output or intermediate at these sizes does not fit "
                f"in memory ({exc})"
            ) from exc
        except ValueError as exc:
            if VARIABLE_RESHAPED in str(exc):
                raise ValueError(self._describe_reshaped(variables)) from exc
            if "array is too big" not in str(exc):
                raise
            raise ValueError(
                f"{self._describe(arrays)}: an output or intermediate at these sizes has more "
                f"bytes than an array can hold (its size overflows) ({exc})"
            ) from exc

    def _describe_reshaped(self, variables: Sequence[Any]) -> str:
        """The error of a call whose program found a variable's array of another shape than it
        was compiled for (the program says so for all its variables at once)."""
        wrong = [
            f"variable {v.name!r} has shape {tuple(a.shape)}, the program was compiled for "
            f"{tuple(v.shape)}"
            for v, a in zip(self.program.variables, variables)
            if tuple(a.shape) != tuple(v.shape)
        ]
        return f"{self!r}: {'; '.join(wrong) or VARIABLE_RESHAPED}"

    def _describe(self, arrays: Sequence[np.ndarray]) -> str:
        shapes = ", ".join(f"{x.name!r} {np.shape(a)}" for x, a in zip(self.inputs, arrays))
        return f"{self!r} called with {shapes or 'no inputs'}"

    def _run_reading(self, arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Run a call that reads variables and writes none on a consistent snapshot of them:
        without a lock while no compiled update writes them during the run, else under their
        locks."""
        versions = self._read_versions
        for _ in range(OPTIMISTIC_TRIES):
            before = versions()
            if any(map(_odd, before)):
                break  # a write is in progress: wait for it below
            try:
                results = self._run(arrays)
            except Exception:
                if versions() == before:
                    raise  # the error is not an artefact of a half-written variable
                continue
            if versions() == before:
                return results
        return self._state_locks.call(self._read_stripes, self._run, arrays)

    def _apply_updates(self, results: list[np.ndarray]) -> None:
        """Copy the new values into the variables (the caller holds their locks and marks the
        write); a result never aliases a variable (see ``Executable``)."""
        _copy_into([var.storage.array for var, _ in self.updates], results[self._n_out :])

    def write_updates(self, news: Sequence[np.ndarray]) -> None:
        """Write new values of the updated variables (one per update, in order), computed
        elsewhere (``gj.dask.step``), under the locks a call that updates them takes."""
        if len(news) != len(self.updates):
            raise ValueError(f"expected {len(self.updates)} new value(s), got {len(news)}")
        arrays = []
        for (var, _), new in zip(self.updates, news):
            arr = np.asarray(new)
            if arr.shape != tuple(var.storage.array.shape):
                raise ValueError(
                    f"variable {var.name!r}: new value has shape {arr.shape}, expected "
                    f"{tuple(var.storage.array.shape)}"
                )
            arrays.append(arr)
        self._state_locks.call(self._lock_stripes, self._write_new_values, arrays)

    def _write_new_values(self, news: list[np.ndarray]) -> None:
        self._write([var.storage.array for var, _ in self.updates], news)

    def _write(self, targets: list[np.ndarray], news: list[np.ndarray]) -> None:
        locks = self._state_locks
        locks.begin_write(self._write_stripes)
        try:
            _copy_into(targets, news)
        finally:
            locks.end_write(self._write_stripes)


def _in_place_targets(
    variables: Sequence[Any], updated: Sequence[Variable]
) -> tuple[Variable | None, ...]:
    """The variable of each update, where a backend may store the new value into its array:
    not where that array shares memory with another variable the program reads (two variables
    over one array: a store into one would change what the program reads from the other)."""
    if not updated:
        return ()
    spans = []
    for v in variables:
        arr = v.storage.array
        if not isinstance(arr, np.ndarray):
            continue  # a device array: the cpu backend is given a host copy of it
        lo, hi = array_span(arr)
        spans.append((lo, hi, v))
    spans.sort(key=lambda s: (s[0], s[1]))
    shared: set[Any] = set()
    end, owner = -1, None
    for lo, hi, v in spans:
        if lo < end and hi > lo:
            shared.update((v, owner))
        if hi > end:
            end, owner = hi, v
    return tuple(None if var in shared else var for var in updated)


def _rebuild_compiled(
    encoded: Any, n_inputs: int, n_out: int, single: bool, backend: str
) -> CompiledFunction:
    nodes = decode_graph(encoded)
    inputs = nodes[:n_inputs]
    n_updates = (len(nodes) - n_inputs - n_out) // 2
    results = nodes[n_inputs : n_inputs + n_out + n_updates]
    variables = nodes[n_inputs + n_out + n_updates :]
    outputs: Any = results[0] if single else results[:n_out]
    updates = list(zip(variables, results[n_out:]))
    return CompiledFunction(inputs, outputs, updates=updates, backend=backend, optimize=False)


def interrupt_behind(exc: SystemError) -> BaseException:
    """The KeyboardInterrupt a SystemError hides, else the error itself. A Ctrl-C arriving as
    numba converts a program's results to Python objects surfaces as numba's SystemError ("...
    returned a result with an exception set"), chained to the KeyboardInterrupt, perhaps
    through another SystemError."""
    seen: BaseException | None = exc
    for _ in range(8):
        seen = (seen.__cause__ or seen.__context__) if seen is not None else None
        if isinstance(seen, KeyboardInterrupt):
            return seen
    return exc


def _copy_into(targets: list[Any], news: list[Any]) -> None:
    """Write each new value into its variable's array, host or device (a device variable is
    written on the device). A Ctrl-C arriving between two of the writes waits for the rest:
    a step's update is never left half applied (each write is one uninterruptible copy)."""
    done = 0
    try:
        for target, new in zip(targets, news):
            _copy_one(target, new)
            done += 1
    except KeyboardInterrupt:
        for target, new in zip(targets[done:], news[done:]):
            _copy_one(target, new)
        raise


def _copy_one(target: Any, new: Any) -> None:
    if new is target:
        return  # the program stored the new value into the variable itself
    if type(target) is np.ndarray and type(new) is np.ndarray:
        target[...] = new
    else:
        write_array(target, new)


def compile(
    inputs: Sequence[Node],
    outputs: Any,
    updates: Any = None,
    backend: str = "cpu",
    optimize: bool = True,
) -> CompiledFunction:
    """Compile a graph into a function of ``inputs`` returning ``outputs``.

    ``updates`` maps variables to new-value nodes, applied in place after the outputs are
    computed, all from the old values. ``backend`` is "numpy" (the reference interpreter), "cpu"
    (numba) or "cuda"."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    return CompiledFunction(inputs, outputs, updates=updates, backend=backend, optimize=optimize)
