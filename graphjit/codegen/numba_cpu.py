"""The numba CPU backend: one generated module per graph, one ``@njit`` program per module.

The module holds one function per kernel (a fused elementwise loop nest, a reduction with its fused
producers, or an op's own loops) and one ``program`` that takes the inputs, variables and array
constants, checks call-time shapes, allocates (reusing dead buffers), calls the kernels and returns
the outputs followed by the new values of updated variables. A call from Python is one dispatch.

Kernels above ``PARALLEL_MIN_SIZE`` elements call a ``prange`` variant (when more than one thread is
allowed: ``GRAPHJIT_NUM_THREADS``, and never inside pytest-xdist workers). The module is written
to the disk cache and imported from there, so numba caches the machine code beside it.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from graphjit import ir
from graphjit.codegen import dims as dim_rules
from graphjit.codegen import numba_loops
from graphjit.codegen.emit import TYPE_NAMES, SourceWriter, comment_text, int_tuple
from graphjit.codegen.emit import literal as render_literal
from graphjit.codegen.lower import (
    LOOP_KINDS,
    Check,
    DimTable,
    Group,
    Let,
    Plan,
    merge_loops,
    nest_inputs,
    partition,
)
from graphjit.codegen.numba_loops import PARALLEL_MIN_SIZE
from graphjit.ir import Node
from graphjit.ops.leaves import constant_value

MAX_PARAMS = 28

# numba warns when BLAS gets a strided view; kernels.ops.matmul_blas copies such operands itself
warnings.filterwarnings(
    "ignore", message=r".*np\.v?dot\(\) is faster on contiguous arrays", module=r".*"
)
FASTMATH = "{'reassoc', 'contract', 'arcp', 'nsz', 'afn'}"

MODULE_HEADER = """\
import numpy as np
from numba import njit, prange

from graphjit.kernels.scalar import *  # noqa: F403  (the scalar math the expressions use)
from graphjit.kernels.shapes import NONE, slice_length
from graphjit.kernels import ops as kops

