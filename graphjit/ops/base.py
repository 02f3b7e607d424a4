"""OpDef, the op registry, and the dispatch every ``gj.*`` function goes through.

An op is defined once, as one :class:`OpDef`: its shape/dtype rule (``infer``), its numpy reference
implementation (``impl``), its reverse-mode rule (``vjp``), its forward-mode rule (``jvp``) and what
the code generators need to lower it (``kind`` and ``lower``). The derivative rules are written
against the ``gj`` namespace, so the same rule builds graph nodes in static mode and computes values
in eager mode.

:func:`apply` is the single entry point: it turns python scalars, lists and numpy arrays into
constants, applies numpy 2 dtype promotion (python scalars are weak), and then builds a graph node
when any argument is a graph node, or runs the op eagerly when the arguments are eager tensors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from graphjit import ir
from graphjit.errors import IntegerOutOfRangeError
from graphjit.ir import Node, TensorType, as_dtype

# A vjp rule: vjp(g, out, *inputs, **attrs) -> one cotangent (or None for "zero") per input.
VjpRule = Callable[..., Sequence[Any]]
# A per-input vjp rule: f(g, out, *inputs, **attrs) -> the cotangent of that one input.
PerInputRule = Callable[..., Any]
# A jvp rule: jvp(tangents, out, *inputs, **attrs) -> the output tangent; tangents[i] is None for
# inputs with a zero tangent.
JvpRule = Callable[..., Any]


class DimBuilder(Protocol):
    """What an op's call-time shape rule writes to (``graphjit.codegen.symdims.DimTable``): dims
    are source expressions (``"3"``, ``"n0"``) the generated program computes when it is called."""

    def let(self, expr: str) -> str:
        """A name (or literal) bound to ``expr`` in the program."""
        ...

    def require_equal(self, a: str, b: str, message: str, allow_one: bool = False) -> None:
        """A call-time check that ``a == b`` (or ``a == 1`` with allow_one), raising ValueError."""
        ...

    def product(self, dims: Sequence[str]) -> str:
        """An expression for the product of dims."""
        ...


# A call-time shape rule: call_dims(table, node, input_dims) -> the node's dims as expressions,
# adding to ``table`` the checks for what the build-time ``infer`` could only assume. It mirrors
# ``infer`` (next to which it is written) for the sizes known only when the graph runs.
CallDimsRule = Callable[[DimBuilder, Node, list[list[str]]], list[str]]


@dataclass(eq=False)
class OpDef:
    """Everything about one op, in one place.

    ``kind`` tells the code generators which family of lowering applies:
    ``elementwise`` (``lower`` is a scalar expression template over ``{0}``, ``{1}``...),
    ``reduction``, ``shape``, ``index``, ``linalg``, ``leaf`` or ``other``.
    ``promote`` lists the argument positions that share one numpy-2-promoted dtype (``"all"`` for
    every argument); ``to_float`` promotes that common dtype to float64 when it is int or bool.

    What the code generators need to know about the op (``graphjit.codegen``):
    ``fusion`` is ``"elementwise"`` (computed per index inside a fused loop nest; the default for
    kind ``elementwise``), ``"reduction"`` (a loop nest accumulating over axes, its elementwise
    producers fused in), ``"view"`` (a view of input 0, never a copy), ``"leaf"`` or ``"kernel"``
    (lowered on its own). ``shape_only_from``: inputs from this position on are read only for
    their shape (``full_like``'s ``x``), so they are not computed for this op. ``expensive``:
    transcendental scalar math, so a loop computing it is compute-bound (worth a parallel loop).
    ``call_dims``: the call-time shape rule (see ``CallDimsRule``); elementwise ops use the
    broadcast rule and need none.
    """

    name: str
    infer: Callable[..., TensorType]
    impl: Callable[..., np.ndarray] | None
    vjp: VjpRule | None = None
    jvp: JvpRule | None = None
    kind: str = "other"
    lower: Any = None
    promote: tuple[int, ...] | str | None = "all"
    to_float: bool = False
    doc: str = ""
    # per-input vjp rules, when the op was defined with ``vjps=``; ``vjp`` is derived from them.
    vjps: tuple[PerInputRule | None, ...] | None = field(default=None, repr=False)
    fusion: str = "kernel"
    shape_only_from: int | None = None
    expensive: bool = False
    call_dims: CallDimsRule | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"OpDef({self.name!r}, kind={self.kind!r})"

    def backward(
        self, g: Any, out: Any, inputs: Sequence[Any], attrs: dict[str, Any], needs: Sequence[bool]
    ) -> list[Any]:
        """Cotangents of the inputs that ``needs`` marks (None elsewhere, or for a zero)."""
        if self.vjps is not None:
            return [
                rule(g, out, *inputs, **attrs) if (need and rule is not None) else None
                for rule, need in zip(self.vjps, needs)
            ]
        if self.vjp is None:
            raise NotImplementedError(f"op {self.name!r} has no vjp rule")
        grads = list(self.vjp(g, out, *inputs, **attrs))
        if len(grads) != len(inputs):
            raise AssertionError(
                f"vjp of {self.name} returned {len(grads)} grads for {len(inputs)} inputs"
            )
        return [gr if need else None for gr, need in zip(grads, needs)]


OPS: dict[str, OpDef] = {}
FUSIONS = ("elementwise", "reduction", "view", "leaf", "kernel")
_DEFAULT_FUSION = {"elementwise": "elementwise", "leaf": "leaf"}


def defop(
    name: str,
    *,
    infer: Callable[..., TensorType],
    impl: Callable[..., np.ndarray] | None,
    vjp: VjpRule | None = None,
    vjps: Sequence[PerInputRule | None] | None = None,
    jvp: JvpRule | None = None,
    kind: str = "other",
    lower: Any = None,
    promote: tuple[int, ...] | str | None = "all",
    to_float: bool = False,
    doc: str = "",
    fusion: str | None = None,
    shape_only_from: int | None = None,
    expensive: bool = False,
    call_dims: CallDimsRule | None = None,
) -> OpDef:
    """Register an op. Give either ``vjp`` (all inputs at once) or ``vjps`` (one rule per input)."""
    if name in OPS:
        raise ValueError(f"op {name!r} is already registered")
    if vjp is not None and vjps is not None:
        raise ValueError(f"op {name!r}: give vjp or vjps, not both")
    if fusion is not None and fusion not in FUSIONS:
        raise ValueError(f"op {name!r}: fusion must be one of {FUSIONS}, got {fusion!r}")
    op = OpDef(
        name=name,
        infer=infer,
        impl=impl,
        vjp=vjp,
        jvp=jvp,
        kind=kind,
        lower=lower,
        promote=promote,
        to_float=to_float,
        doc=doc,
        vjps=tuple(vjps) if vjps is not None else None,
        fusion=fusion or _DEFAULT_FUSION.get(kind, "kernel"),
        shape_only_from=shape_only_from,
        expensive=expensive,
        call_dims=call_dims,
    )
    OPS[name] = op
    return op


def zero_vjp(g: Any, out: Any, *inputs: Any, **attrs: Any) -> tuple[None, ...]:
    """The vjp of an op whose output is piecewise constant (or boolean): zero for every input."""
    return (None,) * len(inputs)


def sum_tangents(*terms: Any) -> Any:
    """Sum of the non-None terms (None when all are None): a jvp is linear in the tangents, and
    None stands for a zero tangent."""
    total = None
    for t in terms:
        if t is not None:
            total = t if total is None else total + t
    return total


def zero_jvp(tangents: Any, out: Any, *inputs: Any, **attrs: Any) -> None:
    return None


# --------------------------------------------------------------------------------------------------
# Dispatch


class EagerBackend(Protocol):
    """What ``graphjit.tensor`` registers so that ops run eagerly on its ``Tensor`` type."""

    tensor_type: type

    def from_value(self, value: np.ndarray) -> Any: ...
    def run(self, op: OpDef, args: tuple[Any, ...], attrs: dict[str, Any]) -> Any: ...
    def run_same_dtype(self, op: OpDef, args: tuple[Any, ...], attrs: dict[str, Any]) -> Any: ...
    def to_node(self, t: Any) -> Node: ...


_eager: EagerBackend | None = None
_TENSOR: tuple[type, ...] = ()


def register_eager(backend: EagerBackend) -> None:
    global _eager, _TENSOR
    _eager = backend
    _TENSOR = (backend.tensor_type,)


def is_tensor(x: Any) -> bool:
    return isinstance(x, _TENSOR)


def constant_node(value: Any, dtype: Any = None, name: str | None = None) -> Node:
    """A constant graph node holding a read-only copy of ``value``; equal constants are one node."""
    from graphjit.ops.leaves import constant  # leaves depends on base; imported late

    return constant(value, dtype=dtype, name=name)


def _dtype_key(x: Any) -> Any:
    """What np.result_type should see for an argument: a dtype, or the weak python scalar."""
    if isinstance(x, Node) or is_tensor(x):
        return np.dtype(x.dtype)
    if isinstance(x, (bool, int, float)):
        return x
    if isinstance(x, np.ndarray):
        return x.dtype
    if isinstance(x, np.generic):
        return x.dtype
    return _as_array(x, None).dtype


def _check_python_value(x: Any) -> None:
    if isinstance(x, complex) or (isinstance(x, np.ndarray) and x.dtype.kind == "c"):
        raise TypeError("complex numbers are not supported")
    if x is None:
        raise TypeError("None is not an array value")


_promotion_memo: dict[tuple[Any, ...], str] = {}


def _promotion_key(a: Any) -> Any:
    """What the promotion of ``a`` depends on: its dtype, or for a weak python scalar its type
    (NEP 50: a python scalar's value never changes the result dtype). None: not memoisable."""
    t = type(a)
    if t is bool or t is int or t is float:
        return t
    if isinstance(a, (Node, np.ndarray, np.generic)) or is_tensor(a):
        return a.dtype
    return None


def result_dtype(args: Sequence[Any], to_float: bool = False) -> str:
    """numpy 2 promotion of the given arguments (python scalars weak), in graphjit's dtypes."""
    key = (to_float, *(_promotion_key(a) for a in args))
    memoisable = None not in key
    if memoisable:
        hit = _promotion_memo.get(key)
        if hit is not None:
            return hit
    result = _result_dtype(args, to_float)
    if memoisable:
        _promotion_memo[key] = result
    return result


def _result_dtype(args: Sequence[Any], to_float: bool) -> str:
    keys = [_dtype_key(a) for a in args]
    dt = np.result_type(*keys)
    if dt.kind == "u" and dt.itemsize >= 4:
        dt = np.dtype("int64")  # user uint32/uint64 arrays: widen into graphjit's signed set
    elif dt.kind in "iu":
        dt = np.dtype("int32") if dt.itemsize <= 4 else np.dtype("int64")
    elif dt.kind == "f":
        dt = np.dtype("float32") if dt.itemsize <= 4 else np.dtype("float64")
    if to_float and dt.kind != "f":
        dt = np.dtype("float64")
    return as_dtype(dt)


def _as_array(x: Any, dtype: str | None) -> np.ndarray:
    _check_python_value(x)
    try:
        arr = np.asarray(x) if dtype is None else np.asarray(x, dtype=dtype)
    except OverflowError as exc:
        raise IntegerOutOfRangeError(
            f"{x!r:.60} does not fit in {dtype or 'int64'}: {exc} (cast the array to a wider "
            "dtype first, e.g. x.astype('int64') or x.astype('float64'))"
        ) from None
    except (ValueError, TypeError) as exc:
        raise TypeError(f"cannot use {type(x).__name__} {x!r:.60} as an array: {exc}") from exc
    if arr.dtype == object:
        raise TypeError(f"cannot use {x!r:.60} as an array (it is ragged or holds objects)")
    if arr.dtype.kind in "USV":
        raise TypeError(f"cannot use {type(x).__name__} {x!r:.60} as an array of numbers")
    if dtype is None:
        arr = arr.astype(result_dtype([arr]), copy=False)
    return arr


_scalar_keeps_dtype: dict[tuple[str, type, bool], bool] = {}


def apply(op: OpDef, *args: Any, **attrs: Any) -> Any:
    """Run ``op`` on ``args``: a graph node if any argument is a node, else an eager tensor."""
    first: Any = args[0] if args else None
    tensor_type: Any = _eager.tensor_type if _eager is not None else None
    if _eager is not None and type(first) is tensor_type:
        # the eager hot path: tensors of one dtype need no promotion or lifting
        out = _eager.run_same_dtype(op, args, attrs)
        if out is not None:
            return out
        dt = first.dtype
        # tensor (op) python number: the number is weak, so it usually takes the tensor's dtype
        # (NEP 50: whether it does depends on the types alone, so the answer is memoised)
        if len(args) == 2 and op.promote == "all":
            kind = type(args[1])
            if kind is float or kind is int:
                key = (dt, kind, op.to_float)
                keeps = _scalar_keeps_dtype.get(key)
                if keeps is None:
                    keeps = _scalar_keeps_dtype[key] = result_dtype(args, op.to_float) == dt
                if keeps:
                    try:
                        value = np.array(args[1], dtype=dt)
                    except OverflowError:
                        value = _as_array(args[1], dt)  # raises IntegerOutOfRangeError
                    return _eager.run(op, (first, _eager.from_value(value)), attrs)
    graph = any(isinstance(a, Node) for a in args)
    if not graph and not any(is_tensor(a) for a in args) and _eager is None:
        graph = True  # no eager backend loaded: plain values build constant graphs
    positions = _promoted_positions(op, len(args))
    common = result_dtype([args[i] for i in positions], op.to_float) if positions else None
    lifted = []
    for i, a in enumerate(args):
        want = common if i in positions else None
        lifted.append(_lift(a, want, graph))
    if graph:
        return ir.make_node(op, lifted, attrs)
    assert _eager is not None
    return _eager.run(op, tuple(lifted), attrs)


def _promoted_positions(op: OpDef, n: int) -> Sequence[int]:
    if op.promote == "all":
        return range(n)
    if op.promote is None:
        return ()
    assert isinstance(op.promote, tuple)
    return [i for i in op.promote if i < n]


def _lift(a: Any, dtype: str | None, graph: bool) -> Any:
    """Argument ``a`` as a node (graph) or tensor (eager), cast to ``dtype`` when given."""
    if isinstance(a, Node):
        return a if dtype is None or a.dtype == dtype else astype(a, dtype)
    if is_tensor(a):
        assert _eager is not None
        if graph:
            a = _eager.to_node(a)
        return a if dtype is None or a.dtype == dtype else astype(a, dtype)
    value = _as_array(a, dtype)
    if graph:
        return constant_node(value)
    assert _eager is not None
    return _eager.from_value(value)


def lift(x: Any) -> Any:
    """A node or tensor for ``x`` (numpy arrays, lists and scalars become constants)."""
    if isinstance(x, Node) or is_tensor(x):
        return x
    if _eager is not None:
        return _eager.from_value(_as_array(x, None))
    return constant_node(_as_array(x, None))


def as_node(x: Any) -> Node:
    """``x`` as a graph node: an eager tensor becomes a constant, or, if it requires grad, a
    variable sharing its storage; arrays and scalars become constants."""
    if isinstance(x, Node):
        return x
    if is_tensor(x):
        assert _eager is not None
        return _eager.to_node(x)
    return constant_node(_as_array(x, None))


def write_out(result: Any, out: Any, fn: str) -> Any:
    """numpy/PyTorch ``out=``: copy ``result`` into the eager tensor ``out`` and return ``out``."""
    if out is None:
        return result
    if isinstance(result, Node) or isinstance(out, Node):
        raise TypeError(f"{fn}: out= needs eager tensors; graph nodes are immutable values")
    if not is_tensor(out):
        raise TypeError(f"{fn}: out= must be a tensor, got {type(out).__name__}")
    if tuple(out.shape) != tuple(result.shape):
        raise ValueError(
            f"{fn}: out= has shape {tuple(out.shape)}, the result {tuple(result.shape)}"
        )
    return out.copy_(result)


def astype(x: Any, dtype: Any) -> Any:
    """``x`` converted to ``dtype`` (numpy casting: float -> int truncates toward zero)."""
    dtype = as_dtype(dtype)
    x = lift(x)
    if x.dtype == dtype:
        return x
    return apply(OPS["astype"], x, dtype=dtype)


def static_shape(x: Any) -> tuple[Any, ...]:
    return tuple(x.shape)
