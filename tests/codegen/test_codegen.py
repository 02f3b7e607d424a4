"""Generated source (golden file, readability, safety), fusion decisions, call-time shape checks,
layouts, dtypes, variables and hypothesis random graphs against the interpreter."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graphjit as gj
from graphjit.codegen.numba_cpu import generate
from graphjit.codegen.partition import partition
from graphjit.runtime import Program

GOLDEN = Path(__file__).parent / "golden" / "small_graph.txt"


def _small_program() -> Program:
    x = gj.placeholder("x", (None, 3))
    b = gj.placeholder("bias", (3,))
    y = gj.relu(x * 2.0 + b)
    return Program((x, b), (), (y, gj.sum(gj.exp(y), axis=1)))


def test_golden_source() -> None:
    """The generated module of a small graph. When codegen changes on purpose, regenerate with
    GRAPHJIT_UPDATE_GOLDEN=1 and review the diff."""
    source, _ = generate(_small_program(), parallel=False)
    if os.environ.get("GRAPHJIT_UPDATE_GOLDEN"):
        GOLDEN.write_text(source)
    assert source == GOLDEN.read_text()


def test_fusion_of_a_chain_and_a_reduction() -> None:
    x = gj.placeholder("x", (None,))
    y = gj.tanh(1.3 * x + 0.2) * gj.exp(-x * x) + 0.5
    plan = partition([y, gj.sum(gj.square(x) + 1.0)])
    kinds = sorted(g.kind for g in plan.groups)
    assert kinds == ["elementwise", "reduction"]  # one loop nest each, nothing materialised
    (red,) = [g for g in plan.groups if g.kind == "reduction"]
    assert {m.op.name for m in red.members} == {"square", "add"}


def test_user_names_never_reach_code() -> None:
    evil = 'x"""\nimport os; os.system("echo pwned")\n#'
    x = gj.placeholder(evil, (None,))
    f = gj.compile([x], x + 1)
    for line in f.source.splitlines():
        if "os.system" in line:  # the name survives only inside a one-line comment
            assert line.lstrip().startswith("#"), line
    np.testing.assert_allclose(f(np.arange(2.0)), [1.0, 2.0])


def test_call_time_shape_mismatch_raises_naming_the_op() -> None:
    x = gj.placeholder("x", (None,))
    y = gj.placeholder("y", (None,))
    f = gj.compile([x, y], x * y)
    with pytest.raises(ValueError, match="multiply"):
        f(np.ones(3), np.ones(4))


def test_layouts_readonly_and_empty_inputs() -> None:
    x = gj.placeholder("x", (None, None))
    w = gj.placeholder("w", (None, 4))
    f = gj.compile([x, w], [gj.exp(x) @ w + 1.0, gj.sum(x, axis=0)])
    rng = np.random.default_rng(0)
    a = rng.standard_normal((6, 5))
    b = rng.standard_normal((5, 4))
    ro = a.copy()
    ro.flags.writeable = False
    for arr in (a, np.asfortranarray(a), rng.standard_normal((12, 10))[::2, ::2], ro):
        got = f(arr, b)
        np.testing.assert_allclose(got[0], np.exp(arr) @ b + 1.0, rtol=1e-12)
        np.testing.assert_allclose(got[1], arr.sum(0), rtol=1e-12)
    empty = f(np.ones((0, 5)), b)
    assert empty[0].shape == (0, 4) and empty[1].shape == (5,)


def test_float32_stays_float32_and_int_intermediates() -> None:
    x = gj.placeholder("x", (None,), "float32")
    i = gj.placeholder("i", (None,), "int32")
    y = gj.exp(x) * 2 + (i * i).astype("float32")
    f = gj.compile([x, i], [y, gj.sum(i), i + i])
    xs = np.linspace(-1, 1, 5, dtype=np.float32)
    big = np.array([2**30, 3, -4, 5, 6], dtype=np.int32)
    got = f(xs, big)
    want = gj.compile([x, i], [y, gj.sum(i), i + i], backend="numpy")(xs, big)
    assert [g.dtype for g in got] == [w.dtype for w in want] == ["float32", "int64", "int32"]
    np.testing.assert_allclose(got[0], want[0], rtol=1e-6)
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_array_equal(got[2], want[2])  # int32 overflow wraps as numpy