f64, f32, i64, i32, bool_ = np.float64, np.float32, np.int64, np.int32, np.bool_
CACHE = globals().get("CACHE", False)  # set by graphjit.cache before the module runs
# NaN-safe fast math: reductions vectorise, NaN and inf still propagate as in numpy
FASTMATH = {fastmath}
# kernels are inlined into the program (numba compiles one function: much faster than one per
# kernel); the prange variants stay separate functions, compiled with parallel=True
KERNEL = dict(fastmath=FASTMATH, error_model="numpy", inline="always")
PROGRAM = dict(fastmath=FASTMATH, error_model="numpy", nogil=True, cache=CACHE)
PARALLEL = dict(PROGRAM, parallel=True)
PARALLEL_MIN_SIZE = {parallel_min}
"""


def num_threads() -> int:
    """Threads the generated code may use: 1 inside pytest-xdist workers, else
    ``GRAPHJIT_NUM_THREADS`` (default: numba's own count)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return 1
    env = os.environ.get("GRAPHJIT_NUM_THREADS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            warnings.warn(f"GRAPHJIT_NUM_THREADS={env!r} is not an int; using 1", stacklevel=2)
            return 1
    import numba

    return int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]


def describe_node(node: Node, ids: dict[int, str]) -> str:
    """One header line: ``%3 = multiply(%1, %2) : float64[?, 3]`` (user names sanitised);
    ``ids`` maps ``id(node)`` to its label."""
    from graphjit.viz import describe

    return comment_text(describe(node, ids), limit=160)


class ModuleBuilder:
    """Generates the source of one module from a plan."""

    def __init__(
        self,
        inputs: Sequence[Node],
        variables: Sequence[Node],
        results: Sequence[Node],
        parallel: bool,
    ) -> None:
        self.inputs = tuple(inputs)
        self.variables = tuple(variables)
        self.results = tuple(results)
        self.parallel = parallel
        self.plan: Plan = partition(self.results)
        self.table = DimTable()
        self.arrays: dict[Node, str] = {}  # node -> array name in the program
        self.constants: list[Node] = []  # array constants, passed after the variables
        self.kernels: list[str] = []  # source of each kernel function
        self.body = SourceWriter()
        self.graph_ids = {n: f"%{i}" for i, n in enumerate(self.plan.order)}
        self._buffers: dict[str, list[Node]] = {}  # buffer name -> nodes stored in it (views too)
        self._buffer_key: dict[str, tuple] = {}
        self._last_read: dict[Node, int] = {}
        self._storage: dict[str, str | None] = {}  # array name -> the program-owned array it views
        self._counter = 0
        self._packed: set[str] = set()

    # -------------------------------------------------------------------------------- naming
    def fresh(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}{self._counter}"

    def dims(self, node: Node) -> list[str]:
        return self.table.dims[node]

    def array(self, node: Node) -> str:
        """The program's array name for a computed node (constants become arguments on demand)."""
        name = self.arrays.get(node)
        if name is not None:
            return name
        if node.op.name == "constant":
            name = f"c{len(self.constants)}"
            self.constants.append(node)
            self.arrays[node] = name
            return name
        raise AssertionError(f"internal error: {node!r} has no array yet")

    def scalar_literal(self, node: Node) -> str | None:
        """A 0-d constant as a literal (so it folds into the expression), else None."""
        if node.op.name == "constant" and node.ndim == 0:
            return render_literal(constant_value(node)[()], node.dtype)
        return None

    def label(self, node: Node) -> str:
        return self.graph_ids.get(node, "?")

    # -------------------------------------------------------------------------------- buffers
    def _key(self, node: Node) -> tuple:
        return (node.dtype, tuple(self.table._find(d) for d in self.dims(node)))

    def _free(self, buf: str, step: int, allow_read_now: Node | None = None) -> bool:
        for n in self._buffers[buf]:
            last = self._last_read.get(n, -1)
            if n is allow_read_now:
                if last > step:
                    return False
            elif last >= step:
                return False
        return True

    def output_buffer(self, node: Node, step: int, in_place: Sequence[Node] = ()) -> str:
        """An array for ``node``'s value: a dead buffer of the same dtype and shape (or one of
        ``in_place``, read at the same index by this step and dead after it), else a new one."""
        key = self._key(node)
        for x in in_place:
            buf = self.arrays.get(x)
            if (
                buf in self._buffers
                and self._buffers[buf][0] is x
                and self._buffer_key[buf] == key
                and self._free(buf, step, x)
            ):
                return self._claim(buf, node, "reuses the dead input's buffer")
        for buf, k in self._buffer_key.items():
            if k == key and self._free(buf, step):
                return self._claim(buf, node, "reuses a dead buffer")
        buf = f"b{len(self._buffers)}"
        self._buffers[buf] = [node]
        self._buffer_key[buf] = key
        self._storage[buf] = buf
        self.arrays[node] = buf
        dt = TYPE_NAMES[node.dtype]
        self.body.line(f"{buf} = kops.empty({int_tuple(self.dims(node))}, {dt})")
        return buf

    def _claim(self, buf: str, node: Node, why: str) -> str:
        self._buffers[buf] = [node]
        self.arrays[node] = buf
        self.body.line(f"# {self.label(node)} {why} ({buf})")
        return buf

    def add_view(self, node: Node, base: Node, expr: str) -> str:
        name = f"v{len(self.arrays)}"
        self.arrays[node] = name
        base_name = self.arrays.get(base)
        buf = self._storage.get(base_name) if base_name is not None else None
        if buf in self._buffers:
            self._buffers[buf].append(node)  # the buffer lives as long as its views
        self._storage[name] = buf
        self.body.line(f"{name} = {expr}")
        return name

    def mark_owned(self, node: Node) -> None:
        """``node``'s array views memory this call allocated outside the buffer pool."""
        self._storage[self.arrays[node]] = self.arrays[node]

    # -------------------------------------------------------------------------------- kernels
    def call_kernel(
        self, name: str, args: Sequence[str], size: str, has_parallel: bool, n_sizes: int = 0
    ) -> None:
        args = list(args)
        if name in self._packed:
            args = [*args[:n_sizes], f"({', '.join(args[n_sizes:])},)"]
        call = f"({', '.join(args)})"
        if has_parallel:
            with self.body.block(f"if {size} >= PARALLEL_MIN_SIZE:"):
                self.body.line(f"{name}_parallel{call}")
            with self.body.block("else:"):
                self.body.line(f"{name}{call}")
        else:
            self.body.line(f"{name}{call}")

    def add_kernel(self, writer: SourceWriter) -> None:
        self.kernels.append(writer.text())

    def kernel_pair(
        self,
        name: str,
        params: Sequence[str],
        doc: str,
        emit_body: Any,
        parallel: bool,
        n_sizes: int = 0,
    ) -> None:
        """Source of kernel ``name`` (and of ``name_parallel``, whose outer loop is a prange).
        Past ``MAX_PARAMS`` parameters the arrays travel as one tuple (numba cannot inline a
        call with more than 30 arguments)."""
        params = list(params)
        unpack = None
        if len(params) > MAX_PARAMS:
            arrays = params[n_sizes:]
            params = [*params[:n_sizes], "arrays"]
            unpack = f"({', '.join(arrays)},) = arrays"
            self._packed.add(name)
        for variant in (False, True) if parallel else (False,):
            w = SourceWriter()
            w.line("@njit(**PARALLEL)" if variant else "@njit(**KERNEL)")
            fname = f"{name}_parallel" if variant else name
            with w.block(f"def {fname}({', '.join(params)}):"):
                w.line(f'"""{doc}"""')
                if unpack:
                    w.line(unpack)
                emit_body(w, variant)
            self.add_kernel(w)

    # -------------------------------------------------------------------------------- build
    def build(self) -> str:
        plan = self.plan
        for i, x in enumerate(self.inputs):
            self.arrays[x] = f"x{i}"
        for i, v in enumerate(self.variables):
            self.arrays[v] = f"w{i}"
        # dims of every node (in the prologue): leaves first, then the op rules
        for n in plan.order:
            if n.op.name == "placeholder":
                self.table.leaf(n, self.arrays[n], check_static=False)
            elif n.op.name == "variable":
                self.table.leaf(n, self.arrays[n], check_static=True)
            elif n.op.name == "constant":
                self.table.dims[n] = [str(d) for d in n.shape]
            else:
                self.table.dims[n] = dim_rules.infer_dims(self.table, n)
        self.steps = merge_loops(
            plan.groups,
            plan.group_of,
            self.space_key,
            lambda parts, g: numba_loops.may_join(self, parts, g),
        )
        for step, parts in enumerate(self.steps):
            for x in nest_inputs(parts):
                self._last_read[x] = step
        for r in self.results:
            self._last_read[r] = len(self.steps) + 1
        from graphjit.codegen import numba_ops

        for step, parts in enumerate(self.steps):
            self.body.line()
            for g in parts:
                self.body.comment(self.group_title(g))
            g = parts[0]
            if g.kind in LOOP_KINDS:
                numba_loops.emit_nest(self, parts, step)
            elif g.kind == "view":
                numba_ops.view(self, g.root)
            else:
                numba_ops.lower_op(self, g.root, step)
        return self.module_source()

    def space_key(self, node: Node) -> tuple[str, ...]:
        """Equal for nodes whose shapes are equal at call time (given the program's checks)."""
        return tuple(self.table._find(d) for d in self.dims(node))

    def read_after(self, node: Node, step: int) -> bool:
        """Whether a later step (or the results) reads ``node``'s array."""
        return self._last_read.get(node, -1) > step

    def group_title(self, g: Group) -> str:
        nodes = g.members if g.kind == "elementwise" else [*g.members, g.root]
        ops = ", ".join(f"{self.label(n)} {n.op.name}" for n in nodes)
        return f"{g.kind} {self.label(g.root)}: {ops}"

    # -------------------------------------------------------------------------------- module
    def module_source(self) -> str:
        w = SourceWriter()
        # the graph goes in comments (user names are sanitised there and never become code)
        w.line("# Generated by graphjit (numba CPU backend). Do not edit: regenerated on demand.")
        w.line("#")
        w.line("# Graph:")
        ids = {id(n): label for n, label in self.graph_ids.items()}
        for n in self.plan.order:
            w.line("#     " + describe_node(n, ids))
        w.line("# Results: " + ", ".join(self.label(r) for r in self.results))
        w.line(MODULE_HEADER.format(fastmath=FASTMATH, parallel_min=PARALLEL_MIN_SIZE))
        for k in self.kernels:
            w.line()
            for text in k.rstrip("\n").split("\n"):
                w.line(text)
            w.line()
        # results first: a result that is itself a constant adds that constant to the arguments
        outs = [self.result_expr(r) for r in self.results]
        args = [self.arrays[x] for x in self.inputs] + [self.arrays[v] for v in self.variables]
        args += [self.arrays[c] for c in self.constants]
        w.line()
        w.line("@njit(**PROGRAM)")
        with w.block(f"def program({', '.join(args)}):"):
            n_in, n_var = len(self.inputs), len(self.variables)
            groups = {
                "inputs": args[:n_in],
                "variables": args[n_in : n_in + n_var],
                "array constants": args[n_in + n_var :],
            }
            doc = "; ".join(f"{k}: {', '.join(v) or 'none'}" for k, v in groups.items())
            w.line(f'"""{doc}"""')
            if self.table.stmts:
                w.line("# call-time sizes and the shape checks the graph's rules assumed")
            for s in self.table.stmts:
                if isinstance(s, Let):
                    w.line(f"{s.name} = {s.expr}")
                else:
                    assert isinstance(s, Check)
                    with w.block(f"if {s.condition}:"):
                        w.line(f"raise ValueError({s.message!r})")
            w.extend(self.body)
            w.line()
            w.line(f"return {int_tuple(outs)}")
        return w.text()

    def result_expr(self, node: Node) -> str:
        # a result must not alias an input, a variable or a constant, and is never a broadcast
        name = self.arrays.get(node) or self.array(node)
        owned = self._storage.get(name) is not None
        if owned and node.op.name not in ("broadcast_to", "broadcast_like"):
            return name
        return f"{name}.copy()"


class CpuExecutable:
    """A compiled program: ``__call__(inputs, variables)`` is one numba dispatch."""

    fresh_results = True  # the program copies a result that would alias its arguments

    def __init__(self, source: str, program: Any, constants: Sequence[np.ndarray]) -> None:
        self.source = source
        self._program = program
        self._constants = tuple(constants)

    def __call__(self, inputs: Sequence[np.ndarray], variables: Sequence[np.ndarray]) -> Any:
        return self._program(*inputs, *variables, *self._constants)


def generate(program: Any, parallel: bool | None = None) -> tuple[str, list[Node]]:
    """The module source for a runtime ``Program`` and the constants its program takes."""
    if parallel is None:
        parallel = num_threads() > 1
    builder = ModuleBuilder(program.inputs, program.variables, program.results, parallel)
    return builder.build(), builder.constants


def compile_program(program: Any) -> CpuExecutable:
    from graphjit import cache

    source, constants = generate(program)
    module = cache.load_module(source)
    arrays = [np.array(constant_value(c)) for c in constants]  # writeable copies: one numba type
    return CpuExecutable(source, module.program, arrays)


def _check_lowerings() -> list[str]:
    """Names of registered ops the backend cannot lower (the registry test wants none)."""
    from graphjit.codegen import numba_ops
    from graphjit.ops import OPS

    missing = []
    for name, op in OPS.items():
        if op.kind == "leaf":
            continue
        if op.kind == "elementwise":
            if not isinstance(op.lower, str):
                missing.append(name)
        elif name not in dim_rules.RULES or not numba_ops.can_lower(name):
            missing.append(name)
    return missing


__all__ = ["CpuExecutable", "ModuleBuilder", "compile_program", "generate", "num_threads", "ir"]
