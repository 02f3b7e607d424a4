"""The cpu backend's fast math: no reassociation in a program but its reductions' accumulations
(kernels/scalar.py: accumulate_add), so a sum still vectorises while nothing cancels terms that
numpy computes (``x - x`` of inf is nan; ``(a + b) - a`` rounds as numpy's)."""

from __future__ import annotations

import re

import llvmlite.binding as llvm
import numpy as np
import pytest

import graphjit as gj


def test_terms_that_cancel_in_exact_arithmetic_are_computed() -> None:
    """Found by the fuzzer (seed 1637, the gradient of ``std`` over one element: ``g - g`` of a
    nan): with ``reassoc``, LLVM folded ``t - t`` to 0 and ``(a + b) - a`` to b."""
    x = gj.placeholder("x", (None,))
    y = gj.placeholder("y", (None,))
    t = x * 2.0 + x
    outs = [t - t, (x + y) - x, (x * y) / y]
    f = gj.compile([x, y], outs)
    a = np.array([np.inf, -np.inf, np.nan, 1e20, 1.0, 0.0])
    b = np.array([1.0, 2.0, 3.0, 1.0, 1e-17, 0.0])
    with np.errstate(all="ignore"):
        want = gj.compile([x, y], outs, backend="numpy")(a, b)
    for got, expected in zip(f(a, b), want):
        np.testing.assert_array_equal(got, expected)
    std = gj.std(x, axis=-1)
    (g,) = gj.grad(gj.sum(std), [x])
    with np.errstate(all="ignore"):
        (want_g,) = gj.compile([x], [g], backend="numpy")(np.array([1.0]))
    assert np.isnan(want_g).all()
    np.testing.assert_array_equal(gj.compile([x], [g])(np.array([1.0]))[0], want_g)


@pytest.mark.parametrize("reduce", [gj.sum, gj.prod, gj.mean])
def test_a_fused_reduction_still_vectorises(reduce, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    features = llvm.get_host_cpu_features()
    if not (features.get("avx") or features.get("sse2") or features.get("neon")):
        pytest.skip("the host has no SIMD registers for float64")
    monkeypatch.setenv("GRAPHJIT_CACHE_DIR", str(tmp_path))  # compiled here, with its IR
    x = gj.placeholder("x", (None,))
    f = gj.compile([x], [reduce(x * 0.5 + 1.0)])
    v = np.linspace(-1.0, 1.0, 1001)
    (got,) = f(v)
    np.testing.assert_allclose(got, getattr(np, reduce.__name__)(v * 0.5 + 1.0), rtol=1e-13)
    program = f._executable._program
    ir = program.inspect_llvm(program.signatures[0])
    op = "fmul" if reduce is gj.prod else "fadd"
    assert re.search(rf"{op} reassoc (contract |nsz |arcp |afn )*<\d+ x double>", ir), (
        "the accumulation did not vectorise"
    )
    # every other float instruction is strict about association
    others = re.findall(r"= (fadd|fsub|fmul|fdiv) ([a-z ]*)<?", ir)
    assert all("reassoc" not in flags or name == op for name, flags in others)
