"""gj.jit inside eager autograd: a compiled call is one tape op whose backward runs the compiled
vjp program; every value and gradient is checked against the same function run eagerly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import graphjit as gj

TOL = {"rtol": 1e-12, "atol": 1e-12}


def _leaves(*arrays: np.ndarray) -> list[gj.Tensor]:
    return [gj.tensor(a, requires_grad=True) for a in arrays]


def _compare(fn: Callable[..., Any], *arrays: np.ndarray, backend: str = "numpy") -> Any:
    """Run ``fn`` eagerly and jitted on fresh leaves; compare the value and the gradients of
    its first output (summed with weights, so every element's gradient counts)."""
    jitted = gj.jit(fn, backend=backend)
    results = []
    for f in (fn, jitted):
        xs = _leaves(*arrays)
        out = f(*xs)
        y = out[0] if isinstance(out, tuple) else out
        weights = gj.tensor(np.linspace(0.5, 1.5, y.numel()).reshape(y.shape))
        gj.sum(y * weights).backward()
        results.append((y, [x.grad for x in xs]))
    (y_e, g_e), (y_j, g_j) = results
    assert y_j.requires_grad and y_j.grad_fn is not None
    np.testing.assert_allclose(y_j.numpy(), y_e.numpy(), **TOL)
    for ge, gj_ in zip(g_e, g_j):
        assert ge is not None and gj_ is not None
        assert gj_.shape == ge.shape
        np.testing.assert_allclose(gj_.numpy(), ge.numpy(), **TOL)
    return jitted


def test_the_output_has_a_grad_fn_and_backward_gives_the_eager_gradient(backend: str) -> None:
    def f(a, b):  # type: ignore[no-untyped-def]
        return gj.sum(gj.tanh(a) * b)

    jitted = _compare(f, np.array([0.5, 1.0]), np.array([2.0, -3.0]), backend=backend)
    a = gj.tensor([0.5, 1.0], requires_grad=True)
    y = jitted(a, gj.tensor([2.0, -3.0]))  # only a requires grad: its own plan
    y.backward()
    np.testing.assert_allclose(a.grad.numpy(), (1 - np.tanh([0.5, 1.0]) ** 2) * [2.0, -3.0])
    plans = jitted.traces[0].grad_plans
    assert len(plans) == 2 and {k[0] for k in plans} == {(0, 1), (0,)}
    jitted(a, gj.tensor([1.0, 1.0])).backward()  # same signature and grads: no new programs
    assert len(plans) == 2 and jitted.trace_count == 1


def test_grad_fn_is_named_after_the_function() -> None:
    @gj.jit(backend="numpy")
    def energy(x):  # type: ignore[no-untyped-def]
        return gj.sum(x * x)

    y = energy(gj.tensor([1.0, 2.0], requires_grad=True))
    assert type(y.grad_fn).__name__ == "energyBackward"
    assert "grad_fn=<energyBackward>" in repr(y)
    z = gj.jit(lambda x: x * 2, backend="numpy")(gj.tensor([1.0], requires_grad=True))
    assert type(z.grad_fn).__name__ == "lambdaBackward"


def test_forward_values_the_gradient_reads_are_saved_not_recomputed() -> None:
    @gj.jit(backend="numpy")
    def f(a, b):  # type: ignore[no-untyped-def]
        return gj.sum(gj.tanh(a) * b)

    f(*_leaves(np.array([0.5, 1.0]), np.array([2.0, -3.0]))).backward()
    (plan,) = f.traces[0].grad_plans.values()
    assert plan is not None and plan.n_saved == 1  # tanh(a): read by both gradients
    assert "saved_" in plan.backward.source
    assert "tanh" not in plan.backward.source  # the backward program does not compute it again


def test_broadcasting_inputs_get_gradients_of_their_own_shape(backend: str) -> None:
    def f(x, b, s):  # type: ignore[no-untyped-def]
        return gj.exp(x * s) + b

    rng = np.random.default_rng(0)
    x, b, s = rng.standard_normal((4, 3)), rng.standard_normal((1, 3)), np.array(0.7)
    _compare(f, x, b, s, backend=backend)
    _compare(f, rng.standard_normal((6, 3)), b, s, backend=backend)  # another batch size


def test_multiple_outputs_one_backward_program_run() -> None:
    def f(a, b):  # type: ignore[no-untyped-def]
        return gj.sin(a) * b, gj.sum(a * a), gj.argmax(a), b + 0

    rng = np.random.default_rng(1)
    arrays = rng.standard_normal(3), rng.standard_normal(3)
    results = []
    for fn in (f, gj.jit(f, backend="numpy")):
        a, b = _leaves(*arrays)
        p, q, k, r = fn(a, b)
        assert k.dtype == "int64" and not k.requires_grad and k.grad_fn is None
        loss = gj.sum(p * p) + 3 * q + gj.sum(r * k)
        loss.backward()
        results.append((p, q, k, r, a.grad, b.grad))
    for want, got in zip(*results):
        np.testing.assert_allclose(got.numpy(), want.numpy(), **TOL)

    # only some outputs used: the others' cotangents are zero
    jf = gj.jit(f, backend="numpy")
    a, b = _leaves(*arrays)
    jf(a, b)[1].backward()
    np.testing.assert_allclose(a.grad.numpy(), 2 * arrays[0], **TOL)
    # b does not reach output 1; as for a PyTorch custom Function, the call's backward gives it
    # a zero gradient (eagerly it would stay None)
    assert b.grad is not None and not b.grad.numpy().any()


def test_an_int_output_alongside_a_float_one() -> None:
    def f(x):  # type: ignore[no-untyped-def]
        return gj.sum(x**3), gj.argmax(x), gj.sum(x > 0)

    x = gj.tensor([0.5, -2.0, 1.5], requires_grad=True)
    y, i, n = gj.jit(f, backend="numpy")(x)
    assert y.requires_grad and not i.requires_grad and not n.requires_grad
    assert i.item() == 2 and n.item() == 2
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * np.array([0.5, -2.0, 1.5]) ** 2, **TOL)


