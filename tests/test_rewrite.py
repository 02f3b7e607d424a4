"""Graph rewrites: each rule fires where it should and not where it must not, values are kept
(or, for the stability rules, improved), the driver reaches a fixed point on deep graphs, and
gradient graphs come out small."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import graphjit as gj
from graphjit import ir
from graphjit.interp import evaluate
from graphjit.ir import Node
from graphjit.ops.leaves import constant_value
from graphjit.rewrite import (
    RULES,
    RewriteError,
    RewriteEvent,
    RuleSet,
    optimize,
    rewrite,
    rule_names,
    stability,
)
from graphjit.rewrite.patterns import build, uniform_value

STABILITY_RULES = [
    name
    for name in rule_names()
    if getattr(getattr(stability, name, None), "__module__", "") == stability.__name__
]


def nodes(outputs: Sequence[Node]) -> list[Node]:
    return ir.toposort(outputs)


def ops_of(outputs: Sequence[Node]) -> list[str]:
    return [n.op.name for n in nodes(outputs)]


def traced(outputs: Sequence[Node], **kw: Any) -> tuple[list[Node], list[str]]:
    events: list[RewriteEvent] = []
    result = optimize(outputs, trace=events, **kw)
    return result, [e.rule for e in events]


def assert_same_values(
    before: Sequence[Node], after: Sequence[Node], feed: dict[Node, Any], rtol: float = 1e-12
) -> None:
    with np.errstate(all="ignore"):
        want = evaluate(before, feed)
        got = evaluate(after, feed)
    for w, g in zip(want, got):
        assert w.shape == g.shape and w.dtype == g.dtype
        np.testing.assert_allclose(g, w, rtol=rtol, atol=0, equal_nan=True)


@pytest.fixture
def x() -> Node:
    return gj.placeholder("x", shape=(None, 3))


@pytest.fixture
def feed_x(x: Node) -> dict[Node, Any]:
    rng = np.random.default_rng(0)
    return {x: rng.normal(size=(4, 3))}


# --------------------------------------------------------------------------------------------------
# the rule table


def test_every_rule_has_a_docstring_and_numeric_changes_say_so() -> None:
    seen = set()
    for rule in [*RULES.any_op, *(r for rs in RULES.by_op.values() for r in rs)]:
        if rule in seen:
            continue
        seen.add(rule)
        assert rule.__doc__ and len(rule.__doc__) > 20, rule.__name__
        if rule.__module__ == stability.__name__:
            assert "CHANGES NUMERICS" in rule.__doc__, rule.__name__
    assert {"fold_constants", "multiply_one", "log_of_sum_exp"} <= set(rule_names())
    assert len(STABILITY_RULES) >= 8


def test_registering_a_rule_without_a_docstring_fails() -> None:
    from graphjit.rewrite import register

    def undocumented(node: Node) -> Node | None:
        return None

    with pytest.raises(ValueError, match="docstring"):
        register("exp")(undocumented)


# --------------------------------------------------------------------------------------------------
# exact identities: fire, do not fire, keep values

# (name, expression of x, the rule expected to fire, what the result must be: "x", an op name)
IDENTITIES: list[tuple[str, Callable[[Node], Node], str, str]] = [
    ("x*1", lambda x: x * 1.0, "multiply_one", "x"),
    ("1*x", lambda x: 1.0 * x, "multiply_one", "x"),
    ("x*ones(3)", lambda x: x * np.ones(3), "multiply_one", "x"),
    ("x/1", lambda x: x / 1.0, "divide_one", "x"),
    ("x+0", lambda x: x + 0.0, "add_zero", "x"),
    ("0+x", lambda x: 0.0 + x, "add_zero", "x"),
    ("x-0", lambda x: x - 0.0, "subtract_zero", "x"),
    ("x**1", lambda x: x**1, "power_one", "x"),
    ("-(-x)", lambda x: gj.negative(gj.negative(x)), "double_negation", "x"),
    ("x*-1", lambda x: x * -1.0, "multiply_minus_one", "negative"),
    ("x/-1", lambda x: x / -1.0, "divide_minus_one", "negative"),
    ("0-x", lambda x: 0.0 - x, "zero_minus", "negative"),
    ("x+(-y)", lambda x: gj.exp(x) + (-x), "add_negated", "subtract"),
    ("x-(-y)", lambda x: gj.exp(x) - (-x), "subtract_negated", "add"),
    ("(-x)*(-y)", lambda x: (-x) * (-gj.exp(x)), "multiply_negations", "multiply"),
    ("(-x)/(-y)", lambda x: (-x) / (-gj.exp(x)), "divide_negations", "divide"),
    ("1/x", lambda x: 1.0 / x, "one_over", "reciprocal"),
    ("x**2", lambda x: x**2, "power_two", "square"),
    ("x**-1", lambda x: x**-1.0, "power_minus_one", "reciprocal"),
    ("x**0.5", lambda x: x**0.5, "power_half", "sqrt"),
    ("x**0", lambda x: x**0, "power_zero", "full_like"),
    ("square(-x)", lambda x: gj.square(-x), "even_of_negation", "square"),
    ("abs(-x)", lambda x: gj.abs(-x), "even_of_negation", "abs"),
    ("abs(abs(x))", lambda x: gj.abs(gj.abs(x)), "abs_of_abs", "abs"),
    ("max(x, x)", lambda x: gj.maximum(x, x), "extremum_of_same", "x"),
    ("where(c, x, x)", lambda x: gj.where(x > 0, x, x), "where_same_branches", "x"),
    ("where(True, x, y)", lambda x: gj.where(True, x, -x), "where_known_condition", "x"),
    ("where(not c, x, y)", lambda x: gj.where(~(x > 0), x, -x), "where_negated_condition", "where"),
    ("astype same", lambda x: build("astype", x, dtype="float64"), "astype_same", "x"),
    (
        "astype round trip",
        lambda x: x.astype("float32").astype("float64").astype("float32").astype("float64"),
        "astype_lossless_chain",
        "astype",
    ),
    ("int32->int64->int32", lambda x: x.astype("int32").astype("int64").astype("int32"),
     "astype_lossless_chain", "astype"),
]  # fmt: skip


@pytest.mark.parametrize(
    "expr, rule, result", [c[1:] for c in IDENTITIES], ids=[c[0] for c in IDENTITIES]
)
def test_identity_fires_and_keeps_values(
    x: Node, feed_x: dict[Node, Any], expr: Callable[[Node], Node], rule: str, result: str
) -> None:
    y = expr(x)
    (opt,), fired = traced([y])
    assert rule in fired
    if result == "x":
        assert opt is x
    else:
        assert opt.op.name == result
    assert opt.type == y.type
    assert len(nodes([opt])) < len(nodes([y])) or opt.op.name != y.op.name
    feed = {x: np.concatenate([feed_x[x], [[0.0, -0.0, np.inf], [np.nan, -np.inf, 2.0]]])}
    if rule in ("power_half",):  # pow(-0, .5) = +0 but sqrt(-0) = -0: allclose ignores the sign
        feed = {x: np.abs(feed[x])}
    assert_same_values([y], [opt], feed)


def test_identity_on_ints_and_bools() -> None:
    i = gj.placeholder("i", shape=(4,), dtype="int32")
    b = gj.placeholder("b", shape=(4,), dtype="bool")
    (a,) = optimize([i * 1])
    assert a is i
    (s,) = optimize([i**2])
    assert s.op.name == "square" and s.dtype == "int32"
    (r,) = optimize([i**-1])  # an int to a negative power: not reciprocal
    assert r.op.name == "power"
    (n,) = optimize([gj.logical_not(gj.logical_not(b))])
    assert n is b
    # a lossy round trip is not the identity: int64 -> float64 -> int64 loses above 2**53
    j = gj.placeholder("j", shape=(4,), dtype="int64")
    (k,) = optimize([j.astype("float64").astype("int64")])
    assert k is not j and k.op.name == "astype"
    big = np.array([2**53 + 1, 3, -(2**60) - 1, 0], dtype=np.int64)
    assert_same_values([j.astype("float64").astype("int64")], [k], {j: big})


NOT_FOLDED: list[tuple[str, Callable[[Node], Node]]] = [
    ("x-x", lambda x: x - x),
    ("x*0", lambda x: x * 0.0),
    ("0*x", lambda x: 0.0 * x),
    ("x/x", lambda x: x / x),
    ("x*1 broadcasting x up", lambda x: x * np.ones((2, 1, 3))),
    ("x+0 broadcasting x up", lambda x: x + np.zeros((5, 1, 1))),
    ("x*1 where 1 is not all ones", lambda x: x * np.array([1.0, 2.0, 1.0])),
    ("x**1 broadcasting", lambda x: x ** np.ones((2, 1, 1))),
    ("x**2 broadcasting", lambda x: x ** np.full((2, 1, 1), 2.0)),
    ("where broadcasting a branch", lambda x: gj.where(np.ones((2, 1, 1), bool), x, 0.0)),
    ("x*nan", lambda x: x * np.nan),
]


@pytest.mark.parametrize("expr", [c[1] for c in NOT_FOLDED], ids=[c[0] for c in NOT_FOLDED])
def test_identity_does_not_fire(x: Node, feed_x: dict[Node, Any], expr: Callable) -> None:
    y = expr(x)
    (opt,), fired = traced([y])
    assert opt is y, fired
    assert fired == []


def test_identity_respects_dtype() -> None:
    i = gj.placeholder("i", shape=(3,), dtype="int32")
    y = i * 1.0  # promotes to float64: the result is the cast, not i
    (opt,) = optimize([y])
    assert opt is not i and opt.dtype == "float64" and opt.op.name == "astype"
    f = gj.placeholder("f", shape=(3,), dtype="float32")
    y = f * np.float64(1.0)  # a float64 array scalar is not weak: float64 result
    (opt,) = optimize([y])
    assert opt.dtype == y.dtype
    assert_same_values([y], [opt], {i: np.arange(3, dtype=np.int32), f: np.ones(3, np.float32)})


def test_add_zero_is_exact_except_the_sign_of_zero(x: Node) -> None:
    (opt,) = optimize([x + 0.0])
    assert opt is x
    neg_zero = np.array([[-0.0, 1.0, -2.0]])
    before = evaluate([x + 0.0], {x: neg_zero})[0]
    after = evaluate([opt], {x: neg_zero})[0]
    np.testing.assert_array_equal(before, after)  # equal as numbers...
    assert not np.signbit(before[0, 0]) and np.signbit(after[0, 0])  # ...but the zero's sign


def test_multiply_by_broadcast_one_seed_is_removed(x: Node) -> None:
    one = gj.broadcast_like(gj.expand_dims(gj.constant(1.0), (0, 1)), x)
    (opt,), fired = traced([one * gj.tanh(x)])
    assert opt is gj.tanh(x)
    assert "multiply_one" in fired


def test_uniform_value_sees_through_moves_and_casts(x: Node) -> None:
    assert uniform_value(gj.constant(np.full((2, 2), 3.0))) == 3.0
    assert uniform_value(gj.constant([1.0, 2.0])) is None
    assert uniform_value(gj.constant(np.zeros((0,)))) is None
    assert uniform_value(gj.constant(np.nan)) is None
    assert uniform_value(gj.broadcast_like(gj.constant(1.5), x)) == 1.5
    assert uniform_value(gj.astype(gj.broadcast_like(gj.constant(2.7), x), "int32")) == 2
    assert uniform_value(gj.ones_like(x)) == 1.0
    assert uniform_value(gj.zeros_like(x, dtype="int32")) == 0
    assert uniform_value(x) is None


# --------------------------------------------------------------------------------------------------
# constant folding


def test_constant_folding_runs_the_reference_impl() -> None:
    c = gj.constant(np.arange(6.0).reshape(2, 3))
    y = gj.sum(gj.exp(c) * 2.0 + gj.transpose(c).T, axis=1)
    (opt,), fired = traced([y])
    assert opt.op.name == "constant"
    assert "fold_constants" in fired
    np.testing.assert_array_equal(constant_value(opt), evaluate([y])[0])
    assert opt.dtype == y.dtype


def test_constant_folding_keeps_dtypes() -> None:
    a = gj.constant(np.array([1, 2, 3], dtype=np.int32))
    (opt,) = optimize([a * 2])
    assert opt.op.name == "constant" and opt.dtype == "int32"
    (s,) = optimize([gj.sum(a)])
    assert s.dtype == "int64" and constant_value(s) == 6
    (f,) = optimize([gj.constant(np.float32(1.5)) * gj.constant(np.float32(2.0))])
    assert f.dtype == "float32" and constant_value(f) == np.float32(3.0)


def test_constant_folding_skips_expanding_and_huge_results(x: Node) -> None:
    big = gj.broadcast_to(gj.constant(1.0), (1000, 1000))  # 1e6 elements from one: not baked
    (opt,) = optimize([big])
    assert opt.op.name == "broadcast_to"
    small = gj.broadcast_to(gj.constant(1.0), (4, 4))
    (opt,) = optimize([small])
    assert opt.op.name == "constant" and constant_value(opt).shape == (4, 4)
    huge = gj.constant(np.zeros(1_000_001, dtype=np.float32))
    (opt,) = optimize([huge + 1.0])
    assert opt.op.name == "add"


def test_constant_folding_leaves_errors_for_run_time() -> None:
    bad = gj.constant(np.array([2, 3])) ** gj.constant(np.array([-1, 2]))  # int ** negative
    (opt,) = optimize([bad])
    assert opt.op.name == "power"
    with pytest.raises(ValueError):
        evaluate([opt])
    (inf,) = optimize([gj.constant(1.0) / gj.constant(0.0)])  # no warning, numpy's value
    assert constant_value(inf) == np.inf


def test_shape_only_ops_fold_when_the_shape_is_static() -> None:
    s = gj.placeholder("s", shape=(4, 3))
    d = gj.placeholder("d", shape=(None, 3))
    (m,) = optimize([gj.mean(s)])  # static: the count is a constant
    assert "size_of" not in ops_of([m])
    (n,) = optimize([gj.size_of(d, axes=1)])
    assert n.op.name == "constant" and constant_value(n) == 3
    (k,) = optimize([gj.size_of(d, axes=0)])
    assert k.op.name == "size_of"
    (z,) = optimize([gj.zeros_like(s)])
    assert z.op.name == "constant" and constant_value(z).shape == (4, 3)
    (zd,) = optimize([gj.zeros_like(d)])
    assert zd.op.name == "full_like"


def test_shape_reads_move_to_the_earliest_node(x: Node) -> None:
    t = gj.placeholder("t", shape=(None, 3))
    y = gj.size_of(gj.sum(gj.square(gj.tanh(x) - t), axis=1), axes=0)
    (opt,) = optimize([y])
    assert opt.op.name == "size_of" and opt.inputs[0].op.name == "placeholder"
    assert len(nodes([opt])) == 2
    z = gj.zeros_like(gj.exp(gj.sin(x)))
    (opt,) = optimize([z])
    assert opt.inputs == (x,)


# --------------------------------------------------------------------------------------------------
# shapes


def test_reshape_rules() -> None:
    a = gj.placeholder("a", shape=(None, 6))
    r = gj.reshape(gj.reshape(gj.reshape(a, (-1, 2, 3)), (-1, 3)), (-1, 6))
    (opt,), fired = traced([r])
    assert opt is a
    assert "reshape_of_reshape" in fired
    s = gj.placeholder("s", shape=(2, 6))
    r = gj.reshape(gj.expand_dims(s, 0), (3, 4))
    (opt,) = optimize([r])
    assert opt.op.name == "reshape" and opt.inputs[0] is s
    assert_same_values([r], [opt], {s: np.arange(12.0).reshape(2, 6)})


def test_transpose_rules() -> None:
    a = gj.placeholder("a", shape=(2, 3, 4))
    t = gj.transpose(gj.transpose(a, (1, 2, 0)), (2, 0, 1))
    (opt,) = optimize([t])
    assert opt is a
    t2 = gj.transpose(gj.transpose(a, (1, 2, 0)), (1, 0, 2))
    (opt,) = optimize([t2])
    assert opt.op.name == "transpose" and opt.inputs[0] is a
    value = np.arange(24.0).reshape(2, 3, 4)
    assert_same_values([t2], [opt], {a: value})
    want = value.transpose(1, 2, 0).transpose(1, 0, 2)
    np.testing.assert_array_equal(evaluate([opt], {a: value})[0], want)


def test_squeeze_expand_dims_rules() -> None:
    a = gj.placeholder("a", shape=(None, 3))
    (opt,) = optimize([gj.squeeze(gj.expand_dims(a, (0, 2)), (0, 2))])
    assert opt is a
    b = gj.placeholder("b", shape=(1, 3, 1))
    (opt,) = optimize([gj.expand_dims(gj.squeeze(b, (0, 2)), (0, 2))])
    assert opt is b
    c = gj.placeholder("c", shape=(None, 3))  # squeezing a None dim: the type says None, not 1
    e = gj.expand_dims(gj.squeeze(c, 0), 0)
    (opt,) = optimize([e])
    assert opt is e


def test_broadcast_rules(x: Node) -> None:
    b = gj.broadcast_like(gj.broadcast_like(gj.constant(np.ones((1, 3))), x), x)
    (opt,) = optimize([b])
    assert opt.op.name == "broadcast_like" and opt.inputs[0].op.name == "constant"
    v = gj.placeholder("v", shape=(3,))
    y = gj.broadcast_like(v, x) + x
    (opt,), fired = traced([y])
    assert opt is v + x
    assert "drop_implicit_broadcast" in fired
    # the broadcast is what gives the sum its shape: it stays
    y = gj.broadcast_like(v, x) + v
    (opt,) = optimize([y])
    assert opt is y


def test_reductions_over_nothing() -> None:
    a = gj.placeholder("a", shape=(None, 1, 3))
    (opt,) = optimize([gj.max(a, axis=1, keepdims=True)])
    assert opt is a
    (opt,) = optimize([gj.logsumexp(a, axis=1)])
    assert opt.op.name == "squeeze" and opt.inputs[0] is a
    i = gj.placeholder("i", shape=(1, 3), dtype="int32")
    (opt,) = optimize([gj.sum(i, axis=0, keepdims=True)])  # int32 sums to int64: stays
    assert opt.op.name == "sum"


def test_sum_of_sum_combines() -> None:
    a = gj.placeholder("a", shape=(None, 3, 4))
    y = gj.sum(gj.sum(a, axis=1), axis=1)
    (opt,) = optimize([y])
    assert opt.op.name == "sum" and opt.inputs[0] is a and opt.attrs["axes"] == (1, 2)
    value = np.random.default_rng(1).normal(size=(2, 3, 4))
    assert_same_values([y], [opt], {a: value}, rtol=1e-12)


# --------------------------------------------------------------------------------------------------
# numerical stability


STABLE: list[tuple[str, Callable[[Node], Node], str, str]] = [
    ("log(sum(exp(x)))", lambda x: gj.log(gj.sum(gj.exp(x), axis=1)), "log_of_sum_exp",
     "logsumexp"),
    ("log(softmax(x))", lambda x: gj.log(gj.softmax(x, axis=1)), "log_of_softmax", "log_softmax"),
    ("log(sigmoid(x))", lambda x: gj.log(gj.sigmoid(x)), "log_of_sigmoid", "negative"),
    ("log(1-sigmoid(x))", lambda x: gj.log(1.0 - gj.sigmoid(x)), "log_one_minus_sigmoid",
     "negative"),
    ("log1p(-sigmoid(x))", lambda x: gj.log1p(-gj.sigmoid(x)), "log1p_of_minus_sigmoid",
     "negative"),
    ("log(1+x)", lambda x: gj.log(1.0 + x), "log_one_plus", "log1p"),
    ("log(x+1)", lambda x: gj.log(x + 1.0), "log_one_plus", "log1p"),
    ("exp(x)-1", lambda x: gj.exp(x) - 1.0, "exp_minus_one", "expm1"),
    ("1-exp(x)", lambda x: 1.0 - gj.exp(x), "one_minus_exp", "negative"),
    ("log(exp(x))", lambda x: gj.log(gj.exp(x)), "log_of_exp", "x"),
    ("log(1+exp(x))", lambda x: gj.log(1.0 + gj.exp(x)), "log1p_of_exp", "softplus"),
    ("1/(1+exp(-x))", lambda x: 1.0 / (1.0 + gj.exp(-x)), "sigmoid_pattern", "sigmoid"),
    ("exp(x)/sum(exp(x))", lambda x: gj.exp(x) / gj.sum(gj.exp(x), axis=1, keepdims=True),
     "softmax_pattern", "softmax"),
    ("x-logsumexp(x)", lambda x: x - gj.logsumexp(x, axis=1, keepdims=True),
     "log_softmax_pattern", "log_softmax"),
    ("exp(log_softmax(x))", lambda x: gj.exp(gj.log_softmax(x, axis=1)), "exp_of_log_softmax",
     "softmax"),
]  # fmt: skip


def _reference(name: str, v: np.ndarray) -> np.ndarray:
    """The exact value of each stability pattern, by a careful numpy formula."""
    import scipy.special as sps

    return {
        "log(sum(exp(x)))": lambda: sps.logsumexp(v, axis=1),
        "log(softmax(x))": lambda: sps.log_softmax(v, axis=1),
        "log(sigmoid(x))": lambda: -np.logaddexp(0.0, -v),
        "log(1-sigmoid(x))": lambda: -np.logaddexp(0.0, v),
        "log1p(-sigmoid(x))": lambda: -np.logaddexp(0.0, v),
        "log(1+x)": lambda: np.log1p(v),
        "log(x+1)": lambda: np.log1p(v),
        "exp(x)-1": lambda: np.expm1(v),
        "1-exp(x)": lambda: -np.expm1(v),
        "log(exp(x))": lambda: v,
        "log(1+exp(x))": lambda: np.logaddexp(0.0, v),
        "1/(1+exp(-x))": lambda: sps.expit(v),
        "exp(x)/sum(exp(x))": lambda: sps.softmax(v, axis=1),
        "x-logsumexp(x)": lambda: sps.log_softmax(v, axis=1),
        "exp(log_softmax(x))": lambda: sps.softmax(v, axis=1),
    }[name]()


@pytest.mark.parametrize("name, expr, rule, result", STABLE, ids=[c[0] for c in STABLE])
def test_stability_rule_fires_and_is_at_least_as_accurate(
    x: Node, name: str, expr: Callable[[Node], Node], rule: str, result: str
) -> None:
    y = expr(x)
    (opt,), fired = traced([y])
    assert rule in fired
    assert (opt is x) if result == "x" else (opt.op.name == result)
    assert opt.type == y.type
    # ordinary values: the same to rounding; extreme ones: the rewrite is right where the
    # original is not
    rng = np.random.default_rng(2)
    ordinary = rng.uniform(-0.9, 3.0, size=(5, 3))
    extreme = np.array([[1000.0, -1000.0, 1e-18], [-745.5, 710.0, -1e-300], [40.0, -40.0, 0.0]])
    for v in (ordinary, extreme):
        with np.errstate(all="ignore"):
            ref = _reference(name, v)
            before = evaluate([y], {x: v})[0]
            after = evaluate([opt], {x: v})[0]
            err_before = np.abs(np.nan_to_num(before - ref, nan=np.inf, posinf=np.inf))
            err_after = np.abs(np.nan_to_num(after - ref, nan=np.inf, posinf=np.inf))
        finite_ref = np.isfinite(ref)
        assert np.all(np.isfinite(after[finite_ref])), (name, v, after)
        tol = 4 * np.finfo(np.float64).eps * np.maximum(np.abs(ref), 1e-300)
        assert np.all(err_after[finite_ref] <= np.maximum(err_before[finite_ref], tol[finite_ref])
                      + 1e-300), (name, before, after, ref)  # fmt: skip


def test_logsumexp_of_large_values_is_finite_after_optimize() -> None:
    v = gj.placeholder("v", shape=(3,))
    y = gj.log(gj.sum(gj.exp(v)))
    (opt,) = optimize([y])
    big = np.full(3, 1000.0)
    with np.errstate(over="ignore"):
        assert evaluate([y], {v: big})[0] == np.inf
    np.testing.assert_allclose(evaluate([opt], {v: big})[0], 1000.0 + math.log(3.0), rtol=1e-15)


def test_stability_rules_do_not_fire_on_lookalikes(x: Node) -> None:
    cases = [
        gj.log(2.0 + x),
        gj.log(np.ones((2, 1, 1)) + x),  # the 1 broadcasts x: log1p(x) has the wrong shape
        gj.exp(x) - 2.0,
        gj.log(gj.sum(gj.exp(x), axis=1) + 1e-9),
        gj.log(gj.sigmoid(x) + 1e-9),
        gj.exp(x) / gj.sum(gj.exp(x), axis=1)[:, None] * 1.5,
    ]
    for y in cases:
        _, fired = traced([y])
        assert not set(fired) & set(STABILITY_RULES), (y, fired)


def test_excluding_rules_keeps_the_exact_numerics(x: Node) -> None:
    y = gj.log(gj.sum(gj.exp(x), axis=1))
    (opt,) = optimize([y], exclude=STABILITY_RULES)
    assert opt is y


# --------------------------------------------------------------------------------------------------
# random graphs keep their values (exact rules only)


CONSTS = [0.0, 1.0, -1.0, 2.0, 0.5, -0.0]


def _f32_trip(t: Node) -> Node:
    return t.astype("float32").astype("float64")


@st.composite
def graphs(draw: Any) -> tuple[Node, list[Node]]:
    a = gj.placeholder("a", shape=(None, 3))
    b = gj.placeholder("b", shape=(3,))
    pool: list[Node] = [a, b]
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(["unary", "binary", "const", "shape"]))
        u = draw(st.sampled_from(pool))
        if kind == "unary":
            f = draw(
                st.sampled_from(
                    [gj.negative, gj.exp, gj.tanh, gj.abs, gj.square, gj.sin, gj.sigmoid, _f32_trip]
                )
            )
            pool.append(f(u))
        elif kind == "binary":
            v = draw(st.sampled_from(pool))
            f = draw(st.sampled_from([gj.add, gj.subtract, gj.multiply, gj.divide, gj.maximum]))
            pool.append(f(u, v))
        elif kind == "const":
            c = draw(st.sampled_from(CONSTS))
            f = draw(st.sampled_from([gj.add, gj.subtract, gj.multiply, gj.divide, gj.power]))
            swap = draw(st.booleans())
            pool.append(f(c, u) if swap else f(u, c))
        else:
            f = draw(st.sampled_from([
                lambda t: gj.sum(t, axis=-1, keepdims=True),
                lambda t: gj.broadcast_like(t, a) if t.ndim <= 2 else t,
                lambda t: gj.transpose(gj.transpose(t)),
                lambda t: gj.where(t > 0, t, -t),
            ]))  # fmt: skip
            pool.append(f(u))
    outs = draw(st.lists(st.sampled_from(pool[2:]), min_size=1, max_size=3))
    return a, [b, *outs]


# rules exact but for the sign of a zero result (their docstrings say so, and tests above check
# their values): a later division turns that sign into an infinity's (1 / (0 - x) at x = 0)
SIGN_OF_ZERO_RULES = ["add_zero", "zero_minus"]


@given(graphs(), st.integers(0, 2**31 - 1))
def test_random_graphs_keep_their_values(graph: tuple[Node, list[Node]], seed: int) -> None:
    a, (b, *outs) = graph
    opt = optimize(outs, exclude=[*STABILITY_RULES, *SIGN_OF_ZERO_RULES])
    rng = np.random.default_rng(seed)
    va = rng.normal(size=(4, 3))
    va[0, 0] = 0.0
    feed = {a: va, b: rng.normal(size=3)}
    assert_same_values(outs, opt, {k: v for k, v in feed.items()}, rtol=1e-10)
    assert len(nodes(opt)) <= len(nodes(outs))
    # a fixed point: optimising again changes nothing
    again, fired = traced(opt, exclude=[*STABILITY_RULES, *SIGN_OF_ZERO_RULES])
    assert fired == [] and all(p is q for p, q in zip(again, opt))


# --------------------------------------------------------------------------------------------------
# the driver


def test_fixed_point_and_common_subexpressions(x: Node) -> None:
    y = (x * 1.0 + 0.0) * gj.exp(x / 1.0) + x * gj.exp(x)
    (opt,) = optimize([y])
    # x * exp(x) appears twice once the identities are gone: hash-consing makes it one node
    assert opt.op.name == "add" and opt.inputs[0] is opt.inputs[1] is x * gj.exp(x)
    assert len(nodes([opt])) == 4
    again, fired = traced([opt])
    assert again[0] is opt and fired == []


def test_dead_code_is_dropped(x: Node) -> None:
    unused = gj.exp(gj.sin(x))
    y = gj.where(True, x, unused)
    (opt,) = optimize([y])
    assert opt is x


def test_outputs_keep_their_order_and_duplicates(x: Node) -> None:
    a, b, c = optimize([x * 1.0, gj.exp(x), x + 0.0])
    assert a is x and c is x and b is gj.exp(x)
    assert optimize([]) == []


def test_optimize_accepts_a_single_node_and_rejects_others(x: Node) -> None:
    assert optimize(x * 1.0) == [x]  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="outputs\\[1\\]"):
        optimize([x, 3.0])  # type: ignore[list-item]


def test_deep_chains_optimise_without_recursion() -> None:
    a = gj.placeholder("a", shape=(None, 3))
    y = a
    for _ in range(5000):
        y = gj.tanh(y) * 1.0  # 10,000 nodes, half of them removable
    assert len(nodes([y])) > 10_000
    (opt,) = optimize([y])
    assert len(nodes([opt])) == 5001
    z = a
    for i in range(10_000):
        z = gj.transpose(z) if i % 3 else gj.reshape(z, (-1, 3))
    (opt,) = optimize([z])
    assert opt.shape == z.shape
    value = np.arange(6.0).reshape(2, 3)
    assert_same_values([z], [opt], {a: value})


def test_deep_gradient_optimises() -> None:
    a = gj.placeholder("a", shape=(4,))
    y = a
    for _ in range(1500):
        y = gj.sin(y) * 2.0
    (g,) = gj.grad(gj.sum(y), [a])
    (opt,) = optimize([g])
    assert len(nodes([opt])) <= len(nodes([g]))
    v = np.linspace(-1, 1, 4)
    assert_same_values([g], [opt], {a: v}, rtol=1e-9)


def _rules(*pairs: tuple[str, Callable[[Node], Node | None]]) -> RuleSet:
    rules = RuleSet()
    for op, fn in pairs:
        rules.add(fn, [op])
    return rules


def test_a_rule_that_changes_the_type_is_an_error(x: Node) -> None:
    def widen(node: Node) -> Node | None:
        """Wrong on purpose."""
        return node.astype("float32") if node.dtype == "float64" else None

    with pytest.raises(RewriteError, match=r"widen.*type changed"):
        rewrite([gj.exp(x)], _rules(("exp", widen)))


def test_rules_that_undo_each_other_are_caught(x: Node) -> None:
    def swap(node: Node) -> Node | None:
        """Commute, forever."""
        a, b = node.inputs
        return build("add", b, a)

    with pytest.raises(RewriteError, match=r"cycle|fixed point"):
        rewrite([x + gj.exp(x)], _rules(("add", swap)))

    def grow(node: Node) -> Node | None:
        """Never done: -x -> -(-(-x))."""
        return gj.negative(gj.negative(node))

    with pytest.raises(RewriteError):
        rewrite([-x], _rules(("negative", grow)))


def test_trace_and_logger(x: Node, caplog: pytest.LogCaptureFixture, capsys: Any) -> None:
    events: list[RewriteEvent] = []
    optimize([gj.log(1.0 + x * 1.0)], trace=events)
    assert [e.rule for e in events] == ["multiply_one", "log_one_plus"]
    assert events[1].after.op.name == "log1p" and "log_one_plus" in str(events[1])
    optimize([x * 1.0], trace=True)
    assert "multiply_one" in capsys.readouterr().out
    with caplog.at_level("DEBUG", logger="graphjit.rewrite"):
        optimize([x / 1.0])
    assert "divide_one" in caplog.text


# --------------------------------------------------------------------------------------------------
# gradient graphs come out small


def test_gradient_of_sum_tanh_is_a_handful_of_nodes() -> None:
    a = gj.placeholder("a", shape=(None, 3))
    (g,) = gj.grad(gj.sum(gj.tanh(a)), [a])
    (opt,) = optimize([g])
    # a, tanh(a), tanh*tanh, 1, 1 - tanh*tanh: the seed, its broadcast and the * 1 are gone
    assert len(nodes([opt])) <= 5
    assert sorted(ops_of([opt])) == sorted(
        ["placeholder", "tanh", "multiply", "constant", "subtract"]
    )
    v = np.random.default_rng(3).normal(size=(5, 3))
    np.testing.assert_allclose(evaluate([opt], {a: v})[0], 1 - np.tanh(v) ** 2, rtol=1e-14)


def _assert_no_visible_waste(outputs: Sequence[Node]) -> None:
    for n in nodes(outputs):
        assert not (n.inputs and all(x.op.name == "constant" for x in n.inputs)), n
        assert n.op.name not in ("broadcast_like", "broadcast_to", "expand_dims", "power", "where")
        if n.op.name in ("multiply", "divide"):
            assert all(uniform_value(x) not in (1, -1) for x in n.inputs[1:]), n
            assert uniform_value(n.inputs[0]) not in (1, -1) or n.op.name == "divide", n
        if n.op.name in ("add", "subtract"):
            assert all(uniform_value(x) != 0 for x in n.inputs), n
        if n.op.name == "astype":
            assert n.inputs[0].dtype != n.dtype
        if n.op.name == "size_of":
            assert not n.inputs[0].inputs, n  # the size is read from a leaf


def test_mlp_gradient_graph_has_no_visible_waste() -> None:
    rng = np.random.default_rng(0)
    xs = gj.placeholder("xs", shape=(None, 4))
    ts = gj.placeholder("ts", shape=(None, 1))
    w1 = gj.variable(rng.normal(size=(4, 8)), name="w1")
    b1 = gj.variable(np.zeros(8), name="b1")
    w2 = gj.variable(rng.normal(size=(8, 1)), name="w2")
    b2 = gj.variable(np.zeros(1), name="b2")
    out = gj.sigmoid(gj.tanh(xs @ w1 + b1) @ w2 + b2)
    loss = gj.mean((out - ts) ** 2)
    grads = gj.grad(loss, [w1, b1, w2, b2])
    raw = nodes([loss, *grads])
    opt = optimize([loss, *grads])
    kept = nodes(opt)
    # the loss and its four gradients: 36 nodes at the time of writing, from 43 raw (the
    # seed, its broadcasts, power's where/equal/y-1 and the size_of chain are gone)
    assert len(kept) <= 36 < len(raw)
    _assert_no_visible_waste(opt)
    feed = {xs: rng.normal(size=(6, 4)), ts: rng.normal(size=(6, 1))}
    assert_same_values([loss, *grads], opt, feed)
    _, fired = traced(opt)
    assert fired == []


def test_softmax_cross_entropy_gradient_is_lean() -> None:
    rng = np.random.default_rng(1)
    xs = gj.placeholder("xs", shape=(None, 4))
    labels = gj.placeholder("labels", shape=(None, 3))
    w = gj.variable(rng.normal(size=(4, 3)), name="w")
    loss = -gj.mean(gj.sum(labels * gj.log_softmax(xs @ w, axis=1), axis=1))
    (gw,) = gj.grad(loss, [w])
    opt = optimize([loss, gw])
    _assert_no_visible_waste(opt)
    names = ops_of(opt)
    assert names.count("size_of") == 1 and names.count("log_softmax") == 1
    feed = {xs: rng.normal(size=(5, 4)), labels: np.eye(3)[[0, 1, 2, 0, 1]]}
    assert_same_values([loss, gw], opt, feed)


def test_hessian_vector_product_is_simplified() -> None:
    rng = np.random.default_rng(2)
    xs = gj.placeholder("xs", shape=(None, 4))
    w = gj.variable(rng.normal(size=(4, 3)), name="w")
    v = gj.variable(rng.normal(size=(4, 3)), name="v")
    (hv,) = gj.hvp(gj.sum(gj.tanh(xs @ w) ** 2), [w], [v])
    (opt,) = optimize([hv])
    # gj.grad differentiates the optimised loss already; what is left is the waste the reverse
    # sweep itself makes (transposes of transposes, broadcasts of scalars, ...)
    assert len(nodes([opt])) < len(nodes([hv])) * 0.8
    _assert_no_visible_waste([opt])
    assert_same_values([hv], [opt], {xs: rng.normal(size=(5, 4))}, rtol=1e-11)


# --------------------------------------------------------------------------------------------------
# through the runtime


def test_compile_optimises_and_agrees_with_the_interpreter() -> None:
    a = gj.placeholder("a", shape=(None, 3))
    y = gj.log(gj.sum(gj.exp(a * 1.0), axis=1))
    f = gj.compile([a], [y], backend="numpy")
    assert [n.op.name for n in f.graph] == ["logsumexp"]
    v = np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]])
    (out,) = f(v)
    np.testing.assert_allclose(out, [1000.0, np.log(np.exp([1.0, 2.0, 3.0]).sum())])


# --------------------------------------------------------------------------------------------------
# gradients of slices that tile an axis


def _gradient_of_slices(cuts: Sequence[tuple[int, int]], axis: int = 1) -> tuple[Node, Node]:
    """The gradient of ``sum(tanh(z[cut]) * k)`` over ``cuts`` of ``z`` (8 wide on ``axis``)."""
    z = gj.placeholder("z", shape=(None, 8) if axis == 1 else (8, None))
    total: Any = None
    for k, (lo, hi) in enumerate(cuts):
        part = z[:, lo:hi] if axis == 1 else z[lo:hi]
        term = gj.sum(gj.tanh(part) * float(k + 1))
        total = term if total is None else total + term
    (g,) = gj.grad(total, [z])
    return z, g


@pytest.mark.parametrize(
    "cuts, sags, concats",
    [
        ([(0, 2), (2, 4), (4, 6), (6, 8)], 0, 1),  # an LSTM's gates: the concatenation alone
        ([(6, 8), (0, 2), (4, 6), (2, 4)], 0, 1),  # in any order
        ([(0, 3), (3, 5)], 1, 1),  # a run short of the axis: one slice gradient left
        ([(0, 2), (2, 4), (5, 8)], 2, 1),  # a gap: two runs
    ],
)
@pytest.mark.parametrize("axis", [0, 1])
def test_gradients_of_adjacent_slices_become_one_concatenation(
    cuts: list[tuple[int, int]], sags: int, concats: int, axis: int
) -> None:
    z, g = _gradient_of_slices(cuts, axis)
    (opt,), fired = traced([g])
    assert "tiled_slice_gradients" in fired
    assert ops_of([opt]).count("slice_axes_grad") == sags
    assert ops_of([opt]).count("concatenate") == concats
    value = np.random.default_rng(0).normal(size=(5, 8) if axis == 1 else (8, 5))
    with np.errstate(all="ignore"):
        (want,) = evaluate([g], {z: value})
        (got,) = evaluate([opt], {z: value})
    np.testing.assert_array_equal(got, want)  # exact: one nonzero term per element
    f = gj.compile([z], g)
    np.testing.assert_allclose(f(value), want, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("cuts", [[(0, 3), (2, 5)], [(0, 2), (3, 5)], [(1, 4)]])
def test_overlapping_or_separate_slices_keep_their_gradients(cuts: list[tuple[int, int]]) -> None:
    """Overlapping ranges really add; ranges with a gap between them have nothing to merge."""
    z, g = _gradient_of_slices(cuts)
    (opt,), fired = traced([g])
    assert "tiled_slice_gradients" not in fired
    assert ops_of([opt]).count("slice_axes_grad") == len(cuts)
    value = np.random.default_rng(1).normal(size=(3, 8))
    assert_same_values([g], [opt], {z: value})


def test_slices_of_different_arrays_are_not_merged() -> None:
    a, b = gj.placeholder("a", shape=(2, 4)), gj.placeholder("b", shape=(2, 4))
    loss = gj.sum(gj.tanh(a[:, :2]) * b[:, 2:])
    ga, gb = gj.grad(loss, [a, b])
    (opt,), fired = traced([ga + gb])
    assert "tiled_slice_gradients" not in fired
    feed = {a: np.ones((2, 4)), b: np.arange(8.0).reshape(2, 4)}
    assert_same_values([ga + gb], [opt], feed)
