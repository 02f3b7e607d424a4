"""graphjit.viz: the pprint listing and Graphviz DOT output."""

from __future__ import annotations

import re

import numpy as np
import pytest

import graphjit as gj
from graphjit.viz import count_nodes, pprint_str, to_dot

STRING = r'"(?:[^"\\\n]|\\.)*"'  # a DOT string literal: no raw newline, no unescaped quote
NODE_LINE = re.compile(rf"^  n\d+ \[label={STRING}, shape=\w+(, peripheries=2)?\];$")
EDGE_LINE = re.compile(r"^  n\d+ -> n\d+;$")


def _design_graph() -> tuple[gj.Node, gj.Node]:
    x = gj.placeholder("x", shape=(None, 3))
    w = gj.variable(np.zeros(3), name="w")
    y = gj.sum(gj.tanh(x @ w) * 2.0)
    (gw,) = gj.grad(y, [w])
    return y, gw


def assert_well_formed_dot(text: str) -> None:
    lines = text.splitlines()
    assert re.fullmatch(rf"digraph {STRING} \{{", lines[0]), lines[0]
    assert lines[-1] == "}"
    declared: set[str] = set()
    for line in lines[1:-1]:
        if line in ("  rankdir=TB;", '  node [fontname="monospace"];'):
            continue
        if NODE_LINE.match(line):
            declared.add(line.split()[0])
            continue
        assert EDGE_LINE.match(line), f"not a DOT node or edge line: {line!r}"
        src, _, dst = line.strip(" ;").split()
        assert src in declared and dst in declared  # edges only between declared nodes


def test_pprint_lines() -> None:
    y, _ = _design_graph()
    assert pprint_str([y]).splitlines() == [
        "%0 = placeholder('x') : float64[?, 3]",
        "%1 = variable('w') : float64[3]",
        "%2 = matmul(%0, %1) : float64[?]",
        "%3 = tanh(%2) : float64[?]",
        "%4 = constant(2.) : float64[]",
        "%5 = multiply(%3, %4) : float64[?]",
        "%6 = sum(%5, axes=(0,), keepdims=False) : float64[]",
        "return %6",
    ]


def test_pprint_prints_and_accepts_a_single_node(capsys: pytest.CaptureFixture[str]) -> None:
    x = gj.placeholder("x", shape=(2,))
    gj.pprint(gj.exp(x))
    out = capsys.readouterr().out
    assert out == "%0 = placeholder('x') : float64[2]\n%1 = exp(%0) : float64[2]\nreturn %1\n"


def test_pprint_of_several_outputs_shares_nodes() -> None:
    y, gw = _design_graph()
    text = pprint_str([y, gw])
    last = text.splitlines()[-1]
    assert re.fullmatch(r"return %\d+, %\d+", last)
    # each node is listed once: the gradient reuses the forward graph
    assert text.count("placeholder('x')") == 1
    assert len(text.splitlines()) == count_nodes([y, gw]) + 1


def test_pprint_shows_constant_values_briefly() -> None:
    x = gj.placeholder("x", shape=(100,))
    text = pprint_str([x + np.arange(100.0)])
    assert text.splitlines()[1] == "%1 = constant([ 0., 1., 2., ..., 97., 98., 99.]) : float64[100]"


def test_to_dot_is_well_formed() -> None:
    y, gw = _design_graph()
    text = to_dot([y, gw])
    assert_well_formed_dot(text)
    assert text.count("peripheries=2") == 2  # the two outputs are marked
    assert 'label="placeholder x\\nfloat64[?, 3]", shape=invhouse' in text
    assert 'label="variable w\\nfloat64[3]", shape=box' in text


def test_to_dot_escapes_user_names() -> None:
    evil = 'a "quoted"\nname\\ with } and ;'
    x = gj.placeholder(evil, shape=(2,))
    w = gj.variable(np.ones(2), name='w"];\nn0 -> n0; //')
    text = to_dot([gj.exp(x) * w], name='my "graph"\n')
    assert_well_formed_dot(text)  # every line is a node or an edge: no name broke out of a label
    assert '\\"quoted\\"\\nname\\\\ with' in text
    assert 'digraph "my \\"graph\\"\\n" {' in text


def test_viz_rejects_non_nodes() -> None:
    with pytest.raises(TypeError, match=r"outputs\[0\] is a ndarray"):
        to_dot([np.ones(2)])  # type: ignore[list-item]


def test_pprint_of_an_eager_tensor_shows_its_tape() -> None:
    t = gj.tensor([1.0, 2.0], requires_grad=True)
    y = (gj.exp(t) * 3.0).sum()
    text = pprint_str([y])
    assert "variable" in text and "exp(" in text and "sum(" in text
    assert text.splitlines()[-1].startswith("return ")
