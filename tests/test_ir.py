"""graphjit.ir: dtypes, TensorType, hash-consed immutable nodes, traversal, operators."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import graphjit as gj
from graphjit import ir
from graphjit.interp import evaluate
from graphjit.viz import pprint_str

# --------------------------------------------------------------------------------------------------
# dtypes and TensorType


def test_dims_int_none_and_named() -> None:
    t = gj.TensorType((None, 3, "batch", np.int64(4)), "float32")
    assert t.shape == (None, 3, "batch", 4)
    assert type(t.shape[3]) is int
    assert t.ndim == 4
    assert not t.is_static
    assert t.size is None
    assert str(t) == "float32[?, 3, batch, 4]"


def test_static_type_size_and_scalar_shape() -> None:
    t = gj.TensorType((2, 3))
    assert t.is_static and t.size == 6 and t.dtype == "float64"
    assert gj.TensorType(5).shape == (5,)
    assert gj.TensorType([2, 3]).shape == (2, 3)
    scalar = gj.TensorType(())
    assert scalar.ndim == 0 and scalar.size == 1


@pytest.mark.parametrize(
    ("dim", "exc"), [(-1, ValueError), (True, TypeError), (2.0, TypeError), (b"n", TypeError)]
)
def test_bad_dims_raise(dim: object, exc: type[Exception]) -> None:
    with pytest.raises(exc, match="dimension"):
        gj.TensorType((dim,))


def test_tensortype_is_frozen_and_hashable() -> None:
    t = gj.TensorType((None, 3))
    with pytest.raises(AttributeError):
        t.dtype = "float32"  # type: ignore[misc]
    assert t == gj.TensorType([None, 3], np.float64)
    assert len({t, gj.TensorType((None, 3), "float64")}) == 1


def test_placeholder_type() -> None:
    x = gj.placeholder("x", shape=(None, 3), dtype="float32")
    assert x.shape == (None, 3) and x.dtype == "float32" and x.ndim == 2
    assert x.name == "x" and x.is_leaf
    assert repr(x) == "<Node placeholder 'x': float32[?, 3]>"


# --------------------------------------------------------------------------------------------------
# hash-consing and immutability


def test_same_expression_is_same_object() -> None:
    x = gj.placeholder("x", shape=(3,))
    y = gj.placeholder("y", shape=(3,))
    a = gj.exp(x) * y + 1.0
    b = gj.exp(x) * y + 1.0
    assert a is b
    assert gj.exp(x) is a.inputs[0].inputs[0]
    assert (x + y) is not (y + x)  # no canonical reordering at build time
    assert gj.constant(np.array([1.0, 2.0])) is gj.constant([1.0, 2.0])
    assert gj.constant([1.0, 2.0]) is not gj.constant([1.0, 3.0])
    assert gj.constant(1.0) is not gj.constant(1.0, dtype="float32")


def test_leaves_with_equal_names_are_distinct() -> None:
    a = gj.placeholder("x", shape=(2,))
    b = gj.placeholder("x", shape=(2,))
    assert a is not b
    assert (gj.exp(a)) is not gj.exp(b)
    v1 = gj.variable(np.zeros(2), name="w")
    v2 = gj.variable(np.zeros(2), name="w")
    assert v1 is not v2


def test_attrs_distinguish_nodes() -> None:
    x = gj.placeholder("x", shape=(2, 3))
    assert gj.sum(x, axis=0) is gj.sum(x, axis=0)
    assert gj.sum(x, axis=0) is not gj.sum(x, axis=1)
    assert gj.sum(x, axis=0) is not gj.sum(x, axis=0, keepdims=True)


def test_nodes_are_immutable() -> None:
    x = gj.placeholder("x", shape=(2,))
    y = gj.exp(x)
    with pytest.raises(AttributeError, match="immutable"):
        y.op = x.op  # type: ignore[misc]
    with pytest.raises(AttributeError, match="immutable"):
        y.name = "renamed"  # type: ignore[misc]
    with pytest.raises(AttributeError, match="immutable"):
        del y.inputs
    with pytest.raises(TypeError):
        y.attrs["new"] = 1  # type: ignore[index]
    assert isinstance(y.inputs, tuple)


def test_constant_holds_a_read_only_copy() -> None:
    arr = np.array([1.0, 2.0])
    c = gj.constant(arr)
    arr[0] = 100.0
    (value,) = evaluate([c])
    np.testing.assert_array_equal(value, [1.0, 2.0])
    with pytest.raises(ValueError):
        value[0] = 5.0


def test_node_truth_value_and_iteration_raise() -> None:
    x = gj.placeholder("x", shape=(3,))
    with pytest.raises(TypeError, match=r"gj\.where"):
        bool(x > 0)
    with pytest.raises(TypeError, match="not iterable"):
        list(x)
    assert len(x) == 3
    with pytest.raises(TypeError, match="not fixed"):
        len(gj.placeholder("n", shape=(None,)))


def test_eq_is_identity_and_nodes_are_dict_keys() -> None:
    x = gj.placeholder("x", shape=(3,))
    y = gj.placeholder("y", shape=(3,))
    assert (x == x) is True
    assert (x == y) is False
    assert (x != y) is True
    assert {x: 1, y: 2}[x] == 1
    eq = gj.equal(x, y)
    assert isinstance(eq, gj.Node) and eq.dtype == "bool"
    (value,) = evaluate([eq], {x: np.array([1.0, 2.0, 3.0]), y: np.array([1.0, 0.0, 3.0])})
    np.testing.assert_array_equal(value, [True, False, True])


# --------------------------------------------------------------------------------------------------
# deep graphs: everything iterative


def test_ten_thousand_node_chain_builds_grads_and_interprets() -> None:
    n = 10_000
    limit = sys.getrecursionlimit()
    x = gj.placeholder("x", shape=())
    y = x
    for _ in range(n):
        y = gj.sin(y)
    order = ir.toposort([y])
    assert len(order) == n + 1
    assert order[0] is x and order[-1] is y
    (dy,) = gj.grad(y, [x])
    value, slope = evaluate([y, dy], {x: np.array(0.5)})
    # the same chain in numpy: value, and the product of the chain rule's factors
    v, d = 0.5, 1.0
    for _ in range(n):
        d *= np.cos(v)
        v = np.sin(v)
    np.testing.assert_allclose(value, v, rtol=1e-12)
    np.testing.assert_allclose(slope, d, rtol=1e-9)
    assert len(pprint_str([dy]).splitlines()) > 2 * n
    assert sys.getrecursionlimit() == limit


# --------------------------------------------------------------------------------------------------
# traversal helpers


def test_toposort_puts_inputs_before_users_and_is_deterministic() -> None:
    x = gj.placeholder("x", shape=(2,))
    y = gj.placeholder("y", shape=(2,))
    a = gj.exp(x)
    b = a * y
    c = b + a
    order = ir.toposort([c])
    pos = {id(n): i for i, n in enumerate(order)}
    for n in order:
        for i in n.inputs:
            assert pos[id(i)] < pos[id(n)]
    assert len(order) == 5
    assert [n.op.name for n in order] == [n.op.name for n in ir.toposort([c])]
    assert ir.leaves([c]) == [x, y]
    assert ir.leaves([c], "placeholder") == [x, y]
    assert ir.leaves([c], "constant") == []
    u = ir.users(order)
    assert u[a] == [b, c]
    assert u[c] == []


def test_graph_replace_substitutes_and_rebuilds() -> None:
    x = gj.placeholder("x", shape=(2,))
    z = gj.placeholder("z", shape=(2,))
    out = gj.exp(x) + x
    (new,) = ir.graph_replace([out], {x: z})
    assert new is gj.exp(z) + z
    (same,) = ir.graph_replace([out], {})
    assert same is out


# --------------------------------------------------------------------------------------------------
# operators


def _eval(node: gj.Node, **feed: np.ndarray) -> np.ndarray:
    leaves = {n.name: n for n in ir.leaves([node], "placeholder")}
    (value,) = evaluate([node], {leaves[k]: v for k, v in feed.items() if k in leaves})
    return value


def test_arithmetic_operators_match_numpy() -> None:
    x = gj.placeholder("x", shape=(3,))
    y = gj.placeholder("y", shape=(3,))
    a = np.array([0.5, 1.5, 2.0])
    b = np.array([2.0, -1.0, 4.0])
    cases = [
        (x + y, a + b, "add"),
        (x + 1, a + 1, "add"),
        (1 + x, 1 + a, "add"),
        (x - y, a - b, "subtract"),
        (2 - x, 2 - a, "subtract"),
        (x * y, a * b, "multiply"),
        (3 * x, 3 * a, "multiply"),
        (x / y, a / b, "divide"),
        (2 / x, 2 / a, "divide"),
        (x**2, a**2, "power"),
        (2**x, 2**a, "power"),
        (x**y, a**b, "power"),
        (-x, -a, "negative"),
        (abs(y), np.abs(b), "abs"),
    ]
    for node, want, op in cases:
        assert node.op.name == op
        np.testing.assert_allclose(_eval(node, x=a, y=b), want, rtol=1e-15)
    assert +x is x


def test_comparison_and_logic_operators() -> None:
    x = gj.placeholder("x", shape=(4,))
    a = np.array([-1.0, 0.0, 1.0, 2.0])
    for node, want in [
        (x < 0, a < 0),
        (x <= 0, a <= 0),
        (x > 0, a > 0),
        (x >= 0, a >= 0),
        ((x > -1) & (x < 2), (a > -1) & (a < 2)),
        ((x < 0) | (x > 1), (a < 0) | (a > 1)),
        (~(x > 0), ~(a > 0)),
    ]:
        assert node.dtype == "bool"
        np.testing.assert_array_equal(_eval(node, x=a), want)


def test_numpy_array_on_the_left_builds_a_node() -> None:
    x = gj.placeholder("x", shape=(2,))
    arr = np.array([1.0, 2.0])
    for node in (arr + x, arr * x, arr - x, arr / x):
        assert isinstance(node, gj.Node)
    np.testing.assert_allclose(_eval(arr - x, x=np.array([3.0, 3.0])), [-2.0, -1.0])


def test_matmul_operator_and_methods() -> None:
    x = gj.placeholder("x", shape=(None, 3))
    w = gj.placeholder("w", shape=(3, 2))
    a = np.arange(6.0).reshape(2, 3)
    b = np.arange(6.0).reshape(3, 2) - 2
    np.testing.assert_allclose(_eval(x @ w, x=a, w=b), a @ b)
    assert (x @ w).shape == (None, 2)
    np.testing.assert_allclose(_eval(x.sum(axis=1), x=a), a.sum(axis=1))
    np.testing.assert_allclose(_eval(x.T, x=a), a.T)
    np.testing.assert_allclose(_eval(x.reshape(3, 2), x=a), a.reshape(3, 2))
    np.testing.assert_allclose(_eval(x.mean(), x=a), a.mean())
    np.testing.assert_allclose(_eval(x[0], x=a), a[0])


# --------------------------------------------------------------------------------------------------
# build-time shape checks


def test_broadcast_shapes_at_build_time() -> None:
    x = gj.placeholder("x", shape=(None, 3))
    assert (x + gj.placeholder("b", shape=(3,))).shape == (None, 3)
    assert (x + gj.placeholder("c", shape=(5, 1))).shape == (5, 3)
    assert (x + gj.placeholder("d", shape=(5, 3))).shape == (5, 3)
    assert (x + gj.placeholder("e", shape=(None, 3))).shape == (None, 3)
    n = gj.placeholder("n", shape=("batch", 3))
    assert (n + gj.placeholder("m", shape=("batch", 1))).shape == ("batch", 3)
    assert (n * 2).shape == ("batch", 3)


def test_bad_add_names_op_and_shapes() -> None:
    a = gj.placeholder("a", shape=(2, 3))
    b = gj.placeholder("b", shape=(4,))
    with pytest.raises(ValueError, match=r"add.*\(2, 3\).*\(4,\)"):
        a + b
    with pytest.raises(ValueError, match=r"multiply"):
        a * gj.placeholder("c", shape=(3, 3))


def test_bad_matmul_names_op_and_shapes() -> None:
    a = gj.placeholder("a", shape=(2, 3))
    b = gj.placeholder("b", shape=(4, 5))
    with pytest.raises(ValueError, match=r"matmul") as info:
        a @ b
    assert "3" in str(info.value) and "4" in str(info.value)


def test_bad_reduction_axis_names_op() -> None:
    x = gj.placeholder("x", shape=(2, 3))
    with pytest.raises((ValueError, IndexError), match="sum"):
        gj.sum(x, axis=2)


def test_bool_arithmetic_rejected_where_numpy_rejects_it() -> None:
    b = gj.placeholder("b", shape=(2,), dtype="bool")
    with pytest.raises(TypeError, match="subtract"):
        b - b
    with pytest.raises(TypeError, match="negative"):
        gj.negative(b)


def test_make_node_rejects_non_nodes() -> None:
    with pytest.raises(TypeError, match="expected a graph Node"):
        ir.make_node(gj.OPS["exp"], [np.ones(2)])  # type: ignore[list-item]


def test_pytorch_spellings_that_mean_the_same_work_on_nodes() -> None:
    """Eager-style code (and @gj.jit traces of it) runs on graph nodes where PyTorch's meaning
    matches numpy's; the values agree with the numpy spelling."""
    x = gj.placeholder("x", (2, 3))
    w = gj.placeholder("w", (4, 3))
    torch_style = (x.mm(w.t()).pow(2).clamp(0.0, 10.0).mul(0.5).neg().div(2.0)).double()
    numpy_style = -(gj.clip((x @ w.T) ** 2, 0.0, 10.0) * 0.5) / 2.0
    a, b = np.arange(6.0).reshape(2, 3) / 6, np.ones((4, 3))
    f = gj.compile([x, w], [torch_style, numpy_style], backend="numpy")
    got, want = f(a, b)
    np.testing.assert_allclose(got, want)
    assert x.view(3, 2).shape == (3, 2) and x.view(-1).shape == (6,)
    assert x.permute(1, 0).shape == (3, 2) and x.unsqueeze(0).shape == (1, 2, 3)
    assert x.float().dtype == "float32" and x.dim() == 2
    assert x.matmul(w.t()).shape == (2, 4)
