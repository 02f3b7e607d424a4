"""``gj.jit``: trace a Python function into a graph once per input signature, compile, reuse.

The first call with a new signature runs the function on placeholders instead of values: every
``gj.*`` call then builds graph instead of computing, and the graph is compiled with
:func:`graphjit.compile`. Later calls with the same signature go straight to the compiled code.

The signature of an argument array is its dtype and rank, plus which dims are 1 (those broadcast,
so they stay fixed); every other dim is left open, so one compilation serves every batch size. A
function that needs concrete sizes while tracing (``x.reshape(n // 2, 2)`` on an open dim, say) is
traced again with the argument's exact shapes, and then compiled once per shape.

A function called with tensors is traced with PyTorch's method meanings (``x.transpose(0, 1)``,
``x.max(1)`` with indices, ``x.var()`` unbiased, ``x.size(0)``; see
:func:`graphjit.methods.torch_flavour`), so it compiles to what it computes eagerly; called with
arrays it is traced with numpy's. The two kinds of call have separate signatures.

Arguments may be numpy arrays, tensors, and lists, tuples and dicts of them; python numbers,
strings and ``None`` are static: baked into the trace, and part of the signature (a new value is a
new trace; :attr:`JitFunction.trace_count` counts them, and a :class:`RetraceWarning` names the
argument behind repeated retraces). Tensors that the function reads from its closure enter the
graph as ``gj.*`` ops make them: as constants, or as variables sharing their arrays when they
require grad (so later training is seen). Results come back as numpy arrays, or as tensors when
any argument was a tensor. With grad mode on and an input that requires grad (an argument or a
captured parameter), the call is one op on the autograd tape: see :mod:`graphjit.jit_grad`.

Called with tensors on the GPU, a function is traced for them (the device is part of the
signature) and compiled with ``backend="cuda"``, whatever its ``backend``: the arguments are read
in place, the results are tensors on the GPU, and the gradient programs run there too. As in
PyTorch, the other array arguments must then be on the GPU as well (0-d ones excepted), and so
must the parameters the function closes over when a gradient reaches them.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graphjit import ir
from graphjit.autodiff import tape
from graphjit.dtypes import is_float
from graphjit.errors import TracedValueError
from graphjit.ir import Node
from graphjit.jit_grad import GradPlan, build_plan, call_with_grad, result_tensor
from graphjit.methods import torch_flavour
from graphjit.nn.module import untracked_state
from graphjit.ops.dispatch import as_node, is_tensor, result_dtype
from graphjit.ops.leaves import placeholder
from graphjit.runtime import BACKENDS, CompiledFunction
from graphjit.runtime import compile as gj_compile
from graphjit.viz import pprint_str

__all__ = ["jit", "JitFunction", "Trace", "RetraceWarning", "RETRACE_WARNING"]

_STATIC = (bool, int, float, complex, str, bytes, type(None))

RETRACE_WARNING = 8  # traces of one function before a RetraceWarning names the cause


class RetraceWarning(UserWarning):
    """A jit function has been traced many times: some argument changes its signature on most
    calls (a python number that should be an array, usually)."""


@dataclass(frozen=True)
class _Leaf:
    """An array argument: where it sits in the argument tree and its signature."""

    index: int
    dtype: str
    pattern: tuple[int | None, ...]  # 1 where the dim is 1, None where it is open


def _flatten(tree: Any, path: str, leaves: list[tuple[str, Any, _Leaf]]) -> Any:
    """The tree's structure with arrays replaced by :class:`_Leaf`; the arrays go to ``leaves``."""
    if isinstance(tree, (list, tuple)) and not _is_namedtuple(tree):
        return (type(tree), tuple(_flatten(x, f"{path}_{i}", leaves) for i, x in enumerate(tree)))
    if isinstance(tree, dict):
        keys = sorted(tree, key=repr)
        return (dict, tuple((k, _flatten(tree[k], f"{path}_{k}", leaves)) for k in keys))
    if is_tensor(tree) or isinstance(tree, (np.ndarray, np.generic)):
        if is_tensor(tree):  # on the host or the GPU: its type, without reading its values
            dtype, shape = tree.dtype, tuple(tree.shape)
        else:
            arr = np.asarray(tree)
            dtype, shape = result_dtype([arr]), arr.shape
        pattern = tuple(1 if d == 1 else None for d in shape)
        leaf = _Leaf(len(leaves), dtype, pattern)
        leaves.append((path, tree, leaf))
        return leaf
    if isinstance(tree, Node):
        raise TypeError(
            f"jit: argument {path!r} is a graph node; call a jit function with arrays or tensors "
            "(inside a graph, call the plain Python function instead)"
        )
    if type(tree) is float:
        # keyed by its bits: 0.0 == -0.0 (one key would serve both, with a stale trace) and
        # nan != nan (a retrace on every call)
        return ("static", _ExactFloat, tree.hex())
    if isinstance(tree, _STATIC):
        return ("static", type(tree), tree)
    try:
        hash(tree)
    except TypeError:
        raise TypeError(
            f"jit: argument {path!r} is a {type(tree).__name__}, which is neither an array nor "
            "a hashable static value"
        ) from None
    return ("static", type(tree), tree)


