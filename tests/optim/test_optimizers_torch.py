"""AdamW, RMSprop and Adagrad against PyTorch's, eager and compiled steps against each other
(float64, 1e-12); clip_grad_norm_ against PyTorch's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import graphjit as gj
from graphjit import nn, optim

torch = pytest.importorskip("torch", reason="torch is not installed: no reference to compare with")

CONFIGS: list[tuple[str, dict[str, Any]]] = [
    ("AdamW", {"lr": 0.05}),
    ("AdamW", {"lr": 0.02, "betas": (0.8, 0.95), "eps": 1e-6, "weight_decay": 0.3}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "weight_decay": 0.1, "momentum": 0.5}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.9}),
    ("Adagrad", {"lr": 0.1}),
    (
        "Adagrad",
        {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.1, "initial_accumulator_value": 0.2},
    ),
]
IDS = [f"{n}{k}" for n, k in CONFIGS]
STEPS = 6


def _problem() -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(3)
    init = [rng.normal(size=(3, 2)), rng.normal(size=(4,))]
    return init, [rng.uniform(0.5, 2.0, size=p.shape) for p in init]


def _torch_params(name: str, kwargs: dict[str, Any]) -> list[np.ndarray]:
    init, a = _problem()
    ps = [torch.tensor(p, requires_grad=True) for p in init]
    opt = getattr(torch.optim, name)(ps, **kwargs)
    for _ in range(STEPS):
        opt.zero_grad()
        loss = sum((torch.tensor(ai) * p * p).sum() * 0.5 + p.sum() for ai, p in zip(a, ps))
        loss.backward()
        opt.step()
    return [p.detach().numpy() for p in ps]


def _eager_params(name: str, kwargs: dict[str, Any]) -> list[np.ndarray]:
    init, a = _problem()
    ps = [gj.tensor(p, requires_grad=True) for p in init]
    opt = getattr(optim, name)(ps, **kwargs)
    for _ in range(STEPS):
        opt.zero_grad()
        loss = sum(
            ((gj.tensor(ai) * p * p).sum() * 0.5 + p.sum() for ai, p in zip(a, ps)),
            start=gj.tensor(0.0),
        )
        loss.backward()
        opt.step()
    return [p.numpy() for p in ps]


def _compiled_params(name: str, kwargs: dict[str, Any]) -> list[np.ndarray]:
    init, a = _problem()
    ps = [gj.tensor(p, requires_grad=True) for p in init]
    return _compiled_params_with(getattr(optim, name)(ps, **kwargs), ps, a, lambda opt: None)


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=IDS)
def test_eager_steps_match_torch_and_compiled_steps_match_eager(
    name: str, kwargs: dict[str, Any]
) -> None:
    want = _torch_params(name, kwargs)
    eager = _eager_params(name, kwargs)
    compiled = _compiled_params(name, kwargs)
    init, _ = _problem()
    for w, e, c, p0 in zip(want, eager, compiled, init):
        np.testing.assert_allclose(e, w, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(c, e, rtol=1e-12, atol=1e-14)
        assert not np.allclose(e, p0, atol=1e-3)


SCHEDULERS: list[tuple[str, dict[str, Any]]] = [
    ("StepLR", {"step_size": 3, "gamma": 0.5}),
    ("ExponentialLR", {"gamma": 0.8}),
    ("CosineAnnealingLR", {"T_max": 5, "eta_min": 0.01}),
    ("LambdaLR", {"lr_lambda": lambda epoch: 1.0 / (epoch + 1)}),
    ("MultiStepLR", {"milestones": [5, 2, 5, 9], "gamma": 0.5}),
]


@pytest.mark.parametrize(("name", "kwargs"), SCHEDULERS, ids=[s[0] for s in SCHEDULERS])
def test_schedulers_give_torchs_rates(name: str, kwargs: dict[str, Any]) -> None:
    p = gj.tensor(np.zeros(2), requires_grad=True)
    ours = getattr(optim.lr_scheduler, name)(optim.SGD([p], lr=0.1), **kwargs)
    tp = torch.zeros(2, requires_grad=True)
    theirs = getattr(torch.optim.lr_scheduler, name)(torch.optim.SGD([tp], lr=0.1), **kwargs)
    for _ in range(12):
        np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-12)
        ours.step()
        theirs.optimizer.step()
        theirs.step()


def test_compiled_steps_follow_the_scheduler() -> None:
    def schedule(opt: optim.Optimizer) -> None:
        scheduler.step()

    init, a = _problem()
    ps = [gj.tensor(p, requires_grad=True) for p in init]
    opt = optim.SGD(ps, lr=0.1)
    # eager reference: SGD on the quadratic with the rate halved after every step
    ref = [p.copy() for p in init]
    lr = 0.1
    for _ in range(STEPS):
        ref = [p - lr * (ai * p + 1.0) for p, ai in zip(ref, a)]
        lr *= 0.5
    scheduler = optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
    got = _compiled_params_with(opt, ps, a, schedule)
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, rtol=1e-12)


def _compiled_params_with(
    opt: optim.Optimizer, ps: list[Any], a: list[np.ndarray], each_step: Callable[[Any], None]
) -> list[np.ndarray]:
    phs = [gj.placeholder(f"a{i}", shape=ai.shape) for i, ai in enumerate(a)]
    variables = [nn.operand(p, ph) for p, ph in zip(ps, phs)]
    loss = sum(
        (gj.sum(ph * v * v) * 0.5 + gj.sum(v) for ph, v in zip(phs, variables)),
        start=gj.constant(0.0),
    )
    step = gj.compile(phs, [loss], updates=opt.updates(loss), backend="numpy")
    for _ in range(STEPS):
        step(*a)
        each_step(opt)
    return [p.numpy() for p in ps]


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(norm_type: float, max_norm: float) -> None:
    rng = np.random.default_rng(0)
    grads = [rng.normal(size=(3, 2)), rng.normal(size=4)]
    ours = [gj.tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for o, t, g in zip(ours, theirs, grads):
        o.grad = gj.tensor(g)
        t.grad = torch.tensor(g)
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
    want = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    np.testing.assert_allclose(total.numpy(), want.numpy(), rtol=1e-12)
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-12)


PLATEAU_METRICS = [5, 4, 4, 4, 4, 3, 3.9999, 3.99999, 10, 10, 10, 10, 2, 2, 2, 2, -1, -1, -1, -1]


@pytest.mark.parametrize("mode", ["min", "max"])
@pytest.mark.parametrize("threshold_mode", ["rel", "abs"])
@pytest.mark.parametrize(("patience", "cooldown"), [(0, 0), (1, 1), (2, 0)])
def test_reduce_lr_on_plateau_gives_torchs_rates(
    mode: str, threshold_mode: str, patience: int, cooldown: int
) -> None:
    kwargs = dict(
        mode=mode,
        factor=0.5,
        patience=patience,
        cooldown=cooldown,
        threshold=0.01,
        threshold_mode=threshold_mode,
        min_lr=0.004,
    )
    p = gj.tensor(np.zeros(2), requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    ours = optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
    tp = torch.zeros(2, requires_grad=True)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(torch.optim.SGD([tp], lr=0.1), **kwargs)
    sign = 1 if mode == "min" else -1
    for value in PLATEAU_METRICS:
        ours.step(gj.tensor(sign * value))  # a 0-d tensor, as a loss is
        theirs.step(sign * value)
        np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-12)
        assert ours.num_bad_epochs == theirs.num_bad_epochs
    assert opt.lr < 0.1