def test_nan_and_inf_propagate() -> None:
    x = gj.placeholder("x", (None,))
    f = gj.compile([x], [gj.max(x), gj.sum(x), gj.tanh(x), gj.exp(x), gj.maximum(x, 0.0)])
    v = np.array([1.0, np.nan, np.inf, -np.inf, 0.5])
    want = gj.compile(
        [x], [gj.max(x), gj.sum(x), gj.tanh(x), gj.exp(x), gj.maximum(x, 0.0)], backend="numpy"
    )(v)
    for g, w in zip(f(v), want):
        np.testing.assert_allclose(g, w, rtol=4e-16, atol=0)  # nan == nan, inf == inf


def test_variables_and_updates_in_place() -> None:
    w = gj.variable(np.array([1.0, 2.0]), name="w")
    x = gj.placeholder("x", (2,))
    before = w.storage.array
    f = gj.compile([x], [gj.sum(w * x)], updates={w: w - 0.5 * x})
    (out,) = f(np.array([1.0, 1.0]))
    assert out == 3.0
    np.testing.assert_allclose(w.get_value(), [0.5, 1.5])
    assert w.storage.array is before


@pytest.mark.parametrize("backend", ["cpu", "numpy"])
def test_updates_are_simultaneous_and_outputs_keep_the_old_values(backend: str) -> None:
    """Outputs that are the variables themselves, and a swap: every new value is computed from
    the old ones, and the returned arrays never change afterwards."""
    a = gj.variable(np.array([1.0, 2.0]), name="a")
    b = gj.variable(np.array([10.0, 20.0]), name="b")
    f = gj.compile([], [a, b, a + 0.0], updates={a: b, b: a}, backend=backend)
    out_a, out_b, out_sum = f()
    np.testing.assert_array_equal(a.get_value(), [10.0, 20.0])
    np.testing.assert_array_equal(b.get_value(), [1.0, 2.0])
    np.testing.assert_array_equal(out_a, [1.0, 2.0])
    np.testing.assert_array_equal(out_b, [10.0, 20.0])
    f()
    np.testing.assert_array_equal(out_a, [1.0, 2.0])  # still the first call's values
    np.testing.assert_array_equal(out_sum, [1.0, 2.0])
    np.testing.assert_array_equal(a.get_value(), [1.0, 2.0])


def test_results_that_are_constants_or_inputs() -> None:
    """A result that is a constant (the gradient of w*x + b with respect to b is 1) becomes a
    program argument like any other constant; a result that is an input comes back as a copy."""
    x, w, b = (gj.placeholder(n, ()) for n in "xwb")
    gw, gb = gj.grad(w * x + b, [w, b])
    f = gj.compile([x, w, b], [gw, gb, x, gj.constant(np.arange(3.0))], backend="cpu")
    arg = np.array(3.0)
    got = f(arg, 4.0, 5.0)
    assert [float(got[0]), float(got[1]), float(got[2])] == [3.0, 1.0, 3.0]
    np.testing.assert_array_equal(got[3], [0.0, 1.0, 2.0])
    assert not np.shares_memory(got[2], arg)


def test_one_program_serves_all_sizes() -> None:
    x = gj.placeholder("x", (None, 2))
    f = gj.compile([x], gj.sum(x * x, axis=1))
    for n in (1, 7, 300):
        np.testing.assert_allclose(f(np.ones((n, 2))), np.full(n, 2.0))
    assert len(f._executable._program.signatures) == 1


