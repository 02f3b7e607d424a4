"""Dropout in compiled graphs: masks from the graph generator, a new mask per call."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj

nn = gj.nn
F = gj.nn.functional


def _step(p: float, backend: str, shape: tuple = (None, 50)) -> gj.runtime.CompiledFunction:
    x = gj.placeholder("x", shape)
    y = F.dropout(x, p)
    return gj.compile([x], [y], updates=nn.random_updates(y), backend=backend)


def test_masks_keep_one_minus_p_and_scale_the_kept() -> None:
    gj.manual_seed(0)
    f = _step(0.3, "cpu")
    out = f(np.ones((400, 50)))[0]
    kept = out != 0
    np.testing.assert_allclose(out[kept], 1 / 0.7, rtol=1e-15)
    n = out.size
    # a fixed seed gives exact numbers; the bound is 5 standard deviations of a fair draw
    assert abs(kept.mean() - 0.7) < 5 * np.sqrt(0.7 * 0.3 / n)
    # the scaled output has mean 1 and variance p / (1 - p)
    assert abs(out.mean() - 1.0) < 5 * np.sqrt(0.3 / 0.7 / n)
    assert abs(out.var() - 0.3 / 0.7) < 0.05
    # rows and columns are not repeated patterns
    assert np.mean(kept[0] == kept[1]) < 0.9 and np.mean(kept[:, 0] == kept[:, 1]) < 0.9


def test_each_call_draws_a_new_mask_and_the_seed_repeats_them() -> None:
    gj.manual_seed(3)
    f = _step(0.5, "cpu")
    a, b = f(np.ones((20, 50)))[0], f(np.ones((20, 50)))[0]
    assert 0.3 < np.mean((a != 0) != (b != 0)) < 0.7  # about half the entries differ
    gj.manual_seed(3)
    g = _step(0.5, "cpu")
    np.testing.assert_array_equal(g(np.ones((20, 50)))[0], a)
    np.testing.assert_array_equal(g(np.ones((20, 50)))[0], b)


def test_numpy_and_cpu_backends_draw_the_same_masks() -> None:
    x = np.random.default_rng(0).normal(size=(6, 50))
    gj.manual_seed(11)
    want = [_step(0.4, "numpy")(x)[0] for _ in range(1)]
    gj.manual_seed(11)
    got = [_step(0.4, "cpu")(x)[0] for _ in range(1)]
    np.testing.assert_array_equal(got[0], want[0])
    # a static shape uses a constant index instead of counting: the same masks
    gj.manual_seed(11)
    np.testing.assert_array_equal(_step(0.4, "cpu", (6, 50))(x)[0], want[0])


def test_two_dropouts_in_one_graph_draw_different_masks() -> None:
    gj.manual_seed(0)
    x = gj.placeholder("x", (None, 50))
    y1, y2 = F.dropout(x, 0.5), F.dropout(x, 0.5)
    f = gj.compile([x], [y1, y2], updates=nn.random_updates(y1, y2), backend="cpu")
    a, b = f(np.ones((10, 50)))
    assert 0.3 < np.mean((a != 0) != (b != 0)) < 0.7


def test_the_gradient_passes_through_the_mask() -> None:
    gj.manual_seed(5)
    x = gj.placeholder("x", (None, 8))
    w = gj.variable(np.linspace(-1, 1, 8), name="w")
    y = F.dropout(x * w, 0.25)
    (gw,) = gj.grad(gj.sum(y), [w])
    f = gj.compile([x], [y, gw], backend="cpu")  # no update: the same mask both times
    xv = np.random.default_rng(1).normal(size=(5, 8))
    yv, gv = f(xv)
    mask = (yv != 0) / 0.75
    np.testing.assert_allclose(yv, xv * w.get_value() * mask, rtol=1e-14)
    np.testing.assert_allclose(gv, (xv * mask).sum(0), rtol=1e-12)


def test_eval_mode_is_the_identity_and_draws_nothing() -> None:
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5)).eval()
    x = gj.placeholder("x", (None, 3))
    y = model(x)
    assert nn.random_updates(y) == {}
    assert all(n.op.name != "counter_uniform" for n in gj.ir.toposort([y]))
    xv = np.ones((2, 3))
    f = gj.compile([x], [y], backend="numpy")
    np.testing.assert_allclose(f(xv)[0], model(gj.tensor(xv)).numpy(), rtol=1e-15)


def test_a_compiled_training_step_with_dropout_advances_the_generator() -> None:
    gj.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 1))
    opt = gj.optim.SGD(model.parameters(), lr=0.1)
    xs, ys = gj.placeholder("x", (None, 4)), gj.placeholder("y", (None, 1))
    loss = nn.MSELoss()(model(xs), ys)
    updates = {**opt.updates(loss), **model.buffer_updates(loss)}
    counter = gj.ops.counter_rng.GRAPH_GENERATOR.counter_variable
    assert counter in updates
    step = gj.compile([xs, ys], [loss], updates=updates, backend="cpu")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 4)), rng.normal(size=(32, 1))
    before = int(counter.get_value())
    losses = [float(step(x, y)[0]) for _ in range(3)]
    assert int(counter.get_value()) == before + 3
    assert len(set(losses)) == 3


def test_sdpa_dropout_builds_on_graphs() -> None:
    gj.manual_seed(0)
    q = gj.placeholder("q", (2, 3, 4))
    out = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    assert nn.random_updates(out) != {}
    value = gj.compile([q], [out], backend="numpy")(np.ones((2, 3, 4)))[0]
    assert value.shape == (2, 3, 4) and np.isfinite(value).all()


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_p_zero_and_one_need_no_random_numbers(p: float) -> None:
    x = gj.placeholder("x", (None, 3))
    y = F.dropout(x, p)
    assert nn.random_updates(y) == {}
    out = gj.compile([x], [y], backend="numpy")(np.full((2, 3), 2.0))[0]
    np.testing.assert_array_equal(out, np.full((2, 3), 2.0 * (1 - p)))
