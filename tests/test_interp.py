"""graphjit.interp: the reference interpreter (the "numpy" backend and the spec of every op)."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj
from graphjit.interp import eval_node, evaluate, listing
from graphjit.ops.registry import defop
from graphjit.ops.shape_rules import elementwise_type


def test_evaluate_returns_values_of_every_output() -> None:
    x = gj.placeholder("x", shape=(3,))
    h = gj.exp(x)
    out = gj.sum(h * x)
    a = np.array([0.0, 1.0, 2.0])
    h_v, out_v, x_v = evaluate([h, out, x], {x: a})
    np.testing.assert_allclose(h_v, np.exp(a), rtol=1e-15)
    np.testing.assert_allclose(out_v, np.sum(np.exp(a) * a), rtol=1e-15)
    np.testing.assert_array_equal(x_v, a)


def test_intermediate_values_requested_twice_survive_freeing() -> None:
    x = gj.placeholder("x", shape=())
    a = gj.sin(x)
    b = gj.cos(a)
    c = gj.exp(b)
    a_v, c_v, a_again = evaluate([a, c, a], {x: 0.5})
    np.testing.assert_allclose(a_v, np.sin(0.5))
    np.testing.assert_allclose(c_v, np.exp(np.cos(np.sin(0.5))))
    np.testing.assert_array_equal(a_v, a_again)


def test_feed_accepts_lists_and_scalars() -> None:
    x = gj.placeholder("x", shape=(2,))
    s = gj.placeholder("s", shape=())
    (v,) = evaluate([x * s], {x: [1.0, 2.0], s: 3.0})
    np.testing.assert_array_equal(v, [3.0, 6.0])


def test_missing_placeholder_is_named() -> None:
    x = gj.placeholder("x", shape=(2,))
    y = gj.placeholder("needed", shape=(2,))
    with pytest.raises(ValueError, match="'needed'"):
        evaluate([x + y], {x: np.ones(2)})


def test_leaves_constants_and_variables() -> None:
    c = gj.constant([1.0, 2.0])
    w = gj.variable(np.array([3.0, 4.0]), name="w")
    c_v, w_v, s_v = evaluate([c, w, c + w])
    np.testing.assert_array_equal(c_v, [1.0, 2.0])
    np.testing.assert_array_equal(w_v, [3.0, 4.0])
    np.testing.assert_array_equal(s_v, [4.0, 6.0])
    w.set_value([0.0, 0.0])
    np.testing.assert_array_equal(evaluate([c + w])[0], [1.0, 2.0])


def test_call_time_size_conflict_names_the_op() -> None:
    x = gj.placeholder("x", shape=(None,))
    y = gj.placeholder("y", shape=(None,))
    with pytest.raises(ValueError, match=r"evaluating add with input shapes \[\(3,\), \(4,\)\]"):
        evaluate([x + y], {x: np.ones(3), y: np.ones(4)})


def test_a_wrong_impl_dtype_is_caught() -> None:
    name = "test_interp_bad_dtype"
    op = defop(
        name,
        infer=lambda t: elementwise_type(name, t),
        impl=lambda a: a.astype(np.float32),
        kind="elementwise",
    )
    try:
        x = gj.placeholder("x", shape=(2,))
        node = gj.apply(op, x)
        with pytest.raises(AssertionError, match=f"{name} returned float32, its rule says float64"):
            evaluate([node], {x: np.ones(2)})
        with pytest.raises(AssertionError, match="float32"):
            eval_node(node, [np.ones(2)])
    finally:
        del gj.OPS[name]


def test_listing_is_the_pprint_text() -> None:
    x = gj.placeholder("x", shape=(2,))
    text = listing([gj.exp(x)])
    assert text.splitlines() == [
        "%0 = placeholder('x') : float64[2]",
        "%1 = exp(%0) : float64[2]",
        "return %1",
    ]
