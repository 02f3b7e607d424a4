"""gj.optim.lr_scheduler.OneCycleLR: PyTorch's formulas, momentum cycling, compiled steps."""

from __future__ import annotations

import math

import numpy as np
import pytest

import graphjit as gj
from graphjit.optim.lr_scheduler import OneCycleLR


def _params() -> list:
    return [gj.tensor(np.array([1.0, -2.0]), requires_grad=True)]


def reference(step: int, total: int, max_lr: float, pct: float, strategy: str) -> tuple:
    """PyTorch's two-phase 1cycle, written out: (lr, momentum) after ``step`` steps."""
    initial, momentum_hi, momentum_lo = max_lr / 25.0, 0.95, 0.85
    minimum = initial / 1e4
    up = pct * total - 1

    def anneal(a: float, b: float, t: float) -> float:
        if strategy == "cos":
            return b + (a - b) / 2 * (math.cos(math.pi * t) + 1)
        return a + (b - a) * t

    if step <= up:
        t = step / up
        return anneal(initial, max_lr, t), anneal(momentum_hi, momentum_lo, t)
    t = (step - up) / (total - 1 - up)
    return anneal(max_lr, minimum, t), anneal(momentum_lo, momentum_hi, t)


@pytest.mark.parametrize("strategy", ["cos", "linear"])
def test_rates_and_momenta_follow_the_formulas(strategy: str) -> None:
    opt = gj.optim.SGD(_params(), lr=0.1, momentum=0.9)
    sched = OneCycleLR(opt, max_lr=1.0, total_steps=20, anneal_strategy=strategy)
    for step in range(20):
        lr, momentum = reference(step, 20, 1.0, 0.3, strategy)
        assert opt.lr == pytest.approx(lr, rel=1e-12), step
        assert opt.momentum == pytest.approx(momentum, rel=1e-12), step
        if step == 19:  # the last step reaches the minimum rate
            assert opt.lr == pytest.approx(1.0 / 25 / 1e4, rel=1e-9)
        sched.step()


def test_schedule_end_points_and_errors() -> None:
    opt = gj.optim.Adam(_params(), lr=0.1)
    sched = OneCycleLR(opt, max_lr=0.5, epochs=2, steps_per_epoch=5)
    assert sched.total_steps == 10
    assert opt.lr == pytest.approx(0.5 / 25) and opt.beta1 == pytest.approx(0.95)
    for _ in range(2):
        sched.step()
    assert opt.lr == pytest.approx(0.5) and opt.beta1 == pytest.approx(0.85)  # step 2 = peak
    for _ in range(7):
        sched.step()
    assert opt.lr == pytest.approx(0.5 / 25 / 1e4) and opt.beta1 == pytest.approx(0.95)
    sched.step()  # step 10 = total_steps is allowed (PyTorch raises only beyond it)
    assert opt.lr == pytest.approx(0.5 / 25 / 1e4)  # and keeps the minimum
    with pytest.raises(ValueError, match="total_steps=10"):
        sched.step()
    with pytest.raises(ValueError, match="total_steps"):
        OneCycleLR(opt, max_lr=0.5)
    with pytest.raises(ValueError, match="cycle_momentum=False"):
        OneCycleLR(gj.optim.Adagrad(_params()), max_lr=0.5, total_steps=4)
    OneCycleLR(gj.optim.Adagrad(_params()), max_lr=0.5, total_steps=4, cycle_momentum=False)


def test_three_phases() -> None:
    opt = gj.optim.SGD(_params(), lr=0.1, momentum=0.9)
    sched = OneCycleLR(opt, max_lr=1.0, total_steps=21, three_phase=True, pct_start=0.25)
    initial, up = 1.0 / 25, 0.25 * 21 - 1  # phases end at steps up, 2 * up and 20

    def cos(a: float, b: float, t: float) -> float:
        return b + (a - b) / 2 * (math.cos(math.pi * t) + 1)

    for step in range(21):
        if step <= up:
            want = cos(initial, 1.0, step / up), cos(0.95, 0.85, step / up)
        elif step <= 2 * up:
            t = (step - up) / up
            want = cos(1.0, initial, t), cos(0.85, 0.95, t)
        else:
            want = cos(initial, initial / 1e4, (step - 2 * up) / (20 - 2 * up)), 0.95
        assert (opt.lr, opt.momentum) == pytest.approx(want, rel=1e-12), step
        sched.step()


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_compiled_steps_follow_the_cycled_momentum(kind: str) -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 3)), rng.normal(size=(16, 1))

    def setup():
        gj.manual_seed(0)
        model = gj.nn.Linear(3, 1)
        if kind == "sgd":
            opt = gj.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
        else:
            opt = gj.optim.Adam(model.parameters(), lr=0.1)
        return model, opt, OneCycleLR(opt, max_lr=0.2, total_steps=8)

    eager, opt_e, sched_e = setup()
    graph, opt_c, sched_c = setup()
    xs, ys = gj.placeholder("x", (None, 3)), gj.placeholder("y", (None, 1))
    loss = gj.nn.MSELoss()(graph(xs), ys)
    step = gj.compile([xs, ys], [loss], updates=opt_c.updates(loss), backend="numpy")
    for _ in range(8):
        step(x, y)
        sched_c.step()
        value = gj.nn.MSELoss()(eager(gj.tensor(x)), gj.tensor(y))
        opt_e.zero_grad()
        value.backward()
        opt_e.step()
        sched_e.step()
    for a, b in zip(eager.parameters(), graph.parameters()):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-12)


def test_matches_torch() -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed")
    p = torch.nn.Parameter(torch.zeros(2))
    ref_opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
    ref = torch.optim.lr_scheduler.OneCycleLR(ref_opt, max_lr=0.3, total_steps=17, three_phase=True)
    opt = gj.optim.SGD(_params(), lr=0.1, momentum=0.9)
    sched = OneCycleLR(opt, max_lr=0.3, total_steps=17, three_phase=True)
    for _ in range(16):  # step 17 (after the last batch) is extrapolated by PyTorch, not here
        assert opt.lr == pytest.approx(ref_opt.param_groups[0]["lr"], rel=1e-12)
        assert opt.momentum == pytest.approx(ref_opt.param_groups[0]["momentum"], rel=1e-12)
        ref_opt.step()
        ref.step()
        sched.step()