class _ExactFloat:
    """Marks a static python float in a signature, stored as ``float.hex()``."""


def _has_static(part: Any) -> bool:
    """Whether a flattened argument holds a static python value."""
    if isinstance(part, _Leaf):
        return False
    if part[0] == "static":
        return True
    items = part[1]
    if part[0] is dict:
        items = [v for _, v in items]
    return any(_has_static(x) for x in items)


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


@dataclass(frozen=True)
class _NamedTuple:
    """Rebuilds a namedtuple output from its fields."""

    cls: type

    def __call__(self, fields: Any) -> Any:
        return self.cls(*fields)


def _unflatten(spec: Any, values: list[Any]) -> Any:
    if isinstance(spec, _Leaf):
        return values[spec.index]
    kind = spec[0]
    if kind == "static":
        return float.fromhex(spec[2]) if spec[1] is _ExactFloat else spec[2]
    if kind is dict:
        return {k: _unflatten(v, values) for k, v in spec[1]}
    return kind(_unflatten(x, values) for x in spec[1])


def _flatten_outputs(tree: Any, nodes: list[Node]) -> Any:
    """Output structure with nodes replaced by their position in ``nodes``."""
    if _is_namedtuple(tree):  # e.g. x.max(1) -> (values, indices)
        return (_NamedTuple(type(tree)), tuple(_flatten_outputs(x, nodes) for x in tree))
    if isinstance(tree, (list, tuple)):
        return (type(tree), tuple(_flatten_outputs(x, nodes) for x in tree))
    if isinstance(tree, dict):
        return (dict, tuple((k, _flatten_outputs(v, nodes)) for k, v in tree.items()))
    if is_tensor(tree):
        tree = as_node(tree)
    if isinstance(tree, Node):
        nodes.append(tree)
        return _Leaf(len(nodes) - 1, tree.dtype, ())
    return ("static", type(tree), tree)


@dataclass
class _Args:
    """One call's arguments, flattened: the signature, the arrays, their names and specs."""

    spec: Any
    values: list[Any]
    paths: list[str]
    leaves: list[_Leaf]
    # each top-level argument: its name, its part of the signature and its first array's index
    args: list[tuple[str, Any, int]]


@dataclass
class Trace:
    """One traced signature: the placeholders, the output nodes and the compiled function.
    ``str(trace)`` is the graph listing."""

    key: Any
    inputs: tuple[Node, ...]
    outputs: tuple[Node, ...]
    out_spec: Any
    compiled: CompiledFunction
    specialised: bool
    # tensors that require grad which the function closes over: variables sharing their storage
    params: dict[Node, Any] = field(default_factory=dict)
    # compiled forward and vjp programs, per choice of the inputs that require grad
    grad_plans: dict[Any, GradPlan | None] = field(default_factory=dict)

    def __str__(self) -> str:
        if not self.outputs:
            return "(no graph outputs)"
        args = ", ".join(f"{p.name}: {p.type}" for p in self.inputs)
        return f"graph({args})\n" + pprint_str(list(self.outputs))

    __repr__ = __str__