def test_outputs_that_do_not_depend_on_an_input_with_grad_do_not_require_grad() -> None:
    f = gj.jit(lambda a, b: (a * 2, b * 2), backend="numpy")
    a, b = gj.tensor([1.0], requires_grad=True), gj.tensor([1.0])
    da, db = f(a, b)
    assert da.requires_grad and not db.requires_grad and db.grad_fn is None


def test_module_parameters_inside_the_function_receive_grad(backend: str) -> None:
    gj.manual_seed(0)
    model = gj.nn.Sequential(gj.nn.Linear(3, 5), gj.nn.Tanh(), gj.nn.Linear(5, 1))
    x = gj.tensor(np.random.default_rng(2).standard_normal((8, 3)))
    y = gj.tensor(np.random.default_rng(3).standard_normal((8, 1)))

    def loss(x, y):  # type: ignore[no-untyped-def]
        return gj.nn.MSELoss()(model(x), y)

    eager = loss(x, y)
    eager.backward()
    want = [p.grad.numpy().copy() for p in model.parameters()]
    for p in model.parameters():
        p.grad = None
    compiled = gj.jit(loss, backend=backend)(x, y)  # no argument requires grad: the model does
    assert compiled.grad_fn is not None
    np.testing.assert_allclose(compiled.item(), eager.item(), **TOL)
    compiled.backward()
    for p, w in zip(model.parameters(), want):
        assert p.grad is not None
        np.testing.assert_allclose(p.grad.numpy(), w, **TOL)


