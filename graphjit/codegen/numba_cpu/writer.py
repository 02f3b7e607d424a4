"""The state of one program being written: array names, kernel sources and the program body.

Lowerings (``lowerings.py``) and loop nests (``loops.py``) write through a :class:`ProgramWriter`;
they read the call-time dims, the schedule and the buffer plan from its ``lowered`` bundle, and
decide nothing about memory themselves.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from graphjit.codegen.emit import TYPE_NAMES, SourceWriter, int_tuple
from graphjit.codegen.pipeline import Lowered
from graphjit.codegen.writer import ProgramNames
from graphjit.ir import Node

# past this many parameters a kernel takes its arrays as one tuple (numba cannot inline a call
# with more than 30 arguments)
MAX_PARAMS = 28
# a kernel called by this many nests is compiled once as a function of its own, called by symbol;
# called by fewer, it is inlined at each call (a loop nest: written there), which costs less than
# a function of its own (an SGD step's two weight updates share their code, an unrolled loop's
# steps repeat theirs many times)
SHARE_FROM = 3
# writes a kernel's body into the writer; the flag says whether it is the parallel variant
KernelBody = Callable[[SourceWriter, bool], None]
# the parameters of a loop nest's kernel (sizes, inputs, outputs) and the scalars it returns:
# where a nest is written into the program rather than called, these names become the call's
# arguments and the program's locals the call assigns
NEST_PARAM = re.compile(r"\b(?:n|a|out|res)\d+\b")
# the names a loop nest binds for itself (loop indices, 0-d inputs read once, temps, accumulators):
# written into the program, they are never read past their nest (stages.py relies on it)
NEST_LOCAL = re.compile(r"(?:i|s|t|acc)\d+")


class ProgramWriter(ProgramNames):
    """Names and source of one generated program (see ``program.generate``)."""

    def __init__(self, lowered: Lowered, arrays: dict[Node, str]) -> None:
        super().__init__(lowered, arrays)
        self._packed: set[str] = set()
        self.unreturned: set[int] = set()  # results (by index) the program stores, not returns
        self.step_starts: list[int] = []  # where each step's lines start in ``body``
        self._segments: dict[str, str] = {}  # a segment function's body -> its name
        self._tuples: dict[str, str] = {}  # a tuple of literals -> its module-level name
        # loop kernels by their code up to names: a nest whose code another already has calls that
        # kernel (an unrolled loop repeats the same nests), which is then compiled once as a
        # function of its own rather than inlined at every call
        self._kernel_codes: dict[str, str] = {}  # canonical code -> kernel name
        self._kernel_alias: dict[str, str] = {}  # a kernel not written -> the one it calls
        self._kernel_at: dict[str, int] = {}  # kernel name -> index of its source in kernels
        self._kernel_uses: dict[str, int] = {}  # kernel name -> nests calling it, past one
        # loop nests written into the program where they are called (numba would inline their
        # kernel anyway, and its inlining costs several ms a call): each nest's own parameters
        # and body, and the source of each such kernel, written into the module only if the
        # kernel comes to be shared (then the nests calling it from there on call it)
        self._nest_bodies: dict[str, tuple[list[str], list[str]]] = {}
        self._unwritten: dict[str, str] = {}

    # -------------------------------------------------------------------------------- memory
    def output_buffer(self, node: Node) -> str:
        """The array the buffer plan gave ``node``: allocated here, or an older dead buffer."""
        buf, reuse = self.memory.allocations[node]
        self.arrays[node] = buf
        if reuse is None:
            dt = TYPE_NAMES[node.dtype]
            self.body.line(f"{buf} = kops.empty({int_tuple(self.dims(node))}, {dt})")
        else:
            self.body.line(f"# {self.label(node)} {reuse} ({buf})")
        return buf

    def scalar_local(self, node: Node) -> str:
        """The name of the scalar local the buffer plan gave ``node`` (a 0-d value no array
        holds: see ``codegen.memory.scalar_values``)."""
        name = self.memory.allocations[node].buffer
        self.arrays[node] = name
        return name

    def add_view(self, node: Node, expr: str) -> str:
        """``node``'s array as ``expr`` (a view of an earlier array, or one a lowering made)."""
        name = f"v{len(self.arrays)}"
        self.arrays[node] = name
        self.body.line(f"{name} = {expr}")
        return name

    # -------------------------------------------------------------------------------- kernels
    def call_kernel(
        self,
        name: str,
        args: Sequence[str],
        size: str,
        has_parallel: bool,
        n_sizes: int = 0,
        results: Sequence[str] = (),
    ) -> None:
        """The program's call of kernel ``name``; ``results`` are the locals it assigns (the
        scalars a loop nest returns: ``res0``, ... in its code)."""
        args = list(args)
        nest = self._nest_bodies.pop(name, None)
        name = self._kernel_alias.get(name, name)
        if nest is not None and name in self._unwritten and not has_parallel:
            self._write_nest(*nest, args, results)
            return
        if name in self._packed:
            args = [*args[:n_sizes], f"({', '.join(args[n_sizes:])},)"]
        call = f"({', '.join(args)})"
        assign = f"{', '.join(results)} = " if results else ""
        if has_parallel:
            with self.body.block(f"if {size} >= PARALLEL_MIN_SIZE:"):
                self.body.line(f"{assign}{name}_parallel{call}")
            with self.body.block("else:"):
                self.body.line(f"{assign}{name}{call}")
        else:
            self.body.line(f"{assign}{name}{call}")

    def _write_nest(
        self, params: list[str], body: list[str], args: list[str], results: Sequence[str]
    ) -> None:
        """A nest kernel's body written at its call, its parameters replaced by the arguments
        and the scalars it returns by the locals they go to (its own locals, loop indices and
        temps, are the nest's: see ``NEST_LOCAL``)."""
        simple = [a if a.isidentifier() or a.isdigit() else f"({a})" for a in args]
        given = dict(zip(params, simple))
        given.update((f"res{k}", r) for k, r in enumerate(results))
        for text in body:
            code, mark, comment = text.partition("  # ")
            code = NEST_PARAM.sub(lambda m: given[m.group()], code)
            self.body.line(code + mark + comment)

    def add_kernel(self, writer: SourceWriter) -> None:
        self.kernels.append(writer.text())

    def segment_function(self, params: Sequence[str], body: Sequence[str], size: int) -> str:
        """The name of a scalar function of ``params`` running ``body`` (outlined from a loop
        nest; see ``loops.outline``), written into the module the first time this body is."""
        key = f"{', '.join(params)}\n" + "\n".join(body)
        name = self._segments.get(key)
        if name is None:
            name = f"segment{len(self._segments)}"
            self._segments[key] = name
            w = SourceWriter()
            w.line('@njit(fastmath=FASTMATH, error_model="numpy")')
            with w.block(f"def {name}({', '.join(params)}):"):
                w.line(f'"""{size} values of a long fused loop body (called once per index)"""')
                for text in body:
                    w.line(text)
            self.add_kernel(w)
        return name

    def literal_array(self, literals: Sequence[str]) -> str:
        """A module-level name for a float64 array of literals (a segment function's constants:
        an array argument costs numba one reference count where a tuple costs one per item)."""
        text = f"np.array([{', '.join(literals)}])"
        name = self._tuples.get(text)
        if name is None:
            name = f"LITERALS{len(self._tuples)}"
            self._tuples[text] = name
            self.kernels.append(f"{name} = {text}\n")
        return name

    def kernel_pair(
        self,
        name: str,
        params: Sequence[str],
        doc: str,
        emit_body: KernelBody,
        parallel: bool,
        n_sizes: int = 0,
        nest: bool = False,
    ) -> None:
        """Source of kernel ``name`` (and of ``name_parallel``, whose outer loop is a prange).
        Past ``MAX_PARAMS`` parameters the arrays travel as one tuple. A loop ``nest`` with no
        parallel variant is written into the program at its calls instead (until it is shared)."""
        params = list(params)
        nest_params = list(params)
        unpack = None
        if len(params) > MAX_PARAMS:
            arrays = params[n_sizes:]
            params = [*params[:n_sizes], "arrays"]
            unpack = f"({', '.join(arrays)},) = arrays"
        sources = []
        for variant in (False, True) if parallel else (False,):
            w = SourceWriter()
            w.line("@njit(**PARALLEL)" if variant else "@njit(**KERNEL)")
            fname = f"{name}_parallel" if variant else name
            with w.block(f"def {fname}({', '.join(params)}):"):
                w.line(f'"""{doc}"""')
                if unpack:
                    w.line(unpack)
                emit_body(w, variant)
            sources.append(w.text())
        if nest and not parallel:
            body = SourceWriter()
            emit_body(body, False)
            lines = body.lines
            if lines and lines[-1].startswith("return "):
                lines = lines[:-1]  # written in, the nest assigns the scalars it returns
            self._nest_bodies[name] = (nest_params, lines)
        code = f"{parallel}\n{canonical_code(sources[0])}"
        same = self._kernel_codes.get(code)
        if same is not None:
            self._kernel_alias[name] = same
            uses = self._kernel_uses[same] = self._kernel_uses.get(same, 1) + 1
            if uses == SHARE_FROM:
                self._share(same)
            return
        self._kernel_codes[code] = name
        if unpack:
            self._packed.add(name)
        if nest and not parallel:
            self._unwritten[name] = sources[0]
            return
        self._kernel_at[name] = len(self.kernels)
        for text in sources:
            self.kernels.append(text)

    def _share(self, name: str) -> None:
        """Make kernel ``name`` a function of its own, called by symbol: its source is renamed
        ``{name}_compiled`` and ``name`` becomes the call (the calls written so far stand, and a
        nest written into the program at its earlier calls stays written there)."""
        compiled, binding = called_by_symbol(name)
        unwritten = self._unwritten.pop(name, None)  # its nests from now on call the function
        source = unwritten if unwritten is not None else self.kernels[self._kernel_at[name]]
        source = source.replace("@njit(**KERNEL)", "@njit(**SHARED)", 1)
        source = f"{source.replace(f'def {name}(', f'def {compiled}(', 1)}\n\n{binding}\n"
        if unwritten is not None:
            self.kernels.append(source)
        else:
            self.kernels[self._kernel_at[name]] = source


def called_by_symbol(name: str) -> tuple[str, str]:
    """For a function the program calls by symbol (kernels/extern.py): the name its ``@njit``
    definition takes, and the line making ``name`` the call of its machine code."""
    compiled = f"{name}_compiled"
    return compiled, f"{name} = extern.external({compiled})"


_DEF = re.compile(r"def \w+\(")
_TEMP_NAME = re.compile(r"\b(?:t|acc)\d+\b")


def canonical_code(source: str) -> str:
    """A kernel's source up to what does not change what it computes: its name, its docstring,
    comments, and the names of its temporaries and accumulators (numbered by graph node;
    renamed in order of first use)."""
    lines = []
    for line in _DEF.sub("def kernel(", source, count=1).splitlines():
        code = line.split("#", 1)[0].rstrip()
        if code and not code.lstrip().startswith('"""'):
            lines.append(code)
    names: dict[str, str] = {}
    return _TEMP_NAME.sub(
        lambda m: names.setdefault(m.group(), f"t_{len(names)}"), "\n".join(lines)
    )
