"""``CompiledFunction.repeat``: n calls in one run (a compiled loop on the cpu backend) against n
sequential calls, the stacked outputs of keep="all", bad counts, and the locks held throughout."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import graphjit as gj

BACKENDS = ["cpu", "numpy"]


def _sine_fit(backend: str) -> tuple[gj.CompiledFunction, list]:
    rng = np.random.default_rng(0)
    x = gj.placeholder("x", (None,))
    y = gj.placeholder("y", (None,))
    coef = [gj.variable(rng.standard_normal(), name=n) for n in "abcd"]
    a, b, c, d = coef
    loss = gj.sum((a + b * x + c * x**2 + d * x**3 - y) ** 2)
    grads = gj.grad(loss, coef)
    updates = {p: p - 1e-6 * g for p, g in zip(coef, grads)}
    return gj.compile([x, y], [loss, b * 1.0], updates=updates, backend=backend), coef


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("keep", ["last", "all"])
def test_repeat_is_n_sequential_calls(backend: str, keep: str) -> None:
    x = np.linspace(-np.pi, np.pi, 200)
    y = np.sin(x)
    f, coef = _sine_fit(backend)
    g, coef_g = _sine_fit(backend)
    got = f.repeat(7, x, y, keep=keep)
    calls = [g(x, y) for _ in range(7)]
    for p, q in zip(coef, coef_g):
        assert p.get_value() == q.get_value()  # exact: the same program, the same order
    if keep == "last":
        for o, w in zip(got, calls[-1]):
            np.testing.assert_array_equal(o, w)
    else:
        for j, o in enumerate(got):
            assert o.shape == (7,)
            np.testing.assert_array_equal(o, [c[j] for c in calls])


@pytest.mark.parametrize("backend", BACKENDS)
def test_repeat_updates_are_simultaneous_each_step(backend: str) -> None:
    """A swap, outputs that are the variables, an updated variable the graph does not read."""
    a = gj.variable(np.array([1.0, 2.0]), name="a")
    b = gj.variable(np.array([10.0, 20.0]), name="b")
    n = gj.variable(np.float64(0.0), name="n")
    x = gj.placeholder("x", (2,))
    f = gj.compile([x], [a, b + x], updates={a: b, b: a + x, n: gj.sum(x)}, backend=backend)
    outs = f.repeat(3, np.array([1.0, 1.0]), keep="all")
    np.testing.assert_array_equal(outs[0], [[1.0, 2.0], [10.0, 20.0], [2.0, 3.0]])
    np.testing.assert_array_equal(outs[1], [[11.0, 21.0], [3.0, 4.0], [12.0, 22.0]])
    np.testing.assert_array_equal(a.get_value(), [11.0, 21.0])
    np.testing.assert_array_equal(b.get_value(), [3.0, 4.0])
    assert n.get_value() == 2.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_repeat_without_updates_and_single_output(backend: str) -> None:
    x = gj.placeholder("x", (None, 2))
    f = gj.compile([x], gj.sum(gj.exp(x), axis=1), backend=backend)
    v = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(f.repeat(4, v), f(v))
    stacked = f.repeat(4, v, keep="all")
    assert stacked.shape == (4, 3)
    np.testing.assert_array_equal(stacked, np.stack([f(v)] * 4))
    np.testing.assert_array_equal(f.repeat(np.int64(1), v, keep="all"), f(v)[None])


@pytest.mark.parametrize("n", [0, -3])
def test_repeat_refuses_counts_below_one(n: int) -> None:
    x = gj.placeholder("x", (None,))
    f = gj.compile([x], x + 1.0)
    with pytest.raises(ValueError, match="at least 1"):
        f.repeat(n, np.ones(2))


@pytest.mark.parametrize("n", [2.0, True, "3", None])
def test_repeat_refuses_counts_that_are_not_ints(n: object) -> None:
    x = gj.placeholder("x", (None,))
    f = gj.compile([x], x + 1.0)
    with pytest.raises(TypeError, match="must be an int"):
        f.repeat(n, np.ones(2))  # type: ignore[arg-type]


def test_repeat_refuses_an_unknown_keep() -> None:
    x = gj.placeholder("x", (None,))
    f = gj.compile([x], x + 1.0)
    with pytest.raises(ValueError, match="keep"):
        f.repeat(2, np.ones(2), keep="first")


@pytest.mark.parametrize("backend", BACKENDS)
def test_repeat_holds_the_locks_for_the_whole_run(backend: str) -> None:
    """Repeats and plain calls of counters from threads: no increment is lost, and a reader
    between runs sees a multiple of the run length."""
    c = gj.variable(np.zeros(3), name="c")
    bump = gj.compile([], [], updates={c: c + 1.0}, backend=backend)
    read = gj.compile([], [c * 1.0], backend=backend)
    seen: list[float] = []

    def work() -> None:
        for _ in range(5):
            bump.repeat(20)
            seen.append(float(read()[0][0]))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_array_equal(c.get_value(), np.full(3, 300.0))
    assert all(v % 20 == 0 for v in seen), seen