def test_parallel_variant_matches_serial(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAPHJIT_NUM_THREADS", "2")
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    x = gj.placeholder("x", (None,))
    f = gj.compile([x], gj.tanh(x) * 0.75 + gj.exp(-x) * 0.25)
    assert "prange" in f.source and "PARALLEL_MIN_SIZE" in f.source
    v = np.random.default_rng(0).standard_normal(300_000)
    np.testing.assert_allclose(f(v), np.tanh(v) * 0.75 + np.exp(-v) * 0.25, rtol=1e-13)


def test_a_power_by_a_small_integer_is_cheap_and_fuses_into_the_reductions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``x ** 3`` is products, not transcendental math: no parallel variant is wanted for it, so
    the values the sine fit's gradient sums are computed in the reductions' one pass (kept apart
    to keep a parallel loop, they took a second pass and four buffers: 3.4x slower)."""
    monkeypatch.setenv("GRAPHJIT_NUM_THREADS", "2")
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    x = gj.placeholder("x", (None,))
    c = gj.placeholder("c", (), "float64")
    r = c * x**3 + x**2 - gj.sin(c)
    outs = [gj.sum(r * r), gj.sum(r * x**3)]
    f = gj.compile([x, c], outs)
    assert f.source.count("for i0 in range(") == 1 and "program_parallel" not in f.source
    v = np.linspace(-2.0, 2.0, 300_001)
    rv = 0.5 * v**3 + v**2 - np.sin(0.5)
    want = [np.sum(rv * rv), np.sum(rv * v**3)]
    for got, expected in zip(f(v, 0.5), want):
        np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_parallel_variant_reads_0d_arrays_and_writes_several_outputs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A prange loop reading 0-d variables (the sine fit's coefficients) and storing two results."""
    monkeypatch.setenv("GRAPHJIT_NUM_THREADS", "2")
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    x = gj.placeholder("x", (None,))
    a, c = gj.variable(0.5, name="a"), gj.variable(np.float64(-1.5), name="c")
    y = a * gj.exp(x) + c
    f = gj.compile([x], [y, gj.tanh(y) * c])
    assert "prange" in f.source
    v = np.random.default_rng(1).standard_normal(300_000)
    want = 0.5 * np.exp(v) - 1.5
    got = f(v)
    np.testing.assert_allclose(got[0], want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got[1], np.tanh(want) * -1.5, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------------------------------
# hypothesis: random elementwise/reduction/broadcast graphs, cpu vs interpreter

UNARY = [gj.tanh, gj.exp, gj.sin, gj.abs, gj.negative, gj.sigmoid, gj.relu, gj.square]
BINARY = [gj.add, gj.subtract, gj.multiply, gj.maximum, gj.minimum]


@st.composite
def random_graph(draw: st.DrawFn) -> tuple[list, object]:
    x = gj.placeholder("x", (None, 3))
    b = gj.placeholder("b", (3,))
    pool = [x, b]
    for _ in range(draw(st.integers(2, 7))):
        kind = draw(st.sampled_from(["unary", "binary", "reduce"]))
        a = draw(st.sampled_from(pool))
        if kind == "unary":
            pool.append(draw(st.sampled_from(UNARY))(a) * 0.5)
        elif kind == "binary":
            pool.append(draw(st.sampled_from(BINARY))(a, draw(st.sampled_from(pool))))
        elif a.ndim == 2:
            fn = draw(st.sampled_from([gj.sum, gj.max, gj.mean]))
            pool.append(fn(a, axis=draw(st.sampled_from([0, 1])), keepdims=True))
    return [x, b], [gj.sum(pool[-1]), pool[-1]]


@settings(max_examples=12, deadline=None)
@given(random_graph(), st.integers(1, 5))
def test_random_graphs_match_interpreter(graph: tuple, n: int) -> None:
    inputs, outputs = graph
    rng = np.random.default_rng(n)
    feeds = [rng.standard_normal((n, 3)), rng.standard_normal(3)]
    want = gj.compile(inputs, outputs, backend="numpy")(*feeds)
    got = gj.compile(inputs, outputs, backend="cpu")(*feeds)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_small_constant_powers_compile_to_multiplications(dtype: str) -> None:
    """x**3 and friends skip libm's pow (a scalar call that blocks vectorising) and stay within
    2 ulp of numpy, special values included."""
    x = gj.placeholder("x", (None,), dtype)
    outs = [x**3, x**4, x**-1, gj.power(x, 2.0), x**2.5]
    f = gj.compile([x], outs)
    code = [ln for ln in f.source.splitlines() if not ln.lstrip().startswith("#")]
    calls = [ln for ln in code if " power(" in ln or "(power(" in ln]
    assert calls and all("2.5" in ln for ln in calls)  # only x**2.5 calls pow
    v = np.array([-3.5, -1.0, -0.0, 0.0, 1e-3, 0.7, 2.0, 1e30, np.inf, -np.inf, np.nan], dtype)
    with np.errstate(all="ignore"):
        want = [v**3, v**4, v**-1.0, v**2.0, v**2.5]
    eps = np.finfo(dtype).eps
    for g, w in zip(f(v), want):
        assert g.dtype == dtype
        np.testing.assert_allclose(g, w, rtol=4 * eps, atol=0)
        np.testing.assert_array_equal(np.signbit(g[~np.isnan(g)]), np.signbit(w[~np.isnan(w)]))


# --------------------------------------------------------------------------------------------------
# integer edge cases, as numpy (and the interpreter) answer them


def test_an_integer_to_a_negative_power_raises_as_numpy(backend: str) -> None:
    x = gj.placeholder("x", shape=(None,), dtype="int64")
    y = gj.placeholder("y", shape=(None,), dtype="int64")
    f = gj.compile([x, y], [x**y], backend=backend)
    np.testing.assert_array_equal(f(np.array([2, 3, 0]), np.array([3, 0, 2]))[0], [8, 1, 0])
    for base in (2, 0):  # the cpu backend gave 0, and int64's minimum for a zero base
        with pytest.raises(ValueError, match="negative integer powers"):
            f(np.array([base]), np.array([-1]))


def test_an_update_raising_on_a_negative_power_writes_nothing(backend: str) -> None:
    c = gj.variable(np.array([2, 3], dtype=np.int64), name="c")
    p = gj.placeholder("p", shape=(2,), dtype="int64")
    step = gj.compile([p], [], updates={c: c**p}, backend=backend)
    with pytest.raises(ValueError, match="negative integer powers"):
        step(np.array([2, -1]))  # the first element's new value must not be stored alone
    np.testing.assert_array_equal(c.get_value(), [2, 3])
    step(np.array([2, 1]))
    np.testing.assert_array_equal(c.get_value(), [4, 3])


def test_an_integer_power_by_a_constant_exponent_is_stored_in_place() -> None:
    c = gj.variable(np.array([2, -3], dtype=np.int64), name="c")
    step = gj.compile([], [], updates={c: c**2 + c**0}, backend="cpu")
    assert "IN_PLACE = (0,)" in step.source  # no negative exponent: it cannot raise
    step()
    np.testing.assert_array_equal(c.get_value(), [5, 10])


@pytest.mark.parametrize("dtype", ["int64", "int32"])
def test_the_smallest_integer_divided_by_minus_one_wraps_as_numpy(backend: str, dtype: str) -> None:
    a = gj.placeholder("a", shape=(None,), dtype=dtype)
    f = gj.compile([a], [a // -1, a % -1], backend=backend)
    values = np.array([np.iinfo(dtype).min, 5, -7, 0], dtype=dtype)
    quotient, remainder = f(values)
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(quotient, values // -1)
    np.testing.assert_array_equal(remainder, values % -1)
