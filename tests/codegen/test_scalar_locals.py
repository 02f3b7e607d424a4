"""0-d values in scalar locals (codegen.memory.scalar_values): a 0-d value a loop nest computes
and only loop nests read gets no array on the cpu backend; a nest assigns it (written into the
program) or returns it (a shared or parallel kernel), and the nests reading it take the scalar."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj
from graphjit.codegen.memory import SCALAR
from graphjit.codegen.numba_cpu import generate, lowerings, writer
from graphjit.codegen.numba_cpu import stages as stages_module
from graphjit.codegen.pipeline import Lowered, lower
from graphjit.codegen.schedule import Parallelism
from graphjit.runtime import Program


def _lowered(program: Program, scalar_locals: bool = True) -> Lowered:
    arrays = {x: f"x{i}" for i, x in enumerate(program.inputs)}
    arrays.update({v: f"w{i}" for i, v in enumerate(program.variables)})
    serial = Parallelism(enabled=False, min_size=0)
    return lower(
        program.results,
        arrays,
        tuple(program.variables),
        serial,
        lowerings.allocates_itself,
        scalar_locals=scalar_locals,
    )


def _scalars(lowered: Lowered) -> dict[str, str]:
    """op name -> local name, for the values held in scalar locals."""
    return {n.op.name: a.buffer for n, a in lowered.memory.allocations.items() if a.reuse == SCALAR}


def test_a_0d_value_only_nests_read_is_a_scalar_local() -> None:
    x = gj.placeholder("x", (None, 3))
    total = gj.sum(x * x)
    f = gj.compile([x], [x / gj.sqrt(total) - gj.max(x)])
    lowered = _lowered(f.program)
    assert set(_scalars(lowered)) == {"sum", "sqrt", "max"}
    assert lowered.memory.scalars and not lowered.memory.scalars & set(lowered.plan.results)
    assert "kops.empty((), " not in f.source  # no 0-d array anywhere
    v = np.random.default_rng(0).standard_normal((5, 3))
    (got,) = f(v)
    np.testing.assert_allclose(got, v / np.sqrt(np.sum(v * v)) - v.max(), rtol=1e-13)
    # a backend that does not ask for scalar locals (cuda) gets arrays
    assert not _lowered(f.program, scalar_locals=False).memory.scalars


def test_a_0d_value_a_view_an_op_or_the_caller_reads_keeps_its_array() -> None:
    x = gj.placeholder("x", (None, 3))
    s = gj.sum(x)  # read by a view: an array
    m = gj.max(x)  # a result: an array
    p = gj.prod(x[0])  # read by an op (matmul's operand): an array
    f = gj.compile([x], [gj.reshape(s, (1,)) + 1.0, m, gj.matmul(x, gj.broadcast_to(p, (3,)))])
    lowered = _lowered(f.program)
    assert not {"sum", "max"} & set(_scalars(lowered))
    v = np.random.default_rng(1).standard_normal((4, 3))
    got = f(v)
    np.testing.assert_allclose(got[0], [v.sum() + 1.0], rtol=1e-13)
    np.testing.assert_allclose(got[1], v.max())
    np.testing.assert_allclose(got[2], v @ np.full(3, np.prod(v[0])), rtol=1e-13)


def test_a_folded_products_scale_keeps_its_array() -> None:
    """``w - s * (a @ b)`` is one gemm accumulating into w, which reads s as an array."""
    x = gj.placeholder("x", (8, 3))
    g = gj.placeholder("g", (8, 4))
    lr = gj.variable(np.float64(0.1), name="lr")
    w = gj.variable(np.ones((3, 4)), name="w")
    scale = lr * 0.5
    f = gj.compile([x, g], [], updates={w: w - scale * (gj.transpose(x) @ g)})
    generated = generate(f.program, parallel=False).source
    assert "kops.matmul_update(" in generated
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((8, 3)), rng.standard_normal((8, 4))
    f(a, b)
    np.testing.assert_allclose(w.get_value(), np.ones((3, 4)) - 0.05 * (a.T @ b), rtol=1e-13)


def test_a_shared_nest_kernel_returns_its_scalars() -> None:
    """The same nest, a 0-d reduction reading the one before, at more than SHARE_FROM places:
    its kernel becomes a function of its own, which takes and returns the scalars."""
    x = gj.placeholder("x", (None, 3))
    ws = [gj.variable(np.arange(3.0) + k, name=f"w{k}") for k in range(writer.SHARE_FROM + 2)]
    total = gj.sum(x * ws[0])
    for w in ws[1:]:
        total = gj.sum(x * (w * total))
    f = gj.compile([x], [x * total])
    assert "_compiled(" in f.source and "return res0" in f.source
    v = np.random.default_rng(3).standard_normal((6, 3))
    want = np.sum(v * np.arange(3.0))
    for k in range(1, len(ws)):
        want = np.sum(v * ((np.arange(3.0) + k) * want))
    (got,) = f(v)
    np.testing.assert_allclose(got, v * want, rtol=1e-12)


def test_a_parallel_kernel_takes_a_scalar(monkeypatch: pytest.MonkeyPatch) -> None:
    """A prange loop reading a 0-d value computed before it (a full reduction, whose own loop
    stays serial: its outer axis is reduced)."""
    monkeypatch.setenv("GRAPHJIT_NUM_THREADS", "2")
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    x = gj.placeholder("x", (None,))
    f = gj.compile([x], [gj.exp(x / gj.sum(x * x)) * gj.tanh(x)])
    assert "prange" in f.source and "_parallel(" in f.source
    lowered = _lowered(f.program)
    assert set(_scalars(lowered)) == {"sum"}
    for n in (10, 300_000):  # the serial and the parallel program
        v = np.random.default_rng(n).standard_normal(n)
        (got,) = f(v)
        np.testing.assert_allclose(got, np.exp(v / np.sum(v * v)) * np.tanh(v), rtol=1e-12)


def test_scalars_cross_stage_boundaries_in_an_adam_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """An Adam step has 0-d values in numbers (each parameter's step count and bias
    corrections); cut into small stages, they travel between the stage functions."""
    monkeypatch.setattr(stages_module, "SPLIT_ABOVE", 30)
    monkeypatch.setattr(stages_module, "STAGE_LINES", 12)

    def build(backend: str) -> tuple[gj.CompiledFunction, list[gj.nn.Parameter]]:
        gj.manual_seed(0)
        model = gj.nn.Sequential(gj.nn.Linear(4, 5), gj.nn.Tanh(), gj.nn.Linear(5, 1))
        opt = gj.optim.Adam(model.parameters(), lr=1e-2)
        x = gj.placeholder("x", (None, 4))
        y = gj.placeholder("y", (None, 1))
        loss = gj.nn.MSELoss()(model(x), y)
        step = gj.compile([x, y], [loss], updates=opt.updates(loss), backend=backend)
        return step, list(model.parameters())

    step, params = build("cpu")
    assert "program_stage3" in step.source and "z0" in step.source
    want, want_params = build("numpy")
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((7, 4)), rng.standard_normal((7, 1))
    for _ in range(3):
        np.testing.assert_allclose(step(a, b)[0], want(a, b)[0], rtol=1e-12)
    for p, q in zip(params, want_params):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_0d_nest_calls_libm(dtype: str) -> None:
    """With one value to compute and no loop to vectorise, a 0-d nest calls libm's functions
    (kernels/libm.py) rather than inlining the vector versions (an Adam step has two pows per
    parameter); the values are numpy's."""
    t = gj.placeholder("t", (), dtype)
    x = gj.placeholder("x", (None,), dtype)
    bias = 1.0 - gj.power(gj.astype(0.9, dtype), t + 1.0)
    scale = gj.exp(gj.sin(t)) * gj.log1p(gj.tanh(t) + 2.0)
    f = gj.compile([t, x], [x / bias * scale])
    assert "libm.power(" in f.source and "libm.exp(" in f.source
    one = np.dtype(dtype).type
    for step in (0.0, 1.0, 7.0, 1000.0):
        v = np.linspace(-1, 1, 5, dtype=dtype)
        tt = one(step)
        want = (
            v
            / (one(1) - one(0.9) ** (tt + one(1)))
            * (np.exp(np.sin(tt)) * np.log1p(np.tanh(tt) + one(2)))
        )
        (got,) = f(np.array(tt), v)
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=2e-6 if dtype == "float32" else 1e-14)
