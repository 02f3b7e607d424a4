"""The op registry: every op carries its reference impl and derivative rules (one op, one place).

An op added without an impl, a vjp or a jvp fails here, not at a user's first gradient. The code
generators add their own check that every op has a lowering; tests/ops/ check each op's values and
derivatives against numpy and finite differences.
"""

from __future__ import annotations

import dataclasses
import re

import pytest

import graphjit as gj
from graphjit.ops import OPS, OpDef
from graphjit.ops.dispatch import apply

KINDS = {"elementwise", "reduction", "shape", "index", "linalg", "leaf", "other"}
LEAVES = {"placeholder", "constant", "variable"}
NON_LEAF = sorted(name for name in OPS if name not in LEAVES)


def test_the_registry_holds_the_core_ops() -> None:
    for name in ("add", "multiply", "exp", "where", "astype", "sum", "max", "matmul", "reshape"):
        assert name in OPS, name
    assert set(OPS) >= LEAVES


@pytest.mark.parametrize("name", sorted(OPS))
def test_registry_entry_is_consistent(name: str) -> None:
    op = OPS[name]
    assert isinstance(op, OpDef)
    assert op.name == name
    assert op.kind in KINDS, f"{name}: unknown kind {op.kind!r}"
    assert (op.kind == "leaf") == (name in LEAVES)


def test_an_op_cannot_be_changed_after_it_is_registered() -> None:
    neg = OPS["negative"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        neg.jvp = None  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        neg.vjps = None  # type: ignore[misc]
    assert neg.vjps is not None and neg.jvp is not None


def test_negative_differentiates_by_negating() -> None:
    # its rules are -g and -t (one negative node), not g * -1 as unary's derivative would give
    neg = OPS["negative"]
    g = gj.placeholder("g", (3,))
    x = gj.placeholder("x", (3,))
    (cotangent,) = neg.backward(g, -x, [x], {}, [True])
    tangent = neg.jvp((g,), -x, x) if neg.jvp is not None else None
    for out in (cotangent, tangent):
        assert out.op is neg and out.inputs == (g,)


@pytest.mark.parametrize("name", NON_LEAF)
def test_every_op_has_impl_vjp_and_jvp(name: str) -> None:
    op = OPS[name]
    assert callable(op.infer), f"{name}: no shape/dtype rule"
    assert callable(op.impl), f"{name}: no numpy reference impl"
    assert op.vjp is not None or op.vjps is not None, f"{name}: no vjp rule"
    assert not (op.vjp is not None and op.vjps is not None), f"{name}: both vjp and vjps"
    if op.vjps is not None:
        assert all(rule is None or callable(rule) for rule in op.vjps)
    assert callable(op.jvp), f"{name}: no jvp rule"


ELEMENTWISE = sorted(name for name in NON_LEAF if OPS[name].kind == "elementwise")


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_ops_have_a_scalar_template(name: str) -> None:
    lower = OPS[name].lower
    assert isinstance(lower, str) and "{0}" in lower, f"{name}: lower={lower!r}"


def _arity(op: OpDef) -> int:
    return len(set(re.findall(r"\{(\d+)\}", op.lower)))


# the bitwise ops take integers only (floats raise, as in numpy)
INT_ONLY = ["bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "left_shift", "right_shift"]

# elementwise ops of float inputs with a bool result: the comparisons
BOOL_VALUED = [
    name
    for name in ELEMENTWISE
    # counter_uniform takes int64 inputs only (a seed, a counter and element indices)
    if name
    not in {"where", "astype", "logical_and", "logical_or", "logical_not", "counter_uniform"}
    and name not in INT_ONLY
    and OPS[name].infer(*[gj.TensorType((2,), "float64")] * _arity(OPS[name])).dtype == "bool"
]


@pytest.mark.parametrize("name", BOOL_VALUED)
def test_bool_valued_ops_pass_no_derivative(name: str) -> None:
    op = OPS[name]
    xs = [gj.placeholder(f"x{i}", shape=(3,)) for i in range(_arity(op))]
    out = apply(op, *xs)
    assert out.dtype == "bool"
    g = gj.ones(3)
    assert op.backward(g, out, xs, {}, [True] * len(xs)) == [None] * len(xs)
    assert op.jvp is not None and op.jvp([g] * len(xs), out, *xs) is None


@pytest.mark.parametrize("name", INT_ONLY)
def test_integer_ops_refuse_floats_and_pass_no_derivative(name: str) -> None:
    op = OPS[name]
    assert op.kind == "elementwise"
    with pytest.raises(TypeError, match=name):
        op.infer(*[gj.TensorType((2,), "float64")] * _arity(op))
    xs = [gj.placeholder(f"x{i}", shape=(3,), dtype="int32") for i in range(_arity(op))]
    out = apply(op, *xs)
    assert out.dtype == "int32"
    g = gj.ones(3, dtype="int32")
    assert op.backward(g, out, xs, {}, [True] * len(xs)) == [None] * len(xs)
    assert op.jvp is not None and op.jvp([g] * len(xs), out, *xs) is None
