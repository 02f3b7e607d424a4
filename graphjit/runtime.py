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
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from graphjit import ir
from graphjit.dtypes import reject_masked
from graphjit.errors import IntegerOutOfRangeError
from graphjit.guards import MISS, DirectCall, InputSpec, direct_call
from graphjit.interp import evaluate
from graphjit.ir import Node
from graphjit.locks import OPTIMISTIC_TRIES, STATE_LOCKS
from graphjit.ops.dispatch import astype, constant_node, is_tensor, lift
from graphjit.ops.leaves import PLACEHOLDER, VARIABLE, Variable, write_array
from graphjit.rewrite import optimize as optimize_graph
from graphjit.serialize import decode_graph, encode_graph
from graphjit.viz import pprint_str

BACKENDS = ("numpy", "cpu", "cuda")

_odd = (1).__and__


@dataclass(frozen=True)
class Program:
    """What a backend compiles: a graph with its inputs, the variables it reads, and its results
    (the user's outputs followed by the new values of updated variables)."""

    inputs: tuple[Node, ...]
    variables: tuple[Variable, ...]
    results: tuple[Node, ...]
    n_updates: int = 0  # the last n_updates results are new values of updated variables


class Executable(Protocol):
    source: str
    # True when no result ever shares memory with an input, a variable or a constant (the
    # generated programs copy such results), so updates need no alias checks
    fresh_results: bool

    def __call__(
        self, inputs: Sequence[np.ndarray], variables: Sequence[np.ndarray]
    ) -> Sequence[np.ndarray]: ...


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


def _check_placeholder(x: Any, i: int) -> Node:
    if not isinstance(x, Node) or x.op is not PLACEHOLDER:
        what = x.op.name if isinstance(x, Node) else type(x).__name__
        raise TypeError(f"compile: inputs[{i}] must be a gj.placeholder, got {what}")
    return x


def _check_listed(value: Any, what: str, items: str) -> None:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(f"compile: {what} must be a list of {items}, got {type(value).__name__}")


def _check_updates(updates: Any) -> list[tuple[Variable, Node]]:
    if updates is None:
        return []
    if not isinstance(updates, Mapping):
        _check_listed(updates, "updates", "(variable, new value) pairs or a dict")
    items = list(updates.items()) if isinstance(updates, Mapping) else list(updates)
    result: list[tuple[Variable, Node]] = []
    seen: set[int] = set()
    for i, item in enumerate(items):
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise TypeError(
                f"compile: updates[{i}] must be a (variable, new value) pair, got {item!r:.60}"
            )
        var, new = item
        if not isinstance(var, Variable):
            raise TypeError(f"updates: keys must be gj.variable nodes, got {var!r}")
        if id(var) in seen:
            raise ValueError(f"updates: variable {var.name!r} is updated twice")
        seen.add(id(var))
        new = lift(new)
        if not isinstance(new, Node):
            new = constant_node(np.asarray(new))
        if len(new.shape) != len(var.shape) or any(
            isinstance(a, int) and a != b for a, b in zip(new.shape, var.shape)
        ):
            raise ValueError(
                f"updates: new value for variable {var.name!r} has shape "
                f"{ir.format_shape(new.shape)}, the variable has {ir.format_shape(var.shape)}"
            )
        if new.dtype != var.dtype:
            if not np.can_cast(new.dtype, var.dtype, casting="same_kind"):
                raise TypeError(
                    f"updates: new value for variable {var.name!r} is {new.dtype}, the variable "
                    f"is {var.dtype}"
                )
            new = astype(new, var.dtype)
        result.append((var, new))
    return result