class JitFunction:
    """A Python function compiled per input signature; see :func:`jit`."""

    def __init__(self, fn: Callable[..., Any], backend: str = "cpu", optimize: bool = True):
        if not callable(fn):
            raise TypeError(f"jit: expected a function, got {type(fn).__name__}")
        if backend not in BACKENDS:
            raise ValueError(f"jit: unknown backend {backend!r}; choose one of {BACKENDS}")
        self.fn = fn
        self.backend = backend
        self.optimize = optimize
        self._traces: dict[Any, Trace | None] = {}
        self._last: Trace | None = None
        self.trace_count = 0  # how many times the function ran to build a graph
        self._variants: dict[str, set[Any]] = {}
        self._warned = False
        try:
            self._params = list(inspect.signature(fn).parameters)
        except (TypeError, ValueError):
            self._params = []
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        name = getattr(self.fn, "__qualname__", repr(self.fn))
        return f"<gj.jit {name} backend={self.backend!r}, {len(self.traces)} compiled signature(s)>"

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        return self if instance is None else functools.partial(self, instance)

    @property
    def traces(self) -> list[Trace]:
        """Every compiled signature so far."""
        return [t for t in self._traces.values() if t is not None]

    @property
    def graph(self) -> Trace:
        """The trace of the most recent call (print it to read the graph)."""
        if self._last is None:
            raise RuntimeError("jit: nothing traced yet; call the function (or .trace(...)) first")
        return self._last

    @property
    def source(self) -> str:
        """The generated code for the most recent call's signature."""
        return self.graph.compiled.source

    def _split(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Args:
        leaves: list[tuple[str, Any, _Leaf]] = []
        names = [self._params[i] if i < len(self._params) else f"arg{i}" for i in range(len(args))]
        per_arg: list[tuple[str, Any, int]] = []
        for name, value in [*zip(names, args), *sorted(kwargs.items())]:
            start = len(leaves)
            per_arg.append((name, _flatten(value, name, leaves), start))
        arg_spec = tuple(part for _, part, _ in per_arg[: len(args)])
        kw_spec = tuple((name, part) for name, part, _ in per_arg[len(args) :])
        # code called with tensors was written for tensors: it traces with PyTorch's methods
        flavour = "torch" if any(is_tensor(v) for _, v, _ in leaves) else "numpy"
        device = _call_device([(path, v) for path, v, _ in leaves])
        spec = (arg_spec, kw_spec, flavour, device)
        return _Args(spec, [v for _, v, _ in leaves], [p for p, _, _ in leaves],
                     [leaf for _, _, leaf in leaves], per_arg)  # fmt: skip

    def trace(self, *args: Any, **kwargs: Any) -> Trace:
        """The trace (graph and compiled function) that a call with these arguments uses."""
        return self._lookup(self._split(args, kwargs))

    def _lookup(self, a: _Args) -> Trace:
        trace = self._traces.get(a.spec, False)
        if trace is None:  # this signature needs concrete shapes
            shapes = tuple(np.shape(_array(v)) for v in a.values)
            trace = self._traces.get((a.spec, shapes)) or self._build(a, shapes)
        elif trace is False:
            trace = self._build(a, None)
        assert isinstance(trace, Trace)
        self._last = trace
        return trace

    def _build(self, a: _Args, shapes: tuple[tuple[int, ...], ...] | None) -> Trace:
        phs = [
            placeholder(path, leaf.pattern if shapes is None else shapes[leaf.index], leaf.dtype)
            for path, leaf in zip(a.paths, a.leaves)
        ]
        arg_spec, kw_spec, flavour, device = a.spec
        methods = torch_flavour() if flavour == "torch" else contextlib.nullcontext()
        self.trace_count += 1
        self._count_variants(a, shapes)
        try:
            with methods, tape.capturing() as captured:
                out = self.fn(
                    *[_unflatten(s, phs) for s in arg_spec],
                    **{k: _unflatten(v, phs) for k, v in kw_spec},
                )
        except TracedValueError as exc:  # concrete shapes would not help: the value is data
            _note(exc, f"(while gj.jit traced {self._name()})")
            raise
        except (TypeError, ValueError, IndexError) as exc:
            if shapes is not None:
                _note(exc, f"(while gj.jit traced {self._name()} with shapes {shapes})")
                raise
            # the function needs concrete sizes: trace this signature once per shape from now on
            self._traces[a.spec] = None
            return self._build(a, tuple(np.shape(_array(v)) for v in a.values))
        nodes: list[Node] = []
        out_spec = _flatten_outputs(out, nodes)
        stateful = untracked_state(*nodes)
        if stateful:
            raise NotImplementedError(
                f"gj.jit: {self._name()} builds {' and '.join(stateful)}, which need updates of "
                "state between calls, and gj.jit compiles none; call model.eval() first, or "
                "compile the step with gj.compile(..., updates={**opt.updates(loss), "
                "**model.buffer_updates(loss)})"
            )
        backend = "cuda" if device == "cuda" else self.backend
        compiled = gj_compile(phs, nodes, backend=backend, optimize=self.optimize)
        key = a.spec if shapes is None else (a.spec, shapes)
        trace = Trace(key, tuple(phs), tuple(nodes), out_spec, compiled, shapes is not None)
        in_graph = {id(v) for v in ir.leaves(nodes, "variable")}
        trace.params = {v: t for v, t in captured.items() if id(v) in in_graph}
        self._traces[key] = trace
        return trace

    def _count_variants(self, a: _Args, shapes: tuple[tuple[int, ...], ...] | None) -> None:
        """Note what each argument looked like in this trace; past :data:`RETRACE_WARNING`
        traces, warn (once) naming the argument whose changes cause them."""
        ends = [start for _, _, start in a.args[1:]] + [len(a.values)]
        for (name, part, start), end in zip(a.args, ends):
            variant = (part, None if shapes is None else shapes[start:end])
            self._variants.setdefault(name, set()).add(variant)
        if self.trace_count <= RETRACE_WARNING or self._warned:
            return
        self._warned = True
        name, seen = max(self._variants.items(), key=lambda item: len(item[1]))
        if len(seen) > 1:
            statics = any(_has_static(part) for part, _ in seen)
            cause = (
                "a python value in it is baked into each trace; pass it as an array "
                "(np.asarray(x) or gj.tensor(x)) to make it a graph input"
                if statics
                else "its dtype, rank or (for a function that needs concrete sizes) shape changes"
            )
            why = f"argument {name!r} took {len(seen)} different forms: {cause}"
        else:
            why = "no single argument changed; the function may be created anew for each call"
        warnings.warn(
            f"gj.jit: {self._name()} has been traced {self.trace_count} times; {why}",
            RetraceWarning,
            stacklevel=5,  # the caller of the jit function
        )

    def _name(self) -> str:
        return getattr(self.fn, "__qualname__", "the function")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        a = self._split(args, kwargs)
        trace = self._lookup(a)
        arrays = [_array(v) for v in a.values]
        tensors = any(is_tensor(v) for v in a.values)
        plan = self._grad_plan(a, trace) if tensors and tape.is_grad_enabled() else None
        if plan is not None:  # one differentiable op on the tape
            results: list[Any] = call_with_grad(
                plan,
                getattr(self.fn, "__name__", "jit"),
                trace.inputs,
                trace.outputs,
                trace.params,
                a.values,
                arrays,
                on_device=trace.compiled.backend == "cuda",
            )
            return _unflatten(trace.out_spec, results)
        results = trace.compiled(*arrays) if trace.outputs else []
        if tensors:
            results = [result_tensor(r) for r in results]
        return _unflatten(trace.out_spec, list(results))

    def _grad_plan(self, a: _Args, trace: Trace) -> GradPlan | None:
        """The programs for a call that the tape records, built on first use; None when no
        input that requires grad reaches a float output."""
        wrt_args = tuple(
            i for i, v in enumerate(a.values)
            if is_tensor(v) and v._requires_grad and is_float(v.dtype)
        )  # fmt: skip
        wrt_params = tuple(v for v, t in trace.params.items() if t._requires_grad)
        if not wrt_args and not wrt_params:
            return None
        backend = trace.compiled.backend
        for v in wrt_params:
            if trace.params[v].is_cuda != (backend == "cuda"):
                raise RuntimeError(
                    f"gj.jit: {self._name()} was called with tensors on "
                    f"{'cuda:0' if backend == 'cuda' else 'cpu'} but reads a parameter "
                    f"({v.name or 'unnamed'}) on the other device; move it (or the model) with "
                    ".to(...) to the arguments' device"
                )
        key = (wrt_args, wrt_params)
        if key not in trace.grad_plans:
            trace.grad_plans[key] = build_plan(
                trace.inputs, trace.outputs, wrt_args, wrt_params, backend, self.optimize
            )
        return trace.grad_plans[key]


def _array(v: Any) -> Any:
    """An argument's array: a tensor's own (a device array for a tensor on the GPU)."""
    if is_tensor(v):
        return v.detach()._data if v.is_cuda else v.numpy()
    return np.asarray(v)


def _call_device(leaves: list[tuple[str, Any]]) -> str:
    """``"cuda"`` when some array argument is a tensor on the GPU (then every other one must be
    too, or 0-d, as in PyTorch: RuntimeError naming it otherwise), else ``"cpu"``."""
    on_gpu = [path for path, v in leaves if is_tensor(v) and v.is_cuda]
    if not on_gpu:
        return "cpu"
    for path, v in leaves:
        if not (is_tensor(v) and v.is_cuda) and np.ndim(v) != 0:
            raise RuntimeError(
                f"gj.jit: expected all array arguments on the same device, but {path!r} is on "
                f"cpu and {on_gpu[0]!r} on cuda:0; move it with .to('cuda') (or the others with "
                ".cpu())"
            )
    return "cuda"


def _note(exc: BaseException, text: str) -> None:
    if hasattr(exc, "add_note"):
        exc.add_note(text)


def jit(
    fn: Callable[..., Any] | None = None, *, backend: str = "cpu", optimize: bool = True
) -> Any:
    """Compile ``fn`` by tracing: ``@gj.jit``, ``@gj.jit(backend="numpy")`` or
    ``gj.jit(fn, backend="cpu")``. See the module docstring for what a signature is."""
    if fn is None:
        return lambda f: JitFunction(f, backend=backend, optimize=optimize)
    return JitFunction(fn, backend=backend, optimize=optimize)
