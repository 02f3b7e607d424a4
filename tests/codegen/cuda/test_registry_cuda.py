"""Every op the CUDA backend lowers, against the reference interpreter on the same inputs: values
and gradients (float64 to 1e-12 relative, float32 to a few ulp of the interpreter's float32),
on tiny shapes so that numba's simulator runs them in CI. The ops it does not lower yet are an
explicit list: adding a lowering makes that test fail until the list shrinks."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj
from graphjit.ops import OPS
from tests.codegen.cases import CASES, UNARY
from tests.codegen.test_registry_cpu import _graph

pytestmark = pytest.mark.cuda

# documented in the README's CUDA section; graphs containing these raise NotImplementedError
UNCOVERED: list[str] = []
# whole graphs (values and gradients): float32 rounding differs from numpy's order of operations
# through the chain rule, so float32 is held to the CPU backend's tolerance; single ops are held
# to a few ulp below
TOL = {"float64": dict(rtol=1e-12, atol=1e-12), "float32": dict(rtol=3e-3, atol=3e-3)}
ULP32 = float(np.finfo(np.float32).eps)


def _uses_uncovered(build) -> bool:  # type: ignore[no-untyped-def]
    inputs, outputs, _ = _graph(build, "float64", order=1)
    f = gj.compile(inputs, outputs, backend="numpy")
    return any(n.op.name in UNCOVERED for n in gj.ir.toposort(list(f.graph)))


def test_uncovered_ops_are_the_documented_list() -> None:
    from graphjit.codegen.cuda import NOT_LOWERED, missing_lowerings

    assert sorted(missing_lowerings()) == sorted(UNCOVERED)
    assert sorted(NOT_LOWERED) == sorted(UNCOVERED)


_PARAMS = sorted(
    dict.fromkeys(
        (fn.__name__, fn) for op, fns in CASES.items() if op not in UNCOVERED for fn in fns
    ),
    key=lambda p: p[0],
)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("build", [fn for _, fn in _PARAMS], ids=[n for n, _ in _PARAMS])
def test_cuda_matches_interpreter(build, dtype: str) -> None:
    if _uses_uncovered(build):
        pytest.skip("the case's graph (or its gradient) uses an op without a CUDA lowering")
    inputs, outputs, feeds = _graph(build, dtype, order=1)
    want = gj.compile(inputs, outputs, backend="numpy")(*feeds)
    got = gj.compile(inputs, outputs, backend="cuda")(*feeds)
    for i, (g, w) in enumerate(zip(got, want)):
        assert isinstance(g, np.ndarray), "numpy in, numpy out"
        assert g.dtype == w.dtype, f"output {i}: dtype {g.dtype} != {w.dtype}"
        assert g.shape == w.shape, f"output {i}: shape {g.shape} != {w.shape}"
        np.testing.assert_allclose(g, w, **TOL[dtype], err_msg=f"output {i}")


def test_an_op_without_a_lowering_is_named_at_compile_time(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from graphjit.codegen.cuda import lowerings

    monkeypatch.delitem(lowerings.LOWERINGS, OPS["softmax"])
    x = gj.placeholder("x", (None, 3))
    with pytest.raises(NotImplementedError, match="'softmax'"):
        gj.compile([x], gj.softmax(x), backend="cuda")


def test_every_covered_op_is_tested() -> None:
    covered = set(OPS) - {"placeholder", "variable", "constant"} - set(UNCOVERED)
    assert covered <= set(CASES)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_float32_unary_ops_are_within_a_few_ulp(name: str) -> None:
    lo, hi = UNARY[name]
    x = gj.placeholder("x", (None,), "float32")
    data = np.linspace(lo, hi, 37, dtype=np.float32)
    got = gj.compile([x], getattr(gj, name)(x), backend="cuda")(data)
    want = gj.compile([x], getattr(gj, name)(x), backend="numpy")(data)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=4 * ULP32, atol=4 * ULP32)