def test_a_jitted_loss_trains_an_eager_model_on_the_eager_trajectory() -> None:
    rng = np.random.default_rng(4)
    x_data, y_data = rng.standard_normal((16, 2)), rng.standard_normal((16, 1))

    def run(jit: bool) -> tuple[list[float], list[np.ndarray]]:
        gj.manual_seed(1)
        model = gj.nn.Sequential(gj.nn.Linear(2, 8), gj.nn.Tanh(), gj.nn.Linear(8, 1))
        opt = gj.optim.Adam(model.parameters(), lr=0.05)

        def loss_fn(x, y):  # type: ignore[no-untyped-def]
            return gj.mean((model(x) - y) ** 2)

        loss_of = gj.jit(loss_fn, backend="numpy") if jit else loss_fn
        losses = []
        for _ in range(15):
            loss = loss_of(gj.tensor(x_data), gj.tensor(y_data))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        if jit:
            assert loss_of.trace_count == 1
        return losses, [p.numpy().copy() for p in model.parameters()]

    (eager_losses, eager_params), (jit_losses, jit_params) = run(False), run(True)
    assert jit_losses[-1] < jit_losses[0]
    np.testing.assert_allclose(jit_losses, eager_losses, **TOL)
    for p, q in zip(jit_params, eager_params):
        np.testing.assert_allclose(p, q, **TOL)


def test_gradients_flow_back_into_eager_ops_before_the_call() -> None:
    f = gj.jit(lambda h: gj.sum(gj.exp(h)), backend="numpy")
    w = gj.tensor([0.1, 0.2], requires_grad=True)
    f(w * 3).backward()
    np.testing.assert_allclose(w.grad.numpy(), 3 * np.exp(3 * np.array([0.1, 0.2])), **TOL)


def test_second_order_through_create_graph(backend: str) -> None:
    def f(a, b):  # type: ignore[no-untyped-def]
        return gj.sum(gj.sin(a) * b * b)

    rng = np.random.default_rng(5)
    arrays = rng.standard_normal(3), rng.standard_normal(3)
    results = []
    for fn in (f, gj.jit(f, backend=backend)):
        a, b = _leaves(*arrays)
        ga, gb = gj.grad(fn(a, b), [a, b], create_graph=True)
        assert ga.requires_grad and gb.requires_grad
        gj.sum(ga * ga + gb).backward()  # a mixed second derivative: not silently zero
        results.append((ga, gb, a.grad, b.grad))
    for want, got in zip(*results):
        np.testing.assert_allclose(got.numpy(), want.numpy(), **TOL)
    assert np.abs(results[1][3].numpy()).max() > 0


def test_no_grad_and_inputs_without_grad_record_nothing() -> None:
    f = gj.jit(lambda a: gj.sum(a * a), backend="numpy")
    a = gj.tensor([1.0, 2.0], requires_grad=True)
    with gj.no_grad():
        y = f(a)
    assert not y.requires_grad and y.grad_fn is None and y.item() == 5.0
    y = f(gj.tensor([1.0, 2.0]))
    assert not y.requires_grad and y.grad_fn is None
    assert not f.traces[0].grad_plans  # no gradient programs were built
    assert isinstance(f(np.array([1.0, 2.0])), np.ndarray)  # arrays in, arrays out, as before


def test_second_backward_and_in_place_changes_are_caught() -> None:
    f = gj.jit(lambda a, x: gj.sum(a * x), backend="numpy")
    a, x = gj.tensor([1.0, 2.0], requires_grad=True), gj.tensor([3.0, 4.0])
    y = f(a, x)
    y.backward()
    with pytest.raises(gj.TensorUsageError, match="second time"):
        y.backward()
    y = f(a, x)
    x.add_(1)  # the backward would read the old x
    with pytest.raises(gj.TensorUsageError, match="modified by an in-place"):
        y.backward()
    y = f(a, x)
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(a.grad.numpy(), [3.0 + 4.0 + 4.0, 4.0 + 5.0 + 5.0])


def test_a_result_that_requires_grad_cannot_enter_a_graph() -> None:
    f = gj.jit(lambda a: a * 2, backend="numpy")
    y = f(gj.tensor([1.0], requires_grad=True))
    with pytest.raises(TypeError, match="cannot enter a graph"):
        gj.placeholder("x", (1,)) * y
