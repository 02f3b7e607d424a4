"""Eager optimiser steps on parameters on the GPU: the update runs on the device (no parameter,
gradient or state value crosses to the host; only the 0-d hyper-parameters held in host arrays
are copied in), the state lives on the device, and N steps on cuda equal N steps on the CPU for
every optimiser. Tiny shapes: numba's simulator runs them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest

import graphjit as gj
from graphjit.cuda_compat import import_numba_cuda

pytestmark = pytest.mark.cuda

X = np.array([[0.5, -1.0], [1.5, 0.25], [-0.75, 2.0]])
Y = np.array([[1.0], [-0.5], [0.25]])

OPTIMISERS: dict[str, Callable[[Any], gj.optim.Optimizer]] = {
    "sgd": lambda ps: gj.optim.SGD(ps, lr=0.1),
    "sgd-nesterov": lambda ps: gj.optim.SGD(
        ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01
    ),
    "adam": lambda ps: gj.optim.Adam(ps, lr=0.05, weight_decay=0.1),
    "adamw": lambda ps: gj.optim.AdamW(ps, lr=0.05),
    "rmsprop": lambda ps: gj.optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
    "adagrad": lambda ps: gj.optim.Adagrad(
        ps, lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1
    ),
}


def _model() -> gj.nn.Module:
    gj.manual_seed(5)
    return gj.nn.Linear(2, 1)


def _loss(model: gj.nn.Module, dev: str) -> gj.Tensor:
    out = model(gj.tensor(X, device=dev))
    return ((out - gj.tensor(Y, device=dev)) ** 2).mean()


def _train(name: str, dev: str, steps: int) -> tuple[list[np.ndarray], gj.optim.Optimizer]:
    model = _model()
    opt = OPTIMISERS[name](model.parameters())  # made before the move, as PyTorch allows
    model.to(dev)
    for _ in range(steps):
        opt.zero_grad()
        _loss(model, dev).backward()
        opt.step()
    return [p.detach().cpu().numpy() for p in model.parameters()], opt


@pytest.mark.parametrize("name", sorted(OPTIMISERS))
def test_steps_on_cuda_equal_the_cpu(name: str) -> None:
    got, opt = _train(name, "cuda", 3)
    want, _ = _train(name, "cpu", 3)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-10)
    assert bool(opt._state) == (name != "sgd"), "state, but for plain SGD"
    assert all(s.on_device for s in opt._state.values()), "its state lives on the device"
    assert all(p.is_cuda for p in opt.params)


@contextmanager
def _counting_copies(like: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list]]:
    """Record the number of elements of every host -> device and device -> host copy of numba's
    device arrays (``like``'s class) while the block runs."""
    copies: dict[str, list] = {"to_device": [], "to_host": []}
    kind = type(like)
    cuda = import_numba_cuda()
    real_to_host, real_copy_in, real_to_device = (
        kind.copy_to_host,
        kind.copy_to_device,
        cuda.to_device,
    )

    def to_host(self: Any, *args: Any, **kwargs: Any) -> Any:
        copies["to_host"].append(int(self.size))
        return real_to_host(self, *args, **kwargs)

    def copy_in(self: Any, source: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(source, np.ndarray):  # device to device copies stay on the device
            copies["to_device"].append(int(source.size))
        return real_copy_in(self, source, *args, **kwargs)

    def to_device(source: Any, *args: Any, **kwargs: Any) -> Any:
        copies["to_device"].append(int(np.size(source)))
        return real_to_device(source, *args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(kind, "copy_to_host", to_host)
        m.setattr(kind, "copy_to_device", copy_in)
        m.setattr(cuda, "to_device", to_device)
        yield copies


@pytest.mark.parametrize(("name", "hyper"), [("adam", 2), ("sgd-nesterov", 2), ("rmsprop", 1)])
def test_a_step_copies_only_the_scalar_hyperparameters(
    name: str, hyper: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Adam reads lr and beta1 from host arrays, SGD lr and momentum, RMSprop lr: a 0-d copy
    each; nothing else moves between host and device."""
    model = _model().to("cuda")
    opt = OPTIMISERS[name](model.parameters())
    _loss(model, "cuda").backward()
    opt.step()  # compiles the step and makes the state
    before = [p.detach().cpu().numpy() for p in model.parameters()]
    arrays = [p._data for p in model.parameters()]
    with _counting_copies(arrays[0], monkeypatch) as copies:
        opt.step()
    assert copies["to_host"] == []
    assert copies["to_device"] == [1] * hyper
    assert all(p._data is a for p, a in zip(model.parameters(), arrays)), "updated in place"
    after = [p.detach().cpu().numpy() for p in model.parameters()]
    assert all(np.all(a != b) for a, b in zip(after, before)), "the step moved every parameter"
    assert len(opt._device_steps) == 1, "the second step ran the first one's program"


def test_state_follows_the_parameters_between_devices() -> None:
    """Steps on the CPU, then cuda, then the CPU again equal steps on the CPU only: the state
    made on one device moves with its parameter."""
    model, ref = _model(), _model()
    opt, ref_opt = gj.optim.Adam(model.parameters(), lr=0.05), gj.optim.Adam(ref.parameters())
    ref_opt.lr = 0.05
    for dev in ("cpu", "cuda", "cpu"):
        model.to(dev)
        for m, o, d in ((model, opt, dev), (ref, ref_opt, "cpu")):
            o.zero_grad()
            _loss(m, d).backward()
            o.step()
        on_device = {s.on_device for s in opt._state.values()}
        assert on_device == {dev == "cuda"}
    for p, q in zip(model.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-10)


@pytest.mark.parametrize("name", ["adam", "sgd-nesterov", "rmsprop"])
def test_a_state_dict_loads_into_an_optimiser_on_cuda(name: str) -> None:
    """State loaded into an optimiser of parameters on the GPU continues the run it came from,
    with its buffers on the device from the first step on."""
    model, twin = _model(), _model()
    model.to("cuda")
    opt = OPTIMISERS[name](model.parameters())
    for _ in range(2):
        opt.zero_grad()
        _loss(model, "cuda").backward()
        opt.step()
    twin.load_state_dict(model.state_dict())
    twin.to("cuda")
    twin_opt = OPTIMISERS[name](twin.parameters())
    twin_opt.load_state_dict(opt.state_dict())
    for m, o in ((model, opt), (twin, twin_opt)):
        o.zero_grad()
        _loss(m, "cuda").backward()
        o.step()
    assert {s.on_device for s in twin_opt._state.values()} == {True}
    twin_opt.load_state_dict(opt.state_dict())  # buffers already on the device stay there
    assert {s.on_device for s in twin_opt._state.values()} == {True}
    for m, o in ((model, opt), (twin, twin_opt)):
        o.zero_grad()
        _loss(m, "cuda").backward()
        o.step()
    for p, q in zip(model.parameters(), twin.parameters()):
        np.testing.assert_array_equal(p.detach().cpu().numpy(), q.detach().cpu().numpy())


def test_changing_a_baked_hyperparameter_compiles_a_new_step() -> None:
    """weight_decay is a constant of the step graph: a new value, a new program; the learning
    rate is read from its array on every call: a new value runs the same program."""
    model = _model().to("cuda")
    ref = _model()
    opt, ref_opt = gj.optim.SGD(model.parameters(), lr=0.1), gj.optim.SGD(ref.parameters(), lr=0.1)
    for weight_decay, lr in ((0.0, 0.1), (0.0, 0.02), (0.5, 0.02)):
        opt.weight_decay = ref_opt.weight_decay = weight_decay
        opt.lr = ref_opt.lr = lr
        for m, o, d in ((model, opt, "cuda"), (ref, ref_opt, "cpu")):
            o.zero_grad()
            _loss(m, d).backward()
            o.step()
    assert len(opt._device_steps) == 2
    for p, q in zip(model.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.detach().cpu().numpy(), q.detach().numpy(), rtol=1e-10)


def _model_with_gradients(dev: str) -> gj.nn.Module:
    model = _model().to(dev)
    _loss(model, dev).backward()
    return model


def test_zero_grad_keeping_the_tensors_zeroes_them_on_the_device(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = _model_with_gradients("cuda")
    opt = gj.optim.SGD(model.parameters(), lr=0.1)
    grads = [p.grad for p in model.parameters()]
    arrays = [g._data for g in grads]
    assert all(np.any(g.cpu().numpy() != 0) for g in grads)
    with _counting_copies(arrays[0], monkeypatch) as copies:
        opt.zero_grad(set_to_none=False)
    assert copies["to_host"] == [] and all(n <= 1 for n in copies["to_device"])
    for p, g, a in zip(model.parameters(), grads, arrays):
        assert p.grad is g and g._data is a and g.is_cuda, "zeroed in place"
        np.testing.assert_array_equal(g.cpu().numpy(), np.zeros(g.shape))
    opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def _clip(dev: str, max_norm: float, norm_type: float) -> tuple[gj.Tensor, list[gj.Tensor]]:
    model = _model_with_gradients(dev)
    grads = [p.grad for p in model.parameters()]
    total = gj.nn.utils.clip_grad_norm_(model.parameters(), max_norm, norm_type)
    assert all(p.grad is g for p, g in zip(model.parameters(), grads)), "scaled in place"
    return total, grads


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("max_norm", [0.05, 100.0])
def test_clip_grad_norm_on_cuda_equals_the_cpu(norm_type: float, max_norm: float) -> None:
    total_cpu, grads_cpu = _clip("cpu", max_norm, norm_type)
    total_cuda, grads_cuda = _clip("cuda", max_norm, norm_type)
    assert total_cuda.is_cuda and total_cuda.shape == () and total_cuda.dtype == "float64"
    assert not total_cpu.is_cuda and total_cpu.shape == () and total_cpu.dtype == "float64"
    np.testing.assert_allclose(total_cuda.cpu().numpy(), total_cpu.numpy(), rtol=1e-12)
    for g, w in zip(grads_cuda, grads_cpu):
        assert g.is_cuda
        np.testing.assert_allclose(g.cpu().numpy(), w.numpy(), rtol=1e-12)
    unclipped = [p.grad.numpy() for p in _model_with_gradients("cpu").parameters()]
    same = all(np.array_equal(g.numpy(), u) for g, u in zip(grads_cpu, unclipped))
    assert same == (max_norm > float(total_cpu.item())), "scaled exactly when over max_norm"


def test_clip_grad_norm_on_cuda_copies_no_gradient(monkeypatch: pytest.MonkeyPatch) -> None:
    model = _model_with_gradients("cuda")
    _clip("cuda", 0.05, 2.0)  # compiles its ops
    with _counting_copies(next(model.parameters()).grad._data, monkeypatch) as copies:
        gj.nn.utils.clip_grad_norm_(model.parameters(), 0.05)
    assert copies["to_host"] == [], "no gradient (nor the norm) was read back"
    assert all(n <= 1 for n in copies["to_device"]), "only 0-d numbers were copied in"


def test_clip_grad_norm_on_cuda_reads_only_the_norm_to_check_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = _model_with_gradients("cuda")
    grads = [p.grad for p in model.parameters()]
    with _counting_copies(grads[0]._data, monkeypatch) as copies:
        gj.nn.utils.clip_grad_norm_(model.parameters(), 0.1, error_if_nonfinite=True)
    assert copies["to_host"] == [1]
    with gj.no_grad():
        grads[0].mul_(float("nan"))
    with pytest.raises(RuntimeError, match="non-finite"):
        gj.nn.utils.clip_grad_norm_(model.parameters(), 0.1, error_if_nonfinite=True)


def test_clip_grad_norm_refuses_gradients_on_two_devices() -> None:
    a, b = gj.zeros(2, requires_grad=True), gj.zeros(2, device="cuda", requires_grad=True)
    a.grad, b.grad = gj.ones(2), gj.ones(2, device="cuda")
    with pytest.raises(RuntimeError, match="clip_grad_norm_: expected every gradient on one"):
        gj.nn.utils.clip_grad_norm_([a, b], 1.0)
