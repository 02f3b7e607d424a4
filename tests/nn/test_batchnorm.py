"""gj.nn.BatchNorm1d/2d and module buffers: running statistics eagerly and in compiled steps."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import graphjit as gj

nn = gj.nn


def reference_step(
    x: np.ndarray, mean: np.ndarray, var: np.ndarray, count: int, momentum: float | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """PyTorch's training-mode batch norm on numpy: (output, new mean, new var, new count)."""
    axes = (0, *range(2, x.ndim))
    n = int(np.prod([x.shape[a] for a in axes]))
    bmean, bvar = x.mean(axis=axes), x.var(axis=axes)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    y = (x - bmean.reshape(shape)) / np.sqrt(bvar.reshape(shape) + 1e-5)
    count += 1
    f = 1.0 / count if momentum is None else momentum
    return y, (1 - f) * mean + f * bmean, (1 - f) * var + f * bvar * n / (n - 1), count


# -- buffers


def test_buffers_are_named_saved_and_loaded_like_pytorch() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    assert [n for n, _ in model.named_buffers()] == [
        "1.running_mean",
        "1.running_var",
        "1.num_batches_tracked",
    ]
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"]
    state = model.state_dict()
    assert list(state) == [
        "0.weight",
        "0.bias",
        "1.weight",
        "1.bias",
        "1.running_mean",
        "1.running_var",
        "1.num_batches_tracked",
    ]
    assert state["1.num_batches_tracked"].dtype == np.int64
    state["1.running_mean"] = np.arange(4.0)
    state["1.num_batches_tracked"] = np.array(7)
    model.load_state_dict(state)
    np.testing.assert_array_equal(model[1].running_mean.numpy(), np.arange(4.0))
    assert int(model[1].num_batches_tracked.numpy()) == 7
    with pytest.raises(KeyError, match="running_var"):
        model.load_state_dict({k: v for k, v in state.items() if k != "1.running_var"})


def test_non_persistent_buffers_stay_out_of_the_state_dict() -> None:
    class Scaled(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("scale", gj.tensor([2.0]))
            self.register_buffer("cache", gj.tensor([0.0]), persistent=False)

        def forward(self, x: Any) -> Any:
            return x * self.scale

    m = Scaled()
    assert [n for n, _ in m.named_buffers()] == ["scale", "cache"]
    assert list(m.state_dict()) == ["scale"]
    m.scale = gj.tensor([3.0])  # assignment replaces the buffer, as in PyTorch
    np.testing.assert_array_equal(m.state_dict()["scale"], [3.0])
    assert list(m.parameters()) == []


def test_register_buffer_rejects_bad_buffers() -> None:
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="'b'"):
        m.register_buffer("b", np.zeros(2))
    with pytest.raises(ValueError, match="requires grad"):
        m.register_buffer("b", gj.zeros(2, requires_grad=True))
    with pytest.raises(KeyError, match="weight"):
        m.register_buffer("weight", gj.zeros(2))


# -- BatchNorm eagerly


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batch_norm_1d_training_updates_running_stats_as_pytorch(momentum: float | None) -> None:
    rng = np.random.default_rng(0)
    bn = nn.BatchNorm1d(3, momentum=momentum)
    mean, var, count = np.zeros(3), np.ones(3), 0
    for _ in range(3):
        x = rng.normal(2.0, 3.0, size=(6, 3))
        want, mean, var, count = reference_step(x, mean, var, count, momentum)
        np.testing.assert_allclose(bn(gj.tensor(x)).numpy(), want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(bn.running_mean.numpy(), mean, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(), var, rtol=1e-12)
    assert int(bn.num_batches_tracked.numpy()) == 3


def test_batch_norm_2d_eval_uses_running_stats_with_affine() -> None:
    rng = np.random.default_rng(1)
    bn = nn.BatchNorm2d(2)
    bn.load_state_dict(
        {
            "weight": np.array([2.0, 0.5]),
            "bias": np.array([1.0, -1.0]),
            "running_mean": np.array([0.5, -0.25]),
            "running_var": np.array([4.0, 0.25]),
            "num_batches_tracked": np.array(3),
        }
    )
    bn.eval()
    x = rng.normal(size=(2, 2, 3, 3))
    rm, rv = np.array([0.5, -0.25]), np.array([4.0, 0.25])
    s = (1, 2, 1, 1)
    want = (x - rm.reshape(s)) / np.sqrt(rv.reshape(s) + 1e-5) * np.array([2.0, 0.5]).reshape(
        s
    ) + np.array([1.0, -1.0]).reshape(s)
    np.testing.assert_allclose(bn(gj.tensor(x)).numpy(), want, rtol=1e-12)
    xs = gj.placeholder("x", shape=(None, 2, 3, 3))
    f = gj.compile([xs], [bn(xs)], backend="cpu")
    np.testing.assert_allclose(f(x)[0], want, rtol=1e-12)
    # the compiled evaluation reads the buffers' current values, not a copy taken when built
    bn.running_mean.numpy()[...] = 0.0
    rm[...] = 0.0
    want0 = (x - 0.0) / np.sqrt(rv.reshape(s) + 1e-5) * np.array([2.0, 0.5]).reshape(s) + np.array(
        [1.0, -1.0]
    ).reshape(s)
    np.testing.assert_allclose(f(x)[0], want0, rtol=1e-12)
    assert int(bn.num_batches_tracked.numpy()) == 3


def test_batch_norm_without_running_stats_always_uses_the_batch() -> None:
    bn = nn.BatchNorm1d(2, track_running_stats=False, affine=False).eval()
    assert list(bn.state_dict()) == [] and list(bn.buffers()) == []
    x = np.random.default_rng(2).normal(size=(5, 2))
    want = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5)
    np.testing.assert_allclose(bn(gj.tensor(x)).numpy(), want, rtol=1e-12)


