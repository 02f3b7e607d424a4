"""The generated module: its header, its kernels and the ``program`` that calls them.

:func:`generate` runs the backend-neutral pipeline (:func:`graphjit.codegen.pipeline.lower`), then
writes each step of the schedule (a loop nest, a view or an op's lowering) and wraps the result in
one ``@njit`` program that takes the inputs, variables and array constants, checks call-time
shapes, allocates as the buffer plan says, calls the kernels and returns the outputs.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Collection, Sequence
from typing import NamedTuple, Protocol

import numba

from graphjit.codegen.emit import SourceWriter, comment_text, int_tuple
from graphjit.codegen.numba_cpu import conv_lowerings as conv_lowerings  # registers its lowerings
from graphjit.codegen.numba_cpu import lowerings
from graphjit.codegen.numba_cpu import pool_lowerings as pool_lowerings  # registers its lowerings
from graphjit.codegen.numba_cpu import scan_lowerings as scan_lowerings  # registers its lowerings
from graphjit.codegen.numba_cpu.loops import SCALAR_LOWERINGS, can_reduce, emit_nest
from graphjit.codegen.numba_cpu.stages import Stage, split
from graphjit.codegen.numba_cpu.writer import ProgramWriter, called_by_symbol
from graphjit.codegen.partition import LOOP_KINDS
from graphjit.codegen.pipeline import Lowered, lower
from graphjit.codegen.schedule import Parallelism
from graphjit.codegen.symdims import Check, Let, product
from graphjit.codegen.updates import stored_indices, stores_note, update_targets, update_values
from graphjit.ir import Node
from graphjit.ops import OPS
from graphjit.viz import describe

PARALLEL_MIN_SIZE = 200_000
FASTMATH = "{'contract', 'arcp', 'nsz', 'afn'}"

MODULE_HEADER = """\
import numpy as np
from numba import njit, prange

from graphjit.kernels.bounds import IndexOutOfBoundsError
from graphjit.kernels.scalar import *  # noqa: F403  (the scalar math the expressions use)
from graphjit.kernels.shapes import NONE, slice_length
from graphjit.kernels import extern, libm
from graphjit.kernels import ops as kops
from graphjit.kernels import pool as kpool
from graphjit.kernels import resample as kresample

# the array kernels are called by symbol, not linked into the program (see kernels/extern.py);
# the allocation, kops.empty, is an intrinsic written into the program, so LLVM sees that a buffer
# is fresh memory and the loops writing it vectorise with no check that it overlaps their inputs
kops = extern.unlinked(kops)
kpool, kresample = extern.unlinked(kpool), extern.unlinked(kresample)

f64, f32, i64, i32, bool_ = np.float64, np.float32, np.int64, np.int32, np.bool_
i16, i8, u8 = np.int16, np.int8, np.uint8
CACHE = globals().get("CACHE", False)  # set by graphjit.cache before the module runs
# NaN-safe fast math, without reassociation (which cancels x - x where numpy gives nan): a
# reduction's accumulation alone reassociates, so that it vectorises (scalar.accumulate_add)
FASTMATH = {fastmath}
# loop nests are written into the program, and the other kernels are inlined into it (numba
# compiles one function: much faster than one per kernel); the prange variants stay separate
# functions, compiled with parallel=True
KERNEL = dict(fastmath=FASTMATH, error_model="numpy", inline="always")
# a kernel the program calls at several places (an unrolled loop's step), and each stage of a
# long program (see codegen/numba_cpu/stages.py), is compiled once as a function of its own and
# called by symbol (extern.external): linked, its code would be optimised again in every caller
SHARED = dict(
    fastmath=FASTMATH,
    error_model="numpy",
    cache=CACHE,
    no_cpython_wrapper=True,
    no_cfunc_wrapper=True,
)
# (no C-callable wrapper: the program is called from Python, or by another program's loop)
PROGRAM = dict(
    fastmath=FASTMATH, error_model="numpy", nogil=True, cache=CACHE, no_cfunc_wrapper=True
)
# a program cut into stages is an entry calling them (kernels/extern.py: CALLER_ONLY)
STAGED = dict(PROGRAM, **extern.CALLER_ONLY)
PARALLEL = dict(PROGRAM, parallel=True)
PARALLEL_MIN_SIZE = {parallel_min}
"""

# Hand-written kernels with prange loops inside (kernels/conv.py, pool.py and resample.py; the
# program calls the convolutions as kops.conv_*). A program calling one carries parallel machine
# code, and numba starts its threads only for functions compiled with parallel=True: loaded from
# the cache into a fresh process, such a program would run its parallel loops on threads that do
# not exist (a crash). So its module starts them first (numba.get_num_threads() does, once per
# process; about 25 ms).
PARALLEL_KERNEL_CALL = re.compile(r"\b(kpool|kresample)\.|\bkops\.conv_")
START_THREADS = """\
import numba

