"""graphjit.serialize: nodes and compiled functions pickle by structure, and only rebuild through
the op registry."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import graphjit as gj
from graphjit import ir
from graphjit.serialize import (
    EncodedGraph,
    GraphFormatError,
    decode_graph,
    encode_graph,
    structural_digest,
)


def _model() -> tuple[gj.Node, gj.Node, gj.Variable]:
    x = gj.placeholder("x", shape=(None, 3))
    w = gj.variable(np.array([0.5, -1.0, 2.0]), name="w")
    loss = gj.mean(gj.softplus(x @ w) * gj.constant(np.array(1.5)))
    (gw,) = gj.grad(loss, [w])
    return loss, gw, w


def test_a_node_round_trips_with_its_values() -> None:
    loss, _, w = _model()
    x = ir.leaves([loss], "placeholder")[0]
    back = pickle.loads(pickle.dumps(loss))
    (x2,) = ir.leaves([back], "placeholder")
    (w2,) = ir.leaves([back], "variable")
    assert isinstance(w2, gj.Variable) and w2 is not w
    np.testing.assert_array_equal(w2.get_value(), w.get_value())
    assert x2.name == "x" and x2.shape == (None, 3)
    data = np.random.default_rng(0).random((7, 3))
    before = gj.compile([x], loss, backend="numpy")(data)
    after = gj.compile([x2], back, backend="numpy")(data)
    assert before == after
    # the same structure, built in another process, has the same digest
    assert structural_digest([back]) == structural_digest([loss])


def test_nodes_pickled_together_share_their_leaves() -> None:
    loss, gw, _ = _model()
    loss2, gw2 = pickle.loads(pickle.dumps([loss, gw]))
    (w_a,) = ir.leaves([loss2], "variable")
    (w_b,) = ir.leaves([gw2], "variable")
    assert w_a is w_b


def test_a_compiled_function_round_trips_with_its_updates() -> None:
    loss, gw, w = _model()
    (x,) = ir.leaves([loss], "placeholder")
    f = gj.compile([x], [loss, gw], updates={w: w - 0.1 * gw}, backend="numpy")
    g = pickle.loads(pickle.dumps(f))
    assert isinstance(g, gj.CompiledFunction) and g.backend == "numpy"
    data = np.random.default_rng(1).random((9, 3))
    for _ in range(3):
        a, b = f(data), g(data)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    (w_g,) = g.program.variables
    np.testing.assert_array_equal(w_g.get_value(), w.get_value())
    single = gj.compile([x], loss, backend="numpy")
    assert pickle.loads(pickle.dumps(single))(data) == single(data)


def test_a_deep_graph_pickles() -> None:
    x = gj.placeholder("x", shape=(4,))
    y = x
    for i in range(10_000):
        y = gj.sin(y) if i % 2 else y * 1.0001 + 0.5
    n = len(ir.toposort([y]))
    assert n > 10_000
    back = pickle.loads(pickle.dumps(y))
    assert len(ir.toposort([back])) == n
    (x2,) = ir.leaves([back], "placeholder")
    data = np.linspace(0, 1, 4)
    np.testing.assert_array_equal(
        gj.compile([x2], back, backend="numpy")(data), gj.compile([x], y, backend="numpy")(data)
    )


def test_an_unknown_op_is_refused() -> None:
    x = gj.placeholder("x", shape=(3,))
    encoded = encode_graph([gj.exp(x)])
    entries = list(encoded.entries)
    entries[1] = ("op", "os.system", (0,), ())
    with pytest.raises(GraphFormatError, match=r"unknown op 'os.system'"):
        decode_graph(encoded._replace(entries=tuple(entries)))
    entries[1] = ("op", "placeholder", (0,), ())  # leaves are entries of their own kind
    with pytest.raises(GraphFormatError, match="unknown op"):
        decode_graph(encoded._replace(entries=tuple(entries)))


def test_malformed_encodings_are_refused() -> None:
    x = gj.placeholder("x", shape=(3,))
    encoded = encode_graph([gj.exp(x)])
    with pytest.raises(GraphFormatError, match="format version"):
        decode_graph(encoded._replace(version=99))
    with pytest.raises(GraphFormatError, match="earlier nodes"):
        decode_graph(encoded._replace(entries=(encoded.entries[0], ("op", "exp", (5,), ()))))
    bad_attr = ("op", "sum", (0,), (("axes", (0,)), ("keepdims", object())))
    with pytest.raises(GraphFormatError, match="not plain data"):
        decode_graph(encoded._replace(entries=(encoded.entries[0], bad_attr)))
    with pytest.raises(GraphFormatError, match="numeric numpy array"):
        decode_graph(EncodedGraph(1, (("constant", None, np.array([object()])),), (0,)))
    with pytest.raises(GraphFormatError, match="not an encoded graph"):
        decode_graph("nonsense")