class CompiledFunction:
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
        _check_listed(inputs, "inputs", "placeholders")
        self.inputs = tuple(_check_placeholder(x, i) for i, x in enumerate(inputs))
        if len({id(x) for x in self.inputs}) != len(self.inputs):
            raise ValueError("compile: the same placeholder is listed twice in inputs")
        self._single = isinstance(outputs, Node)
        if not self._single:
            _check_listed(outputs, "outputs", "graph nodes")
        outs = [outputs] if self._single else list(outputs)

        lifted = [lift(o) for o in outs]
        for i, (given, o) in enumerate(zip(outs, lifted)):
            if not isinstance(o, Node):  # name what was given, not what lift made of it
                raise TypeError(
                    f"compile: outputs[{i}] is a {type(given).__name__}, expected a graph node "
                    "(wrap a fixed value in gj.constant)"
                )
        self.outputs = tuple(lifted)
        self.updates = tuple(_check_updates(updates))
        results = list(self.outputs) + [new for _, new in self.updates]
        self._check_inputs_given(results)
        if optimize:
            results = optimize_graph(results)
        self.graph = tuple(results)
        variables = tuple(n for n in ir.toposort(results) if n.op is VARIABLE)
        self.program = Program(self.inputs, variables, tuple(results), len(self.updates))
        self.backend = backend
        self._executable = load_backend(backend)(self.program)
        # a backend running on a GPU takes device arrays as they are (zero copy)
        self._device_arrays = backend == "cuda"
        self._n_out = len(self.outputs)
        self._fast = _fast_specs(self.inputs)
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

    def _check_inputs_given(self, results: Sequence[Node]) -> None:
        given = {id(x) for x in self.inputs}
        missing = [n for n in ir.leaves(results, "placeholder") if id(n) not in given]
        if missing:
            names = ", ".join(repr(n.name) for n in missing)
            raise ValueError(
                f"compile: the outputs need placeholder(s) {names}, which are not listed in inputs"
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
        if len(args) != len(self.inputs):
            names = ", ".join(repr(x.name) for x in self.inputs)
            raise TypeError(f"expected {len(self.inputs)} argument(s) ({names}), got {len(args)}")
        arrays = []
        named: dict[str, tuple[int, str]] = {}
        for ph, a in zip(self.inputs, args):
            if is_tensor(a) and a.is_cuda:  # an eager tensor on the GPU: its device array
                if not self._device_arrays:
                    raise TypeError(
                        f"input {ph.name!r}: a tensor on cuda:0 given to a function compiled for "
                        f"the {self.backend} backend; pass it .cpu(), or compile with "
                        "backend='cuda'"
                    )
                a = a.detach()._data
            if self._device_arrays and _on_device(a):
                arrays.append(check_device_argument(ph, a, named))
            else:
                arrays.append(coerce_argument(ph, a, named))
        return arrays

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
            out = direct(*args)
            if out is not MISS:
                return out
        arrays: Sequence[np.ndarray]
        if not self._fast_ok(args):
            for caller in _lazy_callers:
                if caller.handles(args):
                    lazy = caller(self, args)
                    return lazy[0] if self._single else lazy
            arrays = self.validate(args)
        else:
            arrays = args
        if self._lock_stripes:
            locks = self._state_locks
            locks.acquire(self._lock_stripes)
            try:
                results = self._run(arrays)
                self._apply_updates(results)
            finally:
                locks.release(self._lock_stripes)
        elif self._read_stripes:
            results = self._run_reading(arrays)
        else:
            results = self._run(arrays)
            if self._direct_pending:
                self._install_direct()
        outs = results[: self._n_out]
        return outs[0] if self._single else outs

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
        locks = self._state_locks
        locks.acquire(stripes)
        try:
            if self._write_stripes:
                locks.begin_write(self._write_stripes)
            try:
                outs = self._repeat(steps, keep == "all", arrays)
            finally:
                if self._write_stripes:
                    locks.end_write(self._write_stripes)
        finally:
            locks.release(stripes)
        return outs[0] if self._single else outs

    def _repeat(self, steps: int, keep_all: bool, arrays: Sequence[Any]) -> list[Any]:
        compiled = getattr(self._executable, "repeat", None)
        if compiled is not None and not any(s.on_device for s in self._variable_storages):
            variables = [s.array for s in self._variable_storages]
            targets = [var.storage.array for var, _ in self.updates]
            ranks = [o.ndim for o in self.graph[: self._n_out]]
            return list(compiled(steps, keep_all, arrays, variables, targets, ranks))
        kept: list[list[np.ndarray]] = []
        outs: list[np.ndarray] = []
        for _ in range(steps):
            results = self._run(arrays)
            self._apply_updates(results, versions=False)
            outs = [np.array(o, copy=True) for o in results[: self._n_out]]
            if keep_all:
                kept.append(outs)
        if keep_all:
            return [np.stack([k[j] for k in kept]) for j in range(self._n_out)]
        return outs

    def _run(self, arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
        # a variable living on a GPU is used in place by the cuda backend, copied to the host
        # for the others
        if self._device_arrays:
            variables = [s.array for s in self._variable_storages]
        else:
            variables = [s.host() for s in self._variable_storages]
        try:
            return list(self._executable(arrays, variables))
        except MemoryError as exc:
            # numpy and numba refuse an allocation before touching memory: say for which call
            raise MemoryError(
                f"{self._describe(arrays)}: an output or intermediate at these sizes does not fit "
                f"in memory ({exc})"
            ) from exc
        except ValueError as exc:
            if "array is too big" not in str(exc):
                raise
            raise ValueError(
                f"{self._describe(arrays)}: an output or intermediate at these sizes has more "
                f"bytes than an array can hold (its size overflows) ({exc})"
            ) from exc

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
        with self._state_locks.hold(self._read_stripes):
            return self._run(arrays)

    def _apply_updates(self, results: list[np.ndarray], versions: bool = True) -> None:
        """Write the new values (``versions=False``: the caller marks the write itself)."""
        news = results[self._n_out :]
        targets = [var.storage.array for var, _ in self.updates]
        write = self._write if versions else _copy_into
        if self._executable.fresh_results:
            write(targets, news)
            return
        # every new value is computed from the old ones: copy any that alias an updated array
        hosts = [t for t in targets if isinstance(t, np.ndarray)]
        for i, new in enumerate(news):
            if any(np.may_share_memory(new, t) for t in hosts):
                news[i] = np.array(new, copy=True)
        for j, out in enumerate(results[: self._n_out]):
            if any(np.may_share_memory(out, t) for t in hosts):
                results[j] = np.array(out, copy=True)
        write(targets, news)

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
        locks = self._state_locks
        locks.acquire(self._lock_stripes)
        try:
            self._write([var.storage.array for var, _ in self.updates], arrays)
        finally:
            locks.release(self._lock_stripes)

    def _write(self, targets: list[np.ndarray], news: list[np.ndarray]) -> None:
        locks = self._state_locks
        locks.begin_write(self._write_stripes)
        try:
            _copy_into(targets, news)
        finally:
            locks.end_write(self._write_stripes)


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


def _copy_into(targets: list[Any], news: list[Any]) -> None:
    """Write each new value into its variable's array, host or device (a device variable is
    written on the device)."""
    for target, new in zip(targets, news):
        if type(target) is np.ndarray and type(new) is np.ndarray:
            target[...] = new
        else:
            write_array(target, new)


def _check_steps(n: Any) -> int:
    """``repeat``'s count: a positive int (a numpy integer too; not a bool or a float)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"repeat: n must be an int (the number of calls), got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"repeat: n must be at least 1 (the number of calls), got {n}")
    return int(n)


def _fast_specs(inputs: Sequence[Node]) -> tuple[InputSpec, ...] | None:
    """Per input: (dtype, ndim, fixed dims) for the fast argument check; None when an input
    has named dims (those need the cross-input check in ``validate``)."""
    specs = []
    for ph in inputs:
        if any(isinstance(d, str) for d in ph.shape):
            return None
        fixed = tuple((i, d) for i, d in enumerate(ph.shape) if isinstance(d, int))
        specs.append((np.dtype(ph.dtype), ph.ndim, fixed))
    return tuple(specs)


def _on_device(a: Any) -> bool:
    """A GPU array (CuPy, numba, torch on CUDA, DLPack producers), not a host array."""
    if isinstance(a, np.ndarray):
        return False
    if hasattr(a, "__cuda_array_interface__") or hasattr(a, "copy_to_host"):
        return True  # copy_to_host: numba's device arrays (the simulator's have no interface)
    return hasattr(a, "__dlpack__") and not hasattr(a, "numpy")


def check_device_argument(ph: Node, a: Any, named: dict[str, tuple[int, str]]) -> Any:
    """A device array argument checked against its placeholder (dtype, rank, dims), unchanged:
    it is not copied and its dtype is not converted."""
    name = ph.name
    dtype = np.dtype(getattr(a, "dtype", "V"))
    if dtype != np.dtype(ph.dtype):
        raise TypeError(
            f"input {name!r}: expected dtype {ph.dtype}, got a device array of {dtype} (device "
            "arrays are not converted); convert it with .astype({ph.dtype!r})"
        )
    _check_dims(ph, tuple(a.shape), named)
    return a


def _check_dims(ph: Node, shape: tuple[int, ...], named: dict[str, tuple[int, str]]) -> None:
    name = ph.name
    if len(shape) != ph.ndim:
        raise ValueError(
            f"input {name!r}: expected {ph.ndim} dims with shape {ir.format_shape(ph.shape)}, got "
            f"shape {shape}"
        )
    for axis, (d, n) in enumerate(zip(ph.shape, shape)):
        if isinstance(d, int) and d != n:
            raise ValueError(
                f"input {name!r}: expected shape {ir.format_shape(ph.shape)}, got {shape} "
                f"(axis {axis} must be {d})"
            )
        if isinstance(d, str):
            if d in named and named[d][0] != n:
                raise ValueError(
                    f"input {name!r}: dim {d!r} is {n} on axis {axis}, but {named[d][1]} gave "
                    f"{d!r} = {named[d][0]}"
                )
            named.setdefault(d, (n, f"input {name!r}"))


def coerce_argument(ph: Node, a: Any, named: dict[str, tuple[int, str]]) -> np.ndarray:
    """One call argument as an array of the placeholder's type, checked against its dims."""
    name = ph.name
    want = ph.dtype
    if isinstance(a, Node):
        raise TypeError(f"input {name!r}: got a graph node; compiled functions take arrays")
    reject_masked(a, f"input {name!r}: ")
    if is_tensor(a):
        a = a.numpy()  # an eager tensor: its own array
    elif not isinstance(a, np.ndarray) and hasattr(a, "__dlpack__") and not hasattr(a, "__array__"):
        try:
            a = np.from_dlpack(a)  # another library's CPU array, shared without a copy
        except (BufferError, RuntimeError, TypeError) as exc:
            raise TypeError(
                f"input {name!r}: cannot read this {type(a).__name__} through DLPack ({exc}); "
                "copy it to a numpy array first"
            ) from exc
    if isinstance(a, (bool, int, float)) and not isinstance(a, np.generic):
        kind = {bool: "b", int: "i", float: "f"}[type(a)]
        if (np.dtype(want).kind == "b" and kind != "b") or (
            np.dtype(want).kind == "i" and kind == "f"
        ):
            raise TypeError(f"input {name!r}: expected {want}, got python {type(a).__name__}")
        try:
            arr = np.asarray(a, dtype=want)
        except OverflowError:
            raise IntegerOutOfRangeError(
                f"input {name!r}: the python int {a} does not fit in {want}, the input's dtype"
            ) from None
    else:
        try:
            arr = np.asarray(a)
        except Exception as exc:
            raise TypeError(
                f"input {name!r}: cannot convert {type(a).__name__} to an array"
            ) from exc
        if arr.dtype != want:
            if arr.dtype == object or not np.can_cast(arr.dtype, want, casting="safe"):
                raise TypeError(
                    f"input {name!r}: expected dtype {want}, got {arr.dtype} (which does not cast "
                    f"safely); convert it with .astype({want!r})"
                )
            arr = arr.astype(want)
    _check_dims(ph, arr.shape, named)
    return arr


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