numba.get_num_threads()  # starts numba's threads: the kernels this program calls run prange loops
"""


class ProgramSpec(Protocol):
    """What :func:`generate` needs of a runtime ``Program``."""

    @property
    def inputs(self) -> Sequence[Node]: ...
    @property
    def variables(self) -> Sequence[Node]: ...
    @property
    def results(self) -> Sequence[Node]: ...


class Generated(NamedTuple):
    source: str
    constants: list[Node]  # the array constants the program takes after the variables


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
    return int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]


def describe_node(node: Node, ids: dict[int, str]) -> str:
    """One header line: ``%3 = multiply(%1, %2) : float64[?, 3]`` (user names sanitised);
    ``ids`` maps ``id(node)`` to its label."""
    return comment_text(describe(node, ids), limit=160)


def generate(
    program: ProgramSpec, parallel: bool | None = None, in_place: bool = True
) -> Generated:
    """The module source for a runtime ``Program`` and the constants its program takes.

    With ``in_place``, new values of updated variables that ``codegen.updates`` finds safe are
    stored straight into the variables' arrays (the program's last steps); the module's
    ``IN_PLACE`` lists those updates (their index among the updates) and ``LATE_INPUTS`` the
    inputs the runtime must copy when one shares memory with such a variable.

    ``program`` calls only serial kernels. When some loop nest gets a parallel variant, the module
    also has ``program_parallel`` (which calls a nest's variant when the nest is large at call
    time) and ``parallel_pays(*args)``, plain Python telling from the arguments' shapes whether a
    call reaches that size: numba compiles the parallel program (the parfor passes re-type each
    parallel loop body, the costliest part of a compile) only when a call needs it."""
    if parallel is None:
        parallel = num_threads() > 1
    inputs, variables = tuple(program.inputs), tuple(program.variables)
    arrays = {x: f"x{i}" for i, x in enumerate(inputs)}
    arrays.update({v: f"w{i}" for i, v in enumerate(variables)})
    policy = Parallelism(parallel, PARALLEL_MIN_SIZE)
    updates = update_targets(program) if in_place else {}
    allocates = lowerings.allocates_itself
    lowered = lower(program.results, arrays, variables, policy, allocates, updates, True, True)
    returned = [r for r in lowered.plan.results if r not in lowered.in_place]
    if lowered.in_place and any(copied_on_return(lowered, r) for r in returned):
        # a result copied on return would be copied after the variables are written: keep the
        # program's allocations before its first store into a variable (a copy may fail)
        lowered = lower(program.results, arrays, variables, policy, allocates, scalar_locals=True)
    copies = end_copies(program, lowered)
    stored = sorted({*stored_indices(program, lowered.in_place), *(c.update for c in copies)})
    first_update = len(program.results) - len(update_values(program))
    unreturned = {first_update + k for k in stored}
    serial = write_program(lowered, arrays, False, copies, unreturned)
    wide = (
        write_program(lowered, arrays, True, copies, unreturned) if any(lowered.parallel) else None
    )
    assert wide is None or wide.constants == serial.constants
    source = module_source(serial, inputs, variables, wide)
    source += stores_note(program, stored, lowered.late_inputs)
    return Generated(source, serial.constants)


class EndCopy(NamedTuple):
    """An update the program copies into its variable after its last step: the ``update``'s
    index among the program's updates, its ``value`` (an array the program owns), its
    ``variable``."""

    update: int
    value: Node
    variable: Node


def end_copies(program: ProgramSpec, lowered: Lowered) -> list[EndCopy]:
    """The updates a program that stores some of its updates in place must also store itself,
    copying their new values into their variables after every step.

    The runtime copies the new values the program returns, after it returns. A program that has
    written some variables already would then leave a call interrupted in between (a Ctrl-C is
    raised as soon as the program returns) with its update half applied; copied here, inside the
    one uninterruptible call, every update is applied or none. Each value is an array the program
    owns (a value it would copy on return has already turned the stores in place off), so the
    copies read no variable; they run in the updates' order, as the runtime's would. An update
    whose variable the program may not write (one sharing memory with another variable) is left
    to the runtime."""
    if not lowered.in_place:
        return []  # the program writes no variable: the runtime applies all the updates
    stored = set(lowered.in_place)
    targets = tuple(getattr(program, "targets", ()))
    taken = set(program.variables)
    return [
        EndCopy(k, value, var)
        for k, (value, var) in enumerate(zip(update_values(program), targets))
        if var is not None and var in taken and value not in stored
    ]


def write_program(
    lowered: Lowered,
    arrays: dict[Node, str],
    parallel: bool,
    copies: Sequence[EndCopy] = (),
    unreturned: Collection[int] = (),
) -> ProgramWriter:
    """The kernels and program body of every step (with ``parallel``: calling the parallel
    variants of the nests that have one), then the ``copies`` into variables. The results at the
    indices ``unreturned`` (updates the program stores itself) are not returned."""
    b = ProgramWriter(lowered, arrays)
    b.unreturned = set(unreturned)
    for step, parts in enumerate(lowered.steps):
        b.step_starts.append(len(b.body.lines))
        b.body.line()
        for g in parts:
            b.body.comment(b.group_title(g))
        g = parts[0]
        if g.root in lowered.folds:
            lowerings.lower_product_update(b, g.root, lowered.folds[g.root])
        elif g.kind in LOOP_KINDS:
            emit_nest(b, parts, step, parallel and lowered.parallel[step])
        elif g.kind == "view":
            lowerings.lower_view(b, g.root)
        else:
            lowerings.lower_op(b, g.root)
    if lowered.late_stores:
        b.step_starts.append(len(b.body.lines))
        b.body.line()
        b.body.comment("0-d updates stored into their variables, every step having read the old")
        for value, var in lowered.late_stores.items():
            local = b.array(value)
            read = local if value in lowered.memory.scalars else f"{local}[()]"
            b.body.line(f"{b.arrays[var]}[()] = {read}  # {b.label(value)}")
    if copies:
        b.step_starts.append(len(b.body.lines))
        b.body.line()
        b.body.comment("updates copied into their variables, so that a call applies all or none")
        for c in copies:
            b.body.line(f"kops.assign({b.arrays[c.variable]}, {b.array(c.value)})")
    return b


def module_source(
    b: ProgramWriter,
    inputs: Sequence[Node],
    variables: Sequence[Node],
    wide: ProgramWriter | None = None,
) -> str:
    """The module: header, kernels, ``program`` written by ``b`` and, given ``wide`` (the same
    steps written with parallel variants), ``program_parallel`` and ``parallel_pays``."""
    plan = b.lowered.plan
    w = SourceWriter()
    # the graph goes in comments (user names are sanitised there and never become code)
    w.line("# Generated by graphjit (numba CPU backend). Do not edit: regenerated on demand.")
    w.line("#")
    w.line("# Graph:")
    ids = {id(n): label for n, label in b.graph_ids.items()}
    for n in plan.order:
        w.line("#     " + describe_node(n, ids))
    w.line("# Results: " + ", ".join(b.label(r) for r in plan.results))
    w.line(MODULE_HEADER.format(fastmath=FASTMATH, parallel_min=PARALLEL_MIN_SIZE))
    rest = SourceWriter()
    for k in (wide or b).kernels:
        rest.line()
        for text in k.rstrip("\n").split("\n"):
            rest.line(text)
        rest.line()
    args = [b.arrays[x] for x in inputs] + [b.arrays[v] for v in variables]
    write_entry(rest, b, "program", len(inputs), len(variables), args)
    if wide is not None:
        write_entry(rest, wide, "program_parallel", len(inputs), len(variables), args)
        write_parallel_pays(rest, wide, args)
    if PARALLEL_KERNEL_CALL.search(rest.text()):
        w.line(START_THREADS)
    w.extend(rest)
    return w.text()


def write_entry(
    w: SourceWriter, b: ProgramWriter, name: str, n_in: int, n_var: int, args: list[str]
) -> None:
    """One ``@njit`` program: call-time checks, the body ``b`` wrote (in stage functions, written
    before it, when it is long), the results."""
    # results first: a result that is itself a constant adds that constant to the arguments.
    # An update stored into its variable is not returned (the executable knows the array): a
    # numba function returning many arrays compiles in time growing faster than their number
    outs = [
        result_expr(b, r) for i, r in enumerate(b.lowered.plan.results) if i not in b.unreturned
    ]
    args = args + [b.arrays[c] for c in b.constants]
    ret = f"return {int_tuple(outs)}"
    sizes = [s.name for s in b.table.stmts if isinstance(s, Let)]
    stages = split(name, b.body.lines, b.step_starts, [*args, *sizes], ret)
    for stage in stages or ():
        if stage.shared:
            continue
        parts = [str(j + 1) for j, t in enumerate(stages or ()) if t.function == stage.name]
        which = f"part {parts[0]}" if len(parts) == 1 else f"parts {', '.join(parts)}"
        write_stage(w, stage, f"{which} of {len(stages or ())} of {name}'s steps")
    w.line()
    w.line("@njit(**PROGRAM)" if stages is None else "@njit(**STAGED)")
    with w.block(f"def {name}({', '.join(args)}):"):
        groups = {
            "inputs": args[:n_in],
            "variables": args[n_in : n_in + n_var],
            "array constants": args[n_in + n_var :],
        }
        doc = "; ".join(f"{k}: {', '.join(v) or 'none'}" for k, v in groups.items())
        w.line(f'"""{doc}"""')
        if b.table.stmts:
            w.line("# call-time sizes and the shape checks the graph's rules assumed")
        for s in b.table.stmts:
            if isinstance(s, Let):
                w.line(f"{s.name} = {s.expr}")
            else:
                assert isinstance(s, Check)
                with w.block(f"if {s.condition}:"):
                    w.line(f"raise ValueError({s.message!r})")
        if stages is None:
            w.extend(b.body)
        else:
            w.line()
            for stage in stages:
                call = f"{stage.function}({', '.join(stage.params)})"
                w.line(f"{', '.join(stage.results)} = {call}" if stage.results else call)
        w.line()
        w.line(ret)


def write_stage(w: SourceWriter, stage: Stage, doc: str) -> None:
    """A stage function (see ``stages``): its part of the program body, then what later code
    reads of what it bound."""
    compiled, binding = called_by_symbol(stage.name)
    w.line()
    w.line()
    w.line("@njit(**SHARED)")
    signature = stage.params if stage.signature is None else stage.signature
    with w.block(f"def {compiled}({', '.join(signature)}):"):
        w.line(f'"""{doc}"""')
        for text in stage.lines:
            w.line(text)
        if stage.results:
            w.line()
            w.line(f"return {', '.join(stage.results)}")
    w.line()
    w.line()
    w.line(binding)


def write_parallel_pays(w: SourceWriter, b: ProgramWriter, args: list[str]) -> None:
    """``parallel_pays``: plain Python, the call-time sizes of the nests with a parallel variant
    against ``PARALLEL_MIN_SIZE`` (no checks: ``program`` raises on bad shapes)."""
    lowered = b.lowered
    sizes = dict.fromkeys(
        product(lowered.table.dims[parts[0].space_node])
        for parts, wide in zip(lowered.steps, lowered.parallel)
        if wide
    )
    args = args + [b.arrays[c] for c in b.constants]
    w.line()
    w.line()
    with w.block(f"def parallel_pays({', '.join(args)}):"):
        w.line('"""Whether a call at these sizes runs a nest big enough for its parallel loop."""')
        for s in lowered.table.stmts:
            if isinstance(s, Let):
                w.line(f"{s.name} = {s.expr}")
        tests = " or ".join(f"{size} >= PARALLEL_MIN_SIZE" for size in sizes)
        w.line(f"return {tests}")


def result_expr(b: ProgramWriter, node: Node) -> str:
    """A result never aliases an input, a variable or a constant, and is never a broadcast (an
    update stored in place is its variable's array, which the runtime then leaves alone)."""
    name = b.array(node)
    return f"{name}.copy()" if copied_on_return(b.lowered, node) else name


def copied_on_return(lowered: Lowered, node: Node) -> bool:
    return node not in lowered.memory.owned or lowerings.result_needs_copy(node)


def missing_lowerings() -> list[str]:
    """Names of registered ops this backend cannot lower (the registry test wants none)."""
    missing = []
    for name, op in OPS.items():
        if op.fusion == "leaf":
            continue
        if op.call_dims is None and op.kind != "elementwise":
            missing.append(name)
        elif op.fusion == "elementwise":
            if not isinstance(op.lower, str) and op not in SCALAR_LOWERINGS:
                missing.append(name)
        elif op.fusion == "reduction":
            if not can_reduce(op):
                missing.append(name)
        elif op.fusion == "view":
            if op not in lowerings.VIEWS:
                missing.append(name)
        elif op not in lowerings.LOWERINGS:
            missing.append(name)
    return missing
