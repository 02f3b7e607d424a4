"""OpDef and the op registry :data:`OPS`.

An op is defined once, as one :class:`OpDef`: its shape/dtype rule (``infer``), its numpy reference
implementation (``impl``), its reverse-mode rule (``vjp``), its forward-mode rule (``jvp``) and what
the code generators need to lower it (``kind`` and ``lower``). The derivative rules are written
with :mod:`graphjit.ops.prims` and operators, so the same rule builds graph nodes in static mode and
computes values in eager mode. :mod:`graphjit.ops.dispatch` runs an OpDef on arguments.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from graphjit.ir import Node, TensorType

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

# What an op broadcasts, for the interpreter: broadcasts(node, input_shapes) -> {input position:
# the call-time shape that input broadcasts to}. Only a dim that is 1 when the graph is built may
# stretch (the compiled backends' ``call_dims`` require the others equal), so the interpreter
# refuses a ``None`` dim that is 1 at call time where it would stretch.
BroadcastRule = Callable[[Node, list[tuple[int, ...]]], dict[int, tuple[int, ...]]]


@dataclass(frozen=True, eq=False)
class OpDef:
    """Everything about one op, in one place (immutable once :func:`defop` has registered it).

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
    broadcast rule and need none. ``broadcasts``: which inputs a non-elementwise op broadcasts
    (see ``BroadcastRule``; elementwise ops broadcast every input to the result).
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
    broadcasts: BroadcastRule | None = field(default=None, repr=False)
    # how many inputs the op takes, where that is fixed and known (an elementwise op's template
    # names each, a per-input vjp has one rule each); None: any number, checked by ``infer``
    arity: int | None = None

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
    broadcasts: BroadcastRule | None = None,
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
        broadcasts=broadcasts,
        arity=_arity(name, kind, lower, vjps),
    )
    OPS[name] = op
    return op


def _arity(name: str, kind: str, lower: Any, vjps: Sequence[Any] | None) -> int | None:
    """The fixed number of inputs of an op: one per placeholder of an elementwise template
    (``{0}``, ``{1}``...), one per per-input vjp rule; None when neither says."""
    counts = set()
    if kind == "elementwise" and isinstance(lower, str):
        used = [int(i) for i in re.findall(r"\{(\d+)\}", lower)]
        counts.add(max(used) + 1 if used else 0)
    if vjps is not None:
        counts.add(len(vjps))
    if len(counts) > 1:
        raise ValueError(f"op {name!r}: its lowering and its vjps disagree on its inputs")
    return counts.pop() if counts else None


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


def jvp_from(*partials: PerInputRule | None) -> JvpRule:
    """A jvp from one linear map per input, ``partial_i(t_i, out, *inputs, **attrs)`` (None for an
    input that has no tangent): the sum of the maps applied to the non-zero tangents."""

    def jvp(tangents: Any, out: Any, *inputs: Any, **attrs: Any) -> Any:
        return sum_tangents(
            *(
                p(t, out, *inputs, **attrs) if (t is not None and p is not None) else None
                for p, t in zip(partials, tangents)
            )
        )

    return jvp


# --------------------------------------------------------------------------------------------------
# binders: the public function that applies an op, registered next to the op itself

Binder = Callable[..., Any]
BINDERS: dict[str, Binder] = {}


def binds(op: OpDef) -> Callable[[Binder], Binder]:
    """Register the decorated function as ``op``'s binder (the function users call to apply it).

    Families never import each other: a derivative rule or compound function in one family calls
    another family's op through :mod:`graphjit.ops.prims`, which forwards to the binder registered
    here. Every family is imported by ``graphjit.ops`` before any rule can run."""

    def register(fn: Binder) -> Binder:
        if op.name in BINDERS:
            raise ValueError(f"op {op.name!r} already has a binder")
        BINDERS[op.name] = fn
        return fn

    return register
