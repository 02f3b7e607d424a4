"""Long graphs (codegen/numba_cpu/loops.py outlining, program.py's lazy parallel program): a long
fused loop body is split into scalar segment functions, equal segments are written once, and the
parallel program is compiled only by a call large enough to run it."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj
from graphjit.codegen.numba_cpu import generate
from graphjit.codegen.numba_cpu.loops import OUTLINE_MIN_VALUES, SEGMENT_VALUES
from graphjit.runtime import Program


def _chain(x: object, links: int) -> object:
    y = x
    for i in range(links):
        y = gj.sin(y) * 0.5 + float(i % 7) * 0.01
    return y


def test_a_long_chain_is_outlined_into_few_distinct_segments() -> None:
    x = gj.placeholder("x", (None,))
    links = 3 * SEGMENT_VALUES  # 9 segments of the same ops, literals differing
    source, _ = generate(Program((x,), (), (_chain(x, links),)), parallel=False)
    calls = [line for line in source.splitlines() if "= segment" in line]
    assert len(calls) == 3 * links // SEGMENT_VALUES
    # segments with the same ops share one function; the literals come as an array
    assert source.count("def segment") == 1
    assert "LITERALS" in source
    # the kernel's docstring and comments name the chain's ends, not its thousands of ops
    assert max(len(line) for line in source.splitlines()) < 1000
    assert f"... {3 * links - 16} more ..." in source


def test_segments_call_libm_and_short_loops_the_vectorised_functions() -> None:
    """A segment runs one element at a time, so its transcendental calls are libm's
    (graphjit.kernels.libm); a loop that is not outlined keeps the vectorisable ones."""
    x = gj.placeholder("x", (None,))
    long_chain = gj.log1p(gj.exp(_chain(x, SEGMENT_VALUES))) + gj.erf(x) * gj.tanh(x)
    source, _ = generate(Program((x,), (), (long_chain,)), parallel=False)
    segments = source[source.index("def segment") : source.index("@njit(**PROGRAM)")]
    for fn in ("sin", "exp", "log1p", "erf", "tanh"):
        assert f"libm.{fn}(" in segments
    assert " sin(" not in segments and "(sin(" not in segments
    short, _ = generate(Program((x,), (), (gj.sin(x) * gj.exp(x),)), parallel=False)
    assert "libm." not in short and "sin(x0[i0])" in short
    f = gj.compile([x], long_chain)
    ref = gj.compile([x], long_chain, backend="numpy")
    v = np.linspace(-3.0, 3.0, 101)
    np.testing.assert_allclose(f(v), ref(v), rtol=1e-13, atol=1e-15)


def test_segments_call_libm_power_and_short_loops_the_vectorised_one() -> None:
    """``x ** y`` in a segment is libm's pow; in a loop that is not outlined it is the
    vectorisable kernels.math.pow (through the scalar prelude's power)."""
    x = gj.placeholder("x", (None,))
    y = gj.placeholder("y", (None,))
    long_chain = gj.abs(_chain(x, SEGMENT_VALUES)) ** y + 1.0
    source, _ = generate(Program((x, y), (), (long_chain,)), parallel=False)
    segments = source[source.index("def segment") : source.index("@njit(**PROGRAM)")]
    assert "libm.power(" in segments
    short, _ = generate(Program((x, y), (), (gj.abs(x) ** y,)), parallel=False)
    assert "libm." not in short and "power(" in short
    f = gj.compile([x, y], long_chain)
    ref = gj.compile([x, y], long_chain, backend="numpy")
    v, w = np.linspace(-3.0, 3.0, 101), np.linspace(-4.0, 4.0, 101)
    np.testing.assert_allclose(f(v, w), ref(v, w), rtol=1e-13, atol=1e-15)


def test_a_short_chain_is_not_outlined() -> None:
    x = gj.placeholder("x", (None,))
    source, _ = generate(Program((x,), (), (_chain(x, OUTLINE_MIN_VALUES // 3),)), parallel=False)
    assert "def segment" not in source


def test_outlined_nests_match_the_interpreter() -> None:
    """Several outputs and a reduction read values from different segments; a 2-d space with a
    broadcast row and a 0-d variable reads inside the segments."""
    x = gj.placeholder("x", (None, 3))
    row = gj.placeholder("row", (3,))
    w = gj.variable(np.float64(0.25), name="w")
    y = x
    mids = []
    for i in range(120):
        y = gj.tanh(y * w + row) * 0.9 + float(i % 5) * 0.01
        if i in (10, 70):
            mids.append(y)
    outs = [y, *mids, gj.sum(y * mids[0], axis=1), gj.max(y + mids[1])]
    f = gj.compile([x, row], outs)
    assert "def segment" in f.source
    ref = gj.compile([x, row], outs, backend="numpy")
    rng = np.random.default_rng(0)
    args = (rng.standard_normal((7, 3)), rng.standard_normal(3))
    for got, want in zip(f(*args), ref(*args)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_float32_segments_stay_float32() -> None:
    x = gj.placeholder("x", (None,), "float32")
    y = _chain(x, OUTLINE_MIN_VALUES // 2)
    f = gj.compile([x], y)
    assert "def segment" in f.source
    v = np.linspace(-1, 1, 11, dtype=np.float32)
    got = f(v)
    assert got.dtype == np.float32
    want = gj.compile([x], y, backend="numpy")(v)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_the_parallel_program_compiles_only_when_a_call_needs_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GRAPHJIT_NUM_THREADS", "2")
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    x = gj.placeholder("x", (None,))
    y = gj.tanh(x) * 0.625 + gj.exp(-x) * 0.375  # a module no other test loads
    f = gj.compile([x], y)
    assert "def program_parallel" in f.source and "def parallel_pays" in f.source
    ex = f._executable
    small = np.linspace(-1, 1, 5)
    np.testing.assert_allclose(f(small), np.tanh(small) * 0.625 + np.exp(-small) * 0.375)
    assert len(ex._program.signatures) == 1 and not ex._parallel.signatures
    big = np.random.default_rng(0).standard_normal(300_000)
    np.testing.assert_allclose(f(big), np.tanh(big) * 0.625 + np.exp(-big) * 0.375, rtol=1e-13)
    assert len(ex._parallel.signatures) == 1
    with pytest.raises(ValueError, match="expected"):
        f(np.ones((2, 2)))  # bad shapes still raise the runtime's error


def test_parallel_outlined_chain_matches_serial(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAPHJIT_NUM_THREADS", "2")
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    x = gj.placeholder("x", (None,))
    y = _chain(x, OUTLINE_MIN_VALUES // 2)
    f = gj.compile([x], [y, gj.sum(y)])
    assert "prange" in f.source and "def segment" in f.source
    v = np.random.default_rng(2).standard_normal(250_000)
    got = f(v)
    want = gj.compile([x], [y, gj.sum(y)], backend="numpy")(v)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-9)
    assert len(f._executable._parallel.signatures) == 1


def test_repeated_nests_share_one_kernel_compiled_once() -> None:
    """An unrolled recurrence repeats the same loop nest at every step (matmuls split them):
    the program writes the nest into its first steps, and from the SHARE_FROM-th on it writes
    that kernel once, as a function of its own, and calls it at each step."""
    from graphjit.codegen.numba_cpu.writer import SHARE_FROM, canonical_code

    steps = 6
    h0 = gj.placeholder("h", (None, 4))
    xs = [gj.placeholder(f"x{t}", (None, 4)) for t in range(steps)]
    w = gj.variable(np.linspace(-0.5, 0.5, 16).reshape(4, 4), name="w")
    h = h0
    for x in xs:
        h = gj.tanh(h @ w + x) * 0.5 + 0.25
    f = gj.compile([h0, *xs], h)
    source = f.source
    shared = [line for line in source.splitlines() if line == "@njit(**SHARED)"]
    assert len(shared) == 1
    compiled = source.split("@njit(**SHARED)\ndef ", 1)[1].split("(", 1)[0]
    kernel = compiled.removesuffix("_compiled")
    # compiled as a function of its own and called by symbol, at every step
    assert f"\n{kernel} = extern.external({compiled})\n" in source
    # a call per step from the SHARE_FROM-th; the steps before have the nest written in
    assert source.count(f"{kernel}(") == steps - (SHARE_FROM - 1)
    program = source[source.index("@njit(**PROGRAM)") :]
    assert program.count("for i0 in range(") == SHARE_FROM - 1
    rng = np.random.default_rng(0)
    feeds = [rng.standard_normal((3, 4)) for _ in range(steps + 1)]
    want = gj.compile([h0, *xs], h, backend="numpy")(*feeds)
    np.testing.assert_allclose(f(*feeds), want, rtol=1e-14)
    # the same code up to names, docstring and comments; a different literal is another kernel
    a = "\n".join(
        [
            "def k3_add(n0, a0, out0):",
            '    """%3 add"""',
            "    t3 = a0[i0] + 1.0  # %3",
            "    out0[i0] = t3",
        ]
    )
    b = a.replace("3", "9")
    assert canonical_code(a) == canonical_code(b)
    assert canonical_code(a) != canonical_code(b.replace("1.0", "2.0"))
