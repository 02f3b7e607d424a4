"""The whole op registry on the numba CPU backend against the reference interpreter: values,
gradients and second-order gradients, float64 (tight) and float32 (looser), on the same inputs."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj
from graphjit import ir
from graphjit.codegen.numba_cpu import missing_lowerings
from graphjit.ops import OPS
from tests.codegen.cases import CASES

LEAVES = {"placeholder", "variable", "constant"}
TOL = {"float64": dict(rtol=1e-9, atol=1e-9), "float32": dict(rtol=3e-3, atol=3e-3)}


def test_every_op_lowers() -> None:
    assert missing_lowerings() == []


def test_every_op_has_a_case() -> None:
    missing = sorted(set(OPS) - LEAVES - set(CASES))
    assert missing == [], f"ops without a backend test case: {missing}"


def _graph(build, dtype: str, order: int = 2):
    """The case's output, its gradients and (order 2) second-order gradients, as one graph."""
    inputs, out, feeds = build(dtype, np.random.default_rng(0))
    floats = [x for x in inputs if x.dtype == dtype]
    loss = gj.sum(out * gj.cos(out))
    grads = gj.grad(loss, floats)
    if order < 2:
        return inputs, [out, *grads], feeds
    flat = [gj.reshape(g * gj.sin(g), (-1,)) for g in grads]
    second = gj.grad(gj.sum(gj.concatenate(flat)), floats)
    return inputs, [out, *grads, *second], feeds


# in the cases' own order among equal names (a set's order differs between xdist workers, which
# would give one id different functions on each)
_PARAMS = sorted(
    dict.fromkeys((fn.__name__, fn) for fns in CASES.values() for fn in fns), key=lambda p: p[0]
)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("build", [fn for _, fn in _PARAMS], ids=[n for n, _ in _PARAMS])
def test_cpu_matches_interpreter(build, dtype: str) -> None:
    # float32 checks values and first-order gradients; float64 also second order (compile time)
    inputs, outputs, feeds = _graph(build, dtype, order=2 if dtype == "float64" else 1)
    want = gj.compile(inputs, outputs, backend="numpy")(*feeds)
    got = gj.compile(inputs, outputs, backend="cpu")(*feeds)
    for i, (g, w) in enumerate(zip(got, want)):
        assert g.dtype == w.dtype, f"output {i}: dtype {g.dtype} != {w.dtype}"
        assert g.shape == w.shape, f"output {i}: shape {g.shape} != {w.shape}"
        np.testing.assert_allclose(g, w, **TOL[dtype], err_msg=f"output {i}")


@pytest.mark.parametrize("op", sorted(set(CASES)))
def test_case_contains_its_op(op: str) -> None:
    """Each case really builds the op it claims to cover (before any rewrite)."""
    for build in CASES[op]:
        _, outputs, _ = _graph(build, "float64")
        if op in {n.op.name for n in ir.toposort(outputs)}:
            return
    pytest.fail(f"no case graph contains op {op!r}")
