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
strings and ``None`` are static: baked into the trace, and part of the signature. Tensors that the
function reads from its closure enter the graph as ``gj.*`` ops make them: as constants, or as
variables sharing their arrays when they require grad (so later training is seen). Results come
back as numpy arrays, or as tensors (without autograd history) when any argument was a tensor.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphjit.ir import Node
from graphjit.methods import torch_flavour
from graphjit.ops.dispatch import as_node, is_tensor, result_dtype
from graphjit.ops.leaves import placeholder
from graphjit.runtime import BACKENDS, CompiledFunction
from graphjit.runtime import compile as gj_compile
from graphjit.tensor.creation import from_numpy
from graphjit.viz import pprint_str

__all__ = ["jit", "JitFunction", "Trace"]

_STATIC = (bool, int, float, complex, str, bytes, type(None))


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
        arr = tree.numpy() if is_tensor(tree) else np.asarray(tree)
        dtype = result_dtype([arr])
        pattern = tuple(1 if d == 1 else None for d in arr.shape)
        leaf = _Leaf(len(leaves), dtype, pattern)
        leaves.append((path, tree, leaf))
        return leaf
    if isinstance(tree, Node):
        raise TypeError(
            f"jit: argument {path!r} is a graph node; call a jit function with arrays or tensors "
            "(inside a graph, call the plain Python function instead)"
        )
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
        return spec[2]
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
        arg_spec = tuple(_flatten(a, n, leaves) for a, n in zip(args, names))
        kw_spec = tuple((k, _flatten(v, k, leaves)) for k, v in sorted(kwargs.items()))
        # code called with tensors was written for tensors: it traces with PyTorch's methods
        flavour = "torch" if any(is_tensor(v) for _, v, _ in leaves) else "numpy"
        spec = (arg_spec, kw_spec, flavour)
        return _Args(spec, [v for _, v, _ in leaves], [p for p, _, _ in leaves],
                     [leaf for _, _, leaf in leaves])  # fmt: skip

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
        arg_spec, kw_spec, flavour = a.spec
        methods = torch_flavour() if flavour == "torch" else contextlib.nullcontext()
        try:
            with methods:
                out = self.fn(
                    *[_unflatten(s, phs) for s in arg_spec],
                    **{k: _unflatten(v, phs) for k, v in kw_spec},
                )
        except (TypeError, ValueError, IndexError) as exc:
            if shapes is not None:
                _note(exc, f"(while gj.jit traced {self._name()} with shapes {shapes})")
                raise
            # the function needs concrete sizes: trace this signature once per shape from now on
            self._traces[a.spec] = None
            return self._build(a, tuple(np.shape(_array(v)) for v in a.values))
        nodes: list[Node] = []
        out_spec = _flatten_outputs(out, nodes)
        compiled = gj_compile(phs, nodes, backend=self.backend, optimize=self.optimize)
        key = a.spec if shapes is None else (a.spec, shapes)
        trace = Trace(key, tuple(phs), tuple(nodes), out_spec, compiled, shapes is not None)
        self._traces[key] = trace
        return trace

    def _name(self) -> str:
        return getattr(self.fn, "__qualname__", "the function")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        a = self._split(args, kwargs)
        trace = self._lookup(a)
        results = trace.compiled(*[_array(v) for v in a.values]) if trace.outputs else []
        if any(is_tensor(v) for v in a.values):
            results = [from_numpy(r if r.flags.writeable else r.copy()) for r in results]
        return _unflatten(trace.out_spec, list(results))


def _array(v: Any) -> np.ndarray:
    return v.numpy() if is_tensor(v) else np.asarray(v)


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
