"""Bad input and misuse of gj.optim and gj.optim.lr_scheduler: a clear exception (where PyTorch
raises, graphjit raises too), no lost state after a refused operation, and PyTorch's parameter
values where PyTorch accepts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import graphjit as gj
from graphjit import optim
from graphjit.optim import lr_scheduler as sched

torch = pytest.importorskip("torch", reason="torch is not installed: no reference to compare with")

INIT = [np.array([[0.5, -1.0], [2.0, 0.3]]), np.array([1.5, -0.7, 0.2])]
WEIGHT = [np.array([[1.0, 2.0], [0.5, 1.5]]), np.array([0.7, 1.2, 2.0])]


def _ours() -> list[Any]:
    return [gj.tensor(p.copy(), requires_grad=True) for p in INIT]


def _theirs() -> list[Any]:
    return [torch.tensor(p.copy(), requires_grad=True) for p in INIT]


def _backward(ps: list[Any], which: tuple[int, ...] = (0, 1)) -> Any:
    """A quadratic loss of the parameters ``which`` (the others get no gradient), backward."""
    lib = gj if isinstance(ps[0], gj.Tensor) else torch
    loss = sum((lib.tensor(WEIGHT[i]) * ps[i] * ps[i]).sum() * 0.5 + ps[i].sum() for i in which)
    loss.backward()
    return loss


def _assert_params(ours: list[Any], theirs: list[Any]) -> None:
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.numpy(), t.detach().numpy(), rtol=1e-12, atol=1e-14)


# -- constructors: what PyTorch refuses, graphjit refuses with a clear message

BAD_HYPER: list[tuple[str, dict[str, Any], type[Exception], str]] = [
    ("SGD", {"lr": -0.1}, ValueError, "SGD: lr must be >= 0"),
    ("SGD", {"lr": "0.1"}, TypeError, "SGD: lr must be a number"),
    ("SGD", {"lr": 0.1, "momentum": -0.5}, ValueError, "SGD: momentum must be >= 0"),
    ("SGD", {"lr": 0.1, "weight_decay": -1.0}, ValueError, "SGD: weight_decay must be >= 0"),
    ("SGD", {"lr": 0.1, "nesterov": True}, ValueError, "SGD: nesterov momentum needs"),
    ("Adam", {"lr": float("nan")}, ValueError, "Adam: lr must be >= 0"),
    ("Adam", {"betas": (1.0, 0.999)}, ValueError, r"Adam: betas\[0\] must be in"),
    ("Adam", {"betas": (0.9, -0.1)}, ValueError, r"Adam: betas\[1\] must be in"),
    ("Adam", {"eps": -1e-8}, ValueError, "Adam: eps must be >= 0"),
    ("AdamW", {"betas": (0.9, 1.0)}, ValueError, r"AdamW: betas\[1\] must be in"),
    ("AdamW", {"weight_decay": -0.1}, ValueError, "AdamW: weight_decay must be >= 0"),
    ("RMSprop", {"alpha": -0.1}, ValueError, "RMSprop: alpha must be >= 0"),
    ("RMSprop", {"momentum": -1.0}, ValueError, "RMSprop: momentum must be >= 0"),
    ("RMSprop", {"eps": -1.0}, ValueError, "RMSprop: eps must be >= 0"),
    ("Adagrad", {"lr_decay": -1.0}, ValueError, "Adagrad: lr_decay must be >= 0"),
    ("Adagrad", {"initial_accumulator_value": -1.0}, ValueError, "initial_accumulator_value"),
]


@pytest.mark.parametrize(("name", "kwargs", "exc", "match"), BAD_HYPER)
def test_bad_hyper_parameters_are_refused_as_torch_refuses_them(
    name: str, kwargs: dict[str, Any], exc: type[Exception], match: str
) -> None:
    with pytest.raises((ValueError, TypeError)):
        getattr(torch.optim, name)(_theirs(), **kwargs)
    with pytest.raises(exc, match=match):
        getattr(optim, name)(_ours(), **kwargs)


BAD_PARAMS: list[tuple[str, Callable[[], Any], Callable[[], Any] | None, type[Exception], str]] = [
    ("a tensor", lambda: _ours()[1], lambda: _theirs()[1], TypeError, "iterable of tensors"),
    ("None", lambda: None, lambda: None, TypeError, "SGD: params must be an iterable"),
    ("empty", lambda: [], lambda: [], ValueError, "SGD: got an empty parameter list"),
    ("a float", lambda: [1.0], lambda: [1.0], TypeError, "SGD: parameter 0 must be a tensor"),
    ("a group", lambda: [{"params": _ours()}], None, TypeError, "groups are not supported"),
    ("twice", lambda: [_ours()[0]] * 2, None, ValueError, "same tensor as parameter 0"),
]


@pytest.mark.parametrize(
    ("params", "torch_params", "exc", "match"),
    [c[1:] for c in BAD_PARAMS],
    ids=[c[0] for c in BAD_PARAMS],
)
def test_bad_parameter_lists_are_refused(
    params: Callable[[], Any],
    torch_params: Callable[[], Any] | None,
    exc: type[Exception],
    match: str,
) -> None:
    if torch_params is not None:
        with pytest.raises((ValueError, TypeError)):
            torch.optim.SGD(torch_params(), lr=0.1)
    with pytest.raises(exc, match=match):
        optim.SGD(params(), lr=0.1)


def test_numpy_scalar_hyper_parameters_step_as_torchs() -> None:
    kwargs = {"lr": np.float32(0.125), "momentum": np.float64(0.5), "weight_decay": np.int64(0)}
    ours, theirs = _ours(), _theirs()
    opt, topt = optim.SGD(ours, **kwargs), torch.optim.SGD(theirs, **kwargs)
    for o, ps in ((opt, ours), (topt, theirs)):
        for _ in range(3):
            o.zero_grad()
            _backward(ps)
            o.step()
    _assert_params(ours, theirs)


# -- step: missing gradients, zeroed gradients, a closure, a gradient of the wrong shape

STEP_CONFIGS: list[tuple[str, dict[str, Any]]] = [
    ("SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1, "nesterov": True}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.05}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.1, "initial_accumulator_value": 0.3}),
]
STEP_IDS = [c[0] for c in STEP_CONFIGS]


@pytest.mark.parametrize(("name", "kwargs"), STEP_CONFIGS, ids=STEP_IDS)
@pytest.mark.parametrize("set_to_none", [True, False])
def test_parameters_without_or_with_zeroed_grads_step_as_torchs(
    name: str, kwargs: dict[str, Any], set_to_none: bool
) -> None:
    ours, theirs = _ours(), _theirs()
    opt, topt = getattr(optim, name)(ours, **kwargs), getattr(torch.optim, name)(theirs, **kwargs)
    for o, ps in ((opt, ours), (topt, theirs)):
        o.step()  # no gradients at all: nothing moves
        for k in range(4):
            o.zero_grad(set_to_none=set_to_none)
            _backward(ps, (0,) if k % 2 else (0, 1))  # parameter 1 has a gradient every other step
            o.step()
    _assert_params(ours, theirs)
    assert not np.allclose(ours[1].numpy(), INIT[1])


@pytest.mark.parametrize(("name", "kwargs"), STEP_CONFIGS, ids=STEP_IDS)
def test_step_with_a_closure_returns_its_loss_and_steps_as_torchs(
    name: str, kwargs: dict[str, Any]
) -> None:
    ours, theirs = _ours(), _theirs()
    opt, topt = getattr(optim, name)(ours, **kwargs), getattr(torch.optim, name)(theirs, **kwargs)
    for _ in range(3):

        def closure(o: Any = opt, ps: list[Any] = ours) -> Any:
            o.zero_grad()
            return _backward(ps)

        def torch_closure() -> Any:
            topt.zero_grad()
            return _backward(theirs)

        with gj.no_grad():  # as in PyTorch, the closure runs with gradients on
            loss = opt.step(closure)
        assert loss.item() == pytest.approx(topt.step(torch_closure).item(), rel=1e-12)
    _assert_params(ours, theirs)
    with pytest.raises(TypeError, match="closure must be callable"):
        opt.step(3)


def test_a_gradient_of_the_wrong_shape_is_refused_and_nothing_moves() -> None:
    with pytest.raises(RuntimeError):
        _theirs()[1].grad = torch.ones(1, dtype=torch.float64)
    ours = _ours()
    opt = optim.Adam(ours, lr=0.1)
    _backward(ours)
    opt.step()
    before = [p.numpy().copy() for p in ours], opt.state_dict()
    kept = ours[1].grad
    # refused where it is assigned, as PyTorch's (numpy would broadcast it over the parameter)
    with pytest.raises(RuntimeError, match=r"assigned grad has shape \(1,\), the tensor \(3,\)"):
        ours[1].grad = gj.tensor(np.ones(1))
    assert ours[1].grad is kept
    ours[1]._grad = gj.tensor(np.ones(1))  # set past the check: the step refuses it too
    with pytest.raises(RuntimeError, match=r"Adam.step: parameter 1 has shape \(3,\) but its"):
        opt.step()
    for p, b in zip(ours, before[0]):
        np.testing.assert_array_equal(p.numpy(), b)
    _assert_state_equal(opt.state_dict(), before[1])


# -- state_dict / load_state_dict


def _assert_state_equal(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


@pytest.mark.parametrize(("name", "kwargs"), STEP_CONFIGS, ids=STEP_IDS)
def test_load_state_dict_continues_a_run_as_torch_does(name: str, kwargs: dict[str, Any]) -> None:
    theirs = _theirs()
    topt = getattr(torch.optim, name)(theirs, **kwargs)
    ours = _ours()
    opt = getattr(optim, name)(ours, **kwargs)
    for o, ps in ((opt, ours), (topt, theirs)):
        for _ in range(3):
            o.zero_grad()
            _backward(ps)
            o.step()
    # a fresh optimiser over copies of the parameters takes over
    copies = [gj.tensor(p.numpy().copy(), requires_grad=True) for p in ours]
    resumed = getattr(optim, name)(copies, **kwargs)
    resumed.load_state_dict(opt.state_dict())
    _assert_state_equal(resumed.state_dict(), opt.state_dict())
    for o, ps in ((resumed, copies), (topt, theirs)):
        for _ in range(2):
            o.zero_grad()
            _backward(ps)
            o.step()
    _assert_params(copies, theirs)


def _adam_state() -> dict[str, Any]:
    ps = _ours()
    opt = optim.Adam(ps, lr=0.1)
    _backward(ps)
    opt.step()
    return opt.state_dict()


BAD_STATE: list[tuple[str, Callable[[dict[str, Any]], Any], type[Exception], str]] = [
    ("not a dict", lambda s: list(s.items()), TypeError, "expected a dict"),
    ("another class", lambda s: {"momentum0": s["exp_avg0"]}, KeyError, "unexpected key"),
    ("unknown key", lambda s: {**s, "bogus0": s["step0"]}, KeyError, "unexpected key 'bogus0'"),
    ("a third parameter", lambda s: {**s, "step2": s["step0"]}, KeyError, "has 2 parameters"),
    ("missing key", lambda s: {k: s[k] for k in s if k != "exp_avg_sq1"}, KeyError, "lacks"),
    ("wrong shape", lambda s: {**s, "exp_avg0": s["exp_avg1"]}, ValueError, r"\(3,\), expected"),
    ("wrong dtype", lambda s: {**s, "exp_avg1": s["exp_avg1"] * 1j}, TypeError, "real array"),
    ("strings", lambda s: {**s, "step0": "3"}, TypeError, "real array"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("corrupt", "exc", "match"), [c[1:] for c in BAD_STATE], ids=[c[0] for c in BAD_STATE]
)
def test_a_refused_load_leaves_the_optimiser_as_it_was(
    corrupt: Callable[[dict[str, Any]], Any], exc: type[Exception], match: str
) -> None:
    ps, twin_ps = _ours(), _ours()
    opt, twin = optim.Adam(ps, lr=0.1), optim.Adam(twin_ps, lr=0.1)
    for o, p in ((opt, ps), (twin, twin_ps)):
        _backward(p)
        o.step()
    # every buffer differs from the state offered, so a partial write would show
    offered = {k: v + 1.0 for k, v in _adam_state().items()}
    with pytest.raises(exc, match=f"Adam.load_state_dict: .*{match}"):
        opt.load_state_dict(corrupt(offered))
    _assert_state_equal(opt.state_dict(), twin.state_dict())
    for o, p in ((opt, ps), (twin, twin_ps)):
        o.zero_grad()
        _backward(p)
        o.step()
    for a, b in zip(ps, twin_ps):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_load_state_dict_casts_other_real_dtypes_and_resets_buffers_it_does_not_name() -> None:
    ps = _ours()
    opt = optim.Adagrad(ps, lr=0.1, initial_accumulator_value=0.5)
    _backward(ps)
    opt.step()
    state = opt.state_dict()
    opt.load_state_dict({"step0": np.float32(4), "sum0": state["sum0"].astype(np.float32)})
    got = opt.state_dict()
    assert got["step0"].dtype == np.float64 and got["step0"] == 4.0
    np.testing.assert_allclose(got["sum0"], state["sum0"], rtol=1e-6)
    assert got["step1"] == 0.0  # parameter 1 starts afresh, as after construction
    np.testing.assert_array_equal(got["sum1"], np.full(3, 0.5))


# -- the graph path, and eager and compiled steps continuing each other


def test_updates_refuses_a_non_scalar_or_eager_loss() -> None:
    ps = _ours()
    opt = optim.SGD(ps, lr=0.1)
    x = gj.placeholder("x", shape=(3,))
    with pytest.raises(ValueError, match="loss must be a scalar"):
        opt.updates(x * ps[1])
    with pytest.raises(TypeError, match="needs a graph loss"):
        opt.updates((ps[1] * 2.0).sum())


def _graph_loss(ps: list[Any], which: tuple[int, ...]) -> Any:
    return sum(gj.sum(gj.constant(WEIGHT[i]) * ps[i] * ps[i]) * 0.5 + gj.sum(ps[i]) for i in which)


@pytest.mark.parametrize(("name", "kwargs"), STEP_CONFIGS, ids=STEP_IDS)
def test_eager_and_compiled_steps_continue_each_other_after_refused_operations(
    name: str, kwargs: dict[str, Any]
) -> None:
    theirs = _theirs()
    topt = getattr(torch.optim, name)(theirs, **kwargs)
    for k in range(6):
        topt.zero_grad()
        _backward(theirs, (0,) if k in (2, 3) else (0, 1))
        topt.step()

    ours = _ours()
    opt = getattr(optim, name)(ours, **kwargs)
    # the loss reaches parameter 0 only; asking twice gives the same update
    first = opt.updates(_graph_loss(ours, (0,)))
    assert first.keys() == opt.updates(_graph_loss(ours, (0,))).keys()
    partial = gj.compile([], [], updates=first, backend="numpy")
    full = gj.compile([], [], updates=opt.updates(_graph_loss(ours, (0, 1))), backend="numpy")

    def eager() -> None:
        opt.zero_grad()
        _backward(ours)
        opt.step()

    eager()
    eager()
    with pytest.raises(ValueError):
        opt.lr = -1.0
    with pytest.raises(KeyError):
        opt.load_state_dict({"bogus0": np.zeros(())})
    partial()
    partial()
    with pytest.raises(ValueError):
        opt.load_state_dict({**opt.state_dict(), next(iter(opt.state_dict())): np.zeros(7)})
    full()
    eager()
    _assert_params(ours, theirs)


# -- learning-rate schedulers


def _sgd(lr: float = 0.1, momentum: float = 0.9) -> Any:
    return optim.SGD(_ours(), lr=lr, momentum=momentum)


def _tsgd(lr: float = 0.1, momentum: float = 0.9) -> Any:
    return torch.optim.SGD(_theirs(), lr=lr, momentum=momentum)


ONE_CYCLE = {"max_lr": 1.0, "total_steps": 10}
NO_STEPS_PER_EPOCH = {"max_lr": 1.0, "epochs": 2, "steps_per_epoch": 0}
BAD_SCHEDULERS: list[tuple[str, str, dict[str, Any], type[Exception], str, bool]] = [
    # (class, optimiser, kwargs, exception, message, whether PyTorch raises too)
    ("StepLR", "sgd", {"step_size": 0}, ValueError, "step_size must be positive", False),
    ("StepLR", "sgd", {"step_size": "2"}, TypeError, "step_size must be a number", False),
    ("StepLR", "sgd", {"step_size": 2, "gamma": None}, TypeError, "gamma must be a number", False),
    ("ExponentialLR", "sgd", {"gamma": "a"}, TypeError, "gamma must be a number", False),
    ("CosineAnnealingLR", "sgd", {"T_max": 0}, ValueError, "T_max must be positive", False),
    ("LambdaLR", "sgd", {"lr_lambda": 3}, TypeError, "lr_lambda must be callable", True),
    ("LambdaLR", "sgd", {"lr_lambda": [abs, abs]}, ValueError, "expected 1 lr_lambda", True),
    ("StepLR", "sgd", {"step_size": 2, "last_epoch": 5}, KeyError, "initial_lr", True),
    ("StepLR", "sgd", {"step_size": 2, "last_epoch": 1.5}, TypeError, "last_epoch must be", False),
    ("StepLR", "sgd", {"step_size": 2, "last_epoch": -3}, ValueError, "last_epoch must be", False),
    ("OneCycleLR", "sgd", {"max_lr": 1.0}, ValueError, "total_steps", True),
    ("OneCycleLR", "sgd", {**ONE_CYCLE, "pct_start": 0.1}, ValueError, "no length", True),
    ("OneCycleLR", "sgd", {**ONE_CYCLE, "pct_start": 1.5}, ValueError, "pct_start", True),
    ("OneCycleLR", "sgd", {**ONE_CYCLE, "div_factor": 0}, ValueError, "div_factor", True),
    ("OneCycleLR", "sgd", {**ONE_CYCLE, "total_steps": True}, ValueError, "total_steps", False),
    ("OneCycleLR", "sgd", NO_STEPS_PER_EPOCH, ValueError, "steps_per_epoch", True),
    ("OneCycleLR", "sgd", {**ONE_CYCLE, "anneal_strategy": "sin"}, ValueError, "anneal", True),
    ("OneCycleLR", "sgd", {**ONE_CYCLE, "max_lr": -1.0}, ValueError, "max_lr must be >= 0", False),
    ("OneCycleLR", "adam", {**ONE_CYCLE, "base_momentum": -0.1}, ValueError, "base_mom", False),
    ("OneCycleLR", "adagrad", ONE_CYCLE, ValueError, "cycle_momentum=False", True),
    ("MultiStepLR", "sgd", {"milestones": 3}, TypeError, "milestones must be a list", True),
    ("MultiStepLR", "sgd", {"milestones": [2, 1.5]}, TypeError, "milestones must be ints", False),
    ("MultiStepLR", "sgd", {"milestones": [2], "gamma": "x"}, TypeError, "gamma must be", False),
    ("ReduceLROnPlateau", "sgd", {"mode": "avg"}, ValueError, "mode must be", True),
    ("ReduceLROnPlateau", "sgd", {"factor": 1.0}, ValueError, "factor must be in", True),
    ("ReduceLROnPlateau", "sgd", {"threshold_mode": "x"}, ValueError, "threshold_mode", True),
    ("ReduceLROnPlateau", "sgd", {"patience": -1}, ValueError, "patience must be", False),
    ("ReduceLROnPlateau", "sgd", {"cooldown": 0.5}, ValueError, "cooldown must be", False),
    ("ReduceLROnPlateau", "sgd", {"min_lr": None}, TypeError, "min_lr must be", False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "kind", "kwargs", "exc", "match", "torch_raises"),
    BAD_SCHEDULERS,
    ids=[f"{c[0]}-{'-'.join(map(str, c[2]))}" for c in BAD_SCHEDULERS],
)
def test_bad_scheduler_arguments_are_refused_and_the_rate_is_kept(
    name: str,
    kind: str,
    kwargs: dict[str, Any],
    exc: type[Exception],
    match: str,
    torch_raises: bool,
) -> None:
    make = {"sgd": optim.SGD, "adam": optim.Adam, "adagrad": optim.Adagrad}[kind]
    if torch_raises:
        tmake = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adagrad": torch.optim.Adagrad}
        with pytest.raises(Exception):  # noqa: B017 - PyTorch's class varies
            getattr(torch.optim.lr_scheduler, name)(tmake[kind](_theirs(), lr=0.1), **kwargs)
    opt = make(_ours(), lr=0.1)
    with pytest.raises(exc, match=f"{name}: .*{match}"):
        getattr(sched, name)(opt, **kwargs)
    assert opt.lr == 0.1 and opt.initial_lr is None


def test_a_refused_scheduler_step_leaves_the_schedule_and_rates_as_they_were() -> None:
    opt = _sgd()
    one_cycle = sched.OneCycleLR(opt, max_lr=1.0, total_steps=3)
    for _ in range(3):
        one_cycle.step()
    lr, momentum = opt.lr, opt.momentum
    for _ in range(2):
        with pytest.raises(ValueError, match="more than total_steps=3"):
            one_cycle.step()
        assert (one_cycle.last_epoch, opt.lr, opt.momentum) == (3, lr, momentum)

    opt = _sgd()
    negative = sched.LambdaLR(opt, lambda epoch: 1.0 if epoch < 2 else -1.0)
    negative.step()
    with pytest.raises(ValueError, match="SGD: lr must be >= 0"):
        negative.step()
    assert (negative.last_epoch, opt.lr) == (1, 0.1)
    negative.lr_lambda = lambda epoch: 0.5**epoch  # fixed, the schedule carries on at epoch 2
    negative.step()
    assert opt.lr == pytest.approx(0.1 * 0.25, rel=1e-15)


def test_resuming_at_last_epoch_and_a_lambda_list_give_torchs_rates() -> None:
    opt, topt = _sgd(), _tsgd()
    signature = opt.step_signature()
    for o, lib in ((opt, sched), (topt, torch.optim.lr_scheduler)):
        first = lib.StepLR(o, step_size=2, gamma=0.5)
        for _ in range(3):
            first.step()
        second = lib.StepLR(o, step_size=2, gamma=0.5, last_epoch=3)  # resumes at epoch 4
        assert second.get_last_lr() == pytest.approx([0.025], rel=1e-12)
    # the recorded initial_lr is no hyper-parameter of a compiled step: nothing to recompile
    assert opt.initial_lr == 0.1 and opt.step_signature() == signature
    opt, topt = _sgd(), _tsgd()
    ours = sched.LambdaLR(opt, [lambda epoch: 0.9**epoch])
    theirs = torch.optim.lr_scheduler.LambdaLR(topt, [lambda epoch: 0.9**epoch])
    for _ in range(4):
        ours.step()
        topt.step()
        theirs.step()
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12)


SCHEDULES: list[tuple[str, dict[str, Any]]] = [
    ("StepLR", {"step_size": 2, "gamma": 0.5}),
    ("ExponentialLR", {"gamma": 0.8}),
    ("CosineAnnealingLR", {"T_max": 6, "eta_min": 0.01}),
    ("OneCycleLR", {"max_lr": 1.0, "epochs": 2, "steps_per_epoch": 5}),
]


@pytest.mark.parametrize(("name", "kwargs"), SCHEDULES, ids=[s[0] for s in SCHEDULES])
def test_scheduler_state_dict_round_trip_continues_as_torch(
    name: str, kwargs: dict[str, Any]
) -> None:
    opt, topt = _sgd(), _tsgd()
    ours = getattr(sched, name)(opt, **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    for _ in range(3):
        ours.step()
        topt.step()
        theirs.step()
    resumed = getattr(sched, name)(_sgd(), **kwargs)
    bad = {**ours.state_dict(), "bogus": 1}
    with pytest.raises(KeyError, match=f"{name}.load_state_dict: .*'bogus'"):
        resumed.load_state_dict(bad)
    assert resumed.last_epoch == 0
    resumed.load_state_dict(ours.state_dict())
    for _ in range(4):
        resumed.step()
        topt.step()
        theirs.step()
        assert resumed.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12)


def test_reduce_lr_on_plateau_refuses_a_metric_and_round_trips_its_state() -> None:
    opt, topt = _sgd(), _tsgd()
    ours = sched.ReduceLROnPlateau(opt, patience=1, factor=0.5)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, patience=1, factor=0.5)
    for bad in ("low", None, [1.0, 2.0]):
        with pytest.raises(TypeError, match=r"ReduceLROnPlateau\.step: metrics must be a number"):
            ours.step(bad)
    assert ours.last_epoch == 0 and opt.lr == 0.1
    for value in (3.0, 2.0, 2.0):
        ours.step(value)
        theirs.step(value)
    resumed = sched.ReduceLROnPlateau(_sgd(), patience=1, factor=0.5)
    with pytest.raises(KeyError, match=r"ReduceLROnPlateau\.load_state_dict: .*'bogus'"):
        resumed.load_state_dict({**ours.state_dict(), "bogus": 1})
    assert resumed.last_epoch == 0
    resumed.load_state_dict(ours.state_dict())
    resumed.optimizer.lr = opt.lr
    for value in (2.0, 2.0, 1.0, 1.0, 1.0):
        resumed.step(value)
        theirs.step(value)
        assert resumed.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12)
    assert resumed.get_last_lr()[0] < 0.1