def test_batch_norm_checks_its_input() -> None:
    with pytest.raises(ValueError, match="4-d"):
        nn.BatchNorm2d(3)(gj.zeros(2, 3))
    with pytest.raises(ValueError, match="expected 3 channels"):
        nn.BatchNorm1d(3)(gj.zeros(2, 4))


# -- BatchNorm in compiled steps


def _model() -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(3, 4), nn.BatchNorm1d(4, momentum=None), nn.Tanh(), nn.Linear(4, 1)
    )


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_compiled_training_step_equals_eager_steps(backend: str) -> None:
    rng = np.random.default_rng(3)
    data = [(rng.normal(size=(8, 3)), rng.normal(size=(8, 1))) for _ in range(3)]
    gj.manual_seed(0)
    eager = _model()
    gj.manual_seed(0)
    compiled = _model()
    opt_e = gj.optim.SGD(eager.parameters(), lr=0.1, momentum=0.9)
    opt_c = gj.optim.SGD(compiled.parameters(), lr=0.1, momentum=0.9)
    xs, ys = gj.placeholder("x", shape=(None, 3)), gj.placeholder("y", shape=(None, 1))
    loss = nn.MSELoss()(compiled(xs), ys)
    updates = {**opt_c.updates(loss), **compiled.buffer_updates(loss)}
    assert len(updates) == 6 + 6 + 3  # six parameters, their momenta, three buffers
    step = gj.compile([xs, ys], [loss], updates=updates, backend=backend)
    for x, y in data:
        (got,) = step(x, y)
        want = nn.MSELoss()(eager(gj.tensor(x)), gj.tensor(y))
        opt_e.zero_grad()
        want.backward()
        opt_e.step()
        np.testing.assert_allclose(got, want.item(), rtol=1e-12)
    for (name, a), b in zip(eager.state_dict().items(), compiled.state_dict().values()):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-14, err_msg=name)
    assert int(compiled[1].num_batches_tracked.numpy()) == 3


def test_buffer_updates_chain_two_calls_and_skip_unrelated_graphs() -> None:
    rng = np.random.default_rng(4)
    x1, x2 = rng.normal(size=(4, 2)), rng.normal(1.0, 2.0, size=(4, 2))
    eager, graph = nn.BatchNorm1d(2), nn.BatchNorm1d(2)
    want = eager(gj.tensor(x1)) + eager(gj.tensor(x2))
    a, b = gj.placeholder("a", shape=(4, 2)), gj.placeholder("b", shape=(4, 2))
    graph(gj.placeholder("stale", shape=(4, 2)))  # built and never compiled
    out = graph(a) + graph(b)
    f = gj.compile([a, b], [out], updates=graph.buffer_updates(out), backend="numpy")
    np.testing.assert_allclose(f(x1, x2)[0], want.numpy(), rtol=1e-12)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(
            getattr(graph, name).numpy(), getattr(eager, name).numpy(), rtol=1e-12
        )
    assert graph.buffer_updates() == {}  # collected records are cleared


def test_batch_norm_matches_torch() -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed")
    rng = np.random.default_rng(5)
    ref = torch.nn.BatchNorm2d(3, momentum=0.2).double()
    bn = nn.BatchNorm2d(3, momentum=0.2)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(rng.normal(size=3)))
        ref.bias.copy_(torch.tensor(rng.normal(size=3)))
    bn.load_state_dict({k: v.numpy() for k, v in ref.state_dict().items()})
    for _ in range(2):
        x = rng.normal(size=(4, 3, 2, 2))
        np.testing.assert_allclose(
            bn(gj.tensor(x)).numpy(), ref(torch.tensor(x)).detach().numpy(), rtol=1e-10
        )
    for k, v in ref.state_dict().items():
        np.testing.assert_allclose(bn.state_dict()[k], v.numpy(), rtol=1e-12, err_msg=k)
    bn.eval(), ref.eval()
    x = rng.normal(size=(2, 3, 2, 2))
    np.testing.assert_allclose(
        bn(gj.tensor(x)).numpy(), ref(torch.tensor(x)).detach().numpy(), rtol=1e-10
    )


def test_jit_refuses_training_mode_state_and_runs_eval_mode() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Dropout(0.5))
    x = np.random.default_rng(7).normal(size=(5, 3))

    @gj.jit
    def forward(a: Any) -> Any:
        return model(a)

    with pytest.raises(NotImplementedError, match="BatchNorm1d's buffer updates and random"):
        forward(x)
    assert model[1].buffer_updates() == {}  # the refused trace left no records behind
    model.eval()
    np.testing.assert_allclose(
        forward(x), model(gj.tensor(x)).detach().numpy(), rtol=1e-12, atol=1e-14
    )


def test_a_training_batch_of_one_value_per_channel_is_refused_and_changes_nothing() -> None:
    bn = gj.nn.BatchNorm1d(3)
    before = {k: np.array(v) for k, v in bn.state_dict().items()}
    with pytest.raises(ValueError, match="more than 1 value per channel when training"):
        bn(gj.tensor(np.ones((1, 3))))
    for k, v in bn.state_dict().items():
        np.testing.assert_array_equal(np.asarray(v), before[k])
    with pytest.raises(ValueError, match=r"batch_norm: expected more than 1 value"):
        gj.nn.functional.batch_norm(gj.tensor(np.ones((1, 2, 1, 1))), None, None, training=True)
    bn.eval()  # evaluation uses the running statistics: one sample is fine
    assert bn(gj.tensor(np.ones((1, 3)))).shape == (1, 3)
    gj.nn.BatchNorm2d(2)(gj.tensor(np.ones((1, 2, 2, 1))))  # 2 values per channel
