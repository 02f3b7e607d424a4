"""Multi-output fusion: loop groups over one iteration space share one kernel (schedule.merge_loops,
codegen/numba_cpu/loops.py). Checks which groups join, that the schedule stays a valid order, and
that the joined kernels compute what the interpreter does."""

from __future__ import annotations

import re

import numpy as np
import pytest

import graphjit as gj
from graphjit.codegen.numba_cpu import lowerings
from graphjit.codegen.pipeline import lower
from graphjit.codegen.schedule import Parallelism
from graphjit.runtime import Program

from .cases import CASES
from .test_registry_cpu import _graph


def _steps(inputs: list, outputs: list) -> list[list]:
    arrays = {x: f"x{i}" for i, x in enumerate(inputs)}
    serial = Parallelism(enabled=False, min_size=0)
    return lower(outputs, arrays, (), serial, lowerings.allocates_itself).steps


def _kernels(source: str) -> int:
    """The loop nests of a program (each written into it, or a kernel function it calls): one
    outermost loop each."""
    return len(re.findall(r"^ *for i0 in range\(", source, flags=re.MULTILINE))


def _check_both(inputs: list, outputs: list, feeds: list, kernels: int) -> None:
    f = gj.compile(inputs, outputs)
    assert _kernels(f.source) == kernels, f.source
    want = gj.compile(inputs, outputs, backend="numpy")(*feeds)
    for g, w in zip(f(*feeds), want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


def test_a_shared_value_and_its_readers_run_in_one_pass() -> None:
    """h is read by relu and by a reduction: one kernel stores h and relu(h) and sums."""
    x = gj.placeholder("x", (None, 4))
    b = gj.placeholder("b", (4,))
    g = gj.placeholder("g", (None, 4))
    h = x * 2.0 + b
    outs = [h, gj.relu(h), gj.sum(g * (h > 0), axis=0), gj.sum(h * h)]
    rng = np.random.default_rng(0)
    feeds = [rng.standard_normal((5, 4)), rng.standard_normal(4), rng.standard_normal((5, 4))]
    _check_both([x, b, g], outs, feeds, kernels=1)


def test_a_value_that_only_feeds_the_nest_is_not_stored() -> None:
    x = gj.placeholder("x", (None,))
    h = gj.exp(x) + 1.0
    outs = [gj.sum(h), gj.max(h), h * 3.0]
    f = gj.compile([x], outs)
    assert _kernels(f.source) == 1
    assert f.source.count("kops.empty((n0,)") == 1  # h * 3.0 only; h itself stays a temp
    want = np.exp(np.arange(3.0)) + 1.0
    s, m, y = f(np.arange(3.0))
    np.testing.assert_allclose([s, m], [want.sum(), want.max()])
    np.testing.assert_allclose(y, want * 3.0)


def test_a_reduction_result_is_not_read_in_its_own_pass() -> None:
    """x / sum(x) needs the whole sum first: two loops."""
    x = gj.placeholder("x", (None,))
    outs = [x / gj.sum(x * x)]
    _check_both([x], outs, [np.arange(1.0, 5.0)], kernels=2)


def test_independent_scalar_work_is_hoisted_before_the_nest() -> None:
    """2 * (y - t) / n reads 1/n, which does not depend on the nest: it moves before it."""
    y = gj.placeholder("y", (None, 3))
    t = gj.placeholder("t", (None, 3))
    d = y - t
    loss = gj.mean(d**2)
    (gy,) = gj.grad(loss, [y])
    feeds = [np.arange(6.0).reshape(2, 3), np.ones((2, 3))]
    f = gj.compile([y, t], [loss, gy])
    np.testing.assert_allclose(f(*feeds)[1], 2 * (feeds[0] - feeds[1]) / 6)
    nest = max(_steps(list(f.program.inputs), list(f.program.results)), key=len)
    assert {g.kind for g in nest} == {"elementwise", "reduction"}


def test_unrelated_unknown_sizes_do_not_share_a_loop() -> None:
    """x and y are both (None,) but nothing says their sizes agree."""
    x = gj.placeholder("x", (None,))
    y = gj.placeholder("y", (None,))
    f = gj.compile([x, y], [x + 1.0, y * 2.0])
    assert _kernels(f.source) == 2
    a, c = f(np.arange(3.0), np.arange(5.0))
    np.testing.assert_allclose(a, np.arange(3.0) + 1)
    np.testing.assert_allclose(c, np.arange(5.0) * 2)


def test_in_place_store_after_every_read_of_the_same_index() -> None:
    """A group of the pass may store into a dead input's buffer (here the matmul's): every read
    of that index comes first, so the other groups of the pass still see the old value."""
    x = gj.placeholder("x", (None, 3))
    w = gj.placeholder("w", (3, 3))
    h = x @ w
    outs = [gj.relu(h + 1.0), gj.sum(h, axis=1), h * h - h]
    f = gj.compile([x, w], outs)
    assert _kernels(f.source) == 1 and "reuses the dead input's buffer" in f.source
    rng = np.random.default_rng(1)
    feeds = [rng.standard_normal((4, 3)), rng.standard_normal((3, 3))]
    want = gj.compile([x, w], outs, backend="numpy")(*feeds)
    for g, v in zip(f(*feeds), want):
        np.testing.assert_allclose(g, v, rtol=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_schedule_is_a_valid_order(name: str) -> None:
    """For every registry case and its gradients: each step reads only values computed in earlier
    steps, or elementwise values of its own pass; never a reduction of its own pass."""
    for build in CASES[name]:
        inputs, outputs, _ = _graph(build, "float64", order=1)
        program = gj.compile(inputs, outputs, backend="numpy").program
        assert isinstance(program, Program)
        steps = _steps(program.inputs, program.results)
        done: set = set()
        for parts in steps:
            computed = {m for g in parts for m in g.members}
            for g in parts:
                for x in g.inputs():
                    if x.op.name in ("placeholder", "variable", "constant"):
                        continue
                    assert x in done or x in computed, (name, g.root, x)
            done |= {g.root for g in parts} | computed


def test_a_long_chain_of_reductions_feeding_elementwise_work() -> None:
    """Each step reads the previous step's reduction, so nothing after it can join its nest: the
    schedule keeps the chain's order (and the scheduler stays linear per nest)."""
    x = gj.placeholder("x", (None, 4))
    h = x
    for _ in range(60):
        h = gj.sum(h * 0.5, axis=1, keepdims=True) * 0.01 + h
    v = np.random.default_rng(5).standard_normal((3, 4))
    got = gj.compile([x], h)(v)
    want = gj.compile([x], h, backend="numpy")(v)
    np.testing.assert_allclose(got, want, rtol=1e-12)
