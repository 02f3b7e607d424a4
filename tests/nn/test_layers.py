"""gj.nn layers and losses: eager tensors and graphs against numpy formulas and each other."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import graphjit as gj

nn = gj.nn


def graph_eval(fn: Callable[..., Any], *arrays: np.ndarray, batch_none: bool = True) -> np.ndarray:
    """``fn`` applied to placeholders shaped like ``arrays`` (first dim left free), compiled with
    the reference backend and called on ``arrays``."""
    phs = [
        gj.placeholder(
            f"in{i}",
            shape=(None, *a.shape[1:]) if (batch_none and a.ndim) else a.shape,
            dtype=a.dtype.name,
        )
        for i, a in enumerate(arrays)
    ]
    f = gj.compile(phs, [fn(*phs)], backend="numpy")
    (out,) = f(*arrays)
    return np.asarray(out)


def eager_eval(fn: Callable[..., Any], *arrays: np.ndarray) -> np.ndarray:
    return np.asarray(fn(*[gj.tensor(a) for a in arrays]).numpy())


def both(fn: Callable[..., Any], *arrays: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return eager_eval(fn, *arrays), graph_eval(fn, *arrays)


# -- Linear


def test_linear_forward_eager_and_graph_match_numpy(rng: np.random.Generator) -> None:
    gj.manual_seed(0)
    lin = nn.Linear(4, 3)
    x = rng.normal(size=(5, 4))
    want = x @ lin.weight.numpy().T + lin.bias.numpy()
    eager, graph = both(lin, x)
    np.testing.assert_allclose(eager, want, rtol=1e-13)
    np.testing.assert_allclose(graph, want, rtol=1e-13)
    # one compiled function serves every batch size, reading the live parameters
    xs = gj.placeholder("x", shape=(None, 4))
    f = gj.compile([xs], [lin(xs)], backend="numpy")
    for n in (1, 7, 0):
        xn = rng.normal(size=(n, 4))
        np.testing.assert_allclose(
            f(xn)[0], xn @ lin.weight.numpy().T + lin.bias.numpy(), rtol=1e-13
        )


def test_linear_without_bias_and_in_float32(rng: np.random.Generator) -> None:
    lin = nn.Linear(3, 2, bias=False)
    x = rng.normal(size=(4, 3))
    np.testing.assert_allclose(eager_eval(lin, x), x @ lin.weight.numpy().T, rtol=1e-13)
    lin32 = nn.Linear(3, 2, dtype="float32")
    assert lin32.weight.dtype == "float32" and lin32.bias.dtype == "float32"
    x32 = x.astype(np.float32)
    eager, graph = both(lin32, x32)
    assert eager.dtype == np.float32 and graph.dtype == np.float32
    want = x32 @ lin32.weight.numpy().T + lin32.bias.numpy()
    np.testing.assert_allclose(eager, want, rtol=1e-6)
    np.testing.assert_allclose(graph, want, rtol=1e-6)


def test_linear_init_is_uniform_in_bound_and_seeded() -> None:
    gj.manual_seed(7)
    a = nn.Linear(25, 40)
    gj.manual_seed(7)
    b = nn.Linear(25, 40)
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    w = a.weight.numpy()
    assert np.all(np.abs(w) <= 1 / 5) and np.all(np.abs(a.bias.numpy()) <= 1 / 5)
    assert w.min() < -0.15 and w.max() > 0.15  # spread over the range, not a constant
    assert not np.array_equal(a.weight.numpy(), nn.Linear(25, 40).weight.numpy())


@pytest.mark.parametrize("bad", [0, -2, 2.0, True, "3"])
def test_linear_rejects_bad_sizes(bad: Any) -> None:
    with pytest.raises(ValueError, match="in_features must be a positive int"):
        nn.Linear(bad, 3)
    with pytest.raises(ValueError, match="out_features must be a positive int"):
        nn.Linear(3, bad)


def test_linear_names_itself_and_the_expected_shape_for_a_wrong_input() -> None:
    lin = nn.Linear(3, 4)
    message = r"Linear\(in_features=3, out_features=4, bias=True\): expected an input of shape"
    with pytest.raises(ValueError, match=message + r" \(\*, 3\), got shape \(5, 2\)"):
        lin(gj.randn(5, 2))
    with pytest.raises(ValueError, match=message + r" \(\*, 3\), got shape \(\)"):
        lin(gj.tensor(1.0))
    with pytest.raises(ValueError, match=r"got shape \(None, 2\)"):
        lin(gj.placeholder("x", (None, 2)))
    x = gj.placeholder("x", (None, None))  # a last dim fixed only at call time still builds
    assert tuple(lin(x).shape) == (None, 4)


def test_linear_gradients_eager_graph_and_finite_differences(rng: np.random.Generator) -> None:
    gj.manual_seed(2)
    lin = nn.Linear(3, 2)
    x = rng.normal(size=(6, 3))
    c = rng.normal(size=(6, 2))

    def loss_of(inp: Any, coef: Any) -> Any:
        return gj.sum(gj.tanh(lin(inp)) * coef)

    # eager: the tape
    loss_of(gj.tensor(x), gj.tensor(c)).backward()
    eager = [lin.weight.grad.numpy().copy(), lin.bias.grad.numpy().copy()]
    # graph: symbolic gradient wrt the parameters' variables, compiled
    xs, cs = gj.placeholder("x", shape=(None, 3)), gj.placeholder("c", shape=(None, 2))
    loss = loss_of(xs, cs)
    wrt = [nn.operand(lin.weight, loss), nn.operand(lin.bias, loss)]
    f = gj.compile([xs, cs], [loss, *gj.grad(loss, wrt)], backend="numpy")
    value, *graph = f(x, c)
    # finite differences on the parameters' arrays
    fd = []
    eps = 1e-6
    for p in (lin.weight, lin.bias):
        arr = p.numpy()
        g = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            old = arr[idx]
            arr[idx] = old + eps
            up = float(np.sum(np.tanh(x @ lin.weight.numpy().T + lin.bias.numpy()) * c))
            arr[idx] = old - eps
            down = float(np.sum(np.tanh(x @ lin.weight.numpy().T + lin.bias.numpy()) * c))
            arr[idx] = old
            g[idx] = (up - down) / (2 * eps)
        fd.append(g)
    w, b = lin.weight.numpy(), lin.bias.numpy()
    np.testing.assert_allclose(value, np.sum(np.tanh(x @ w.T + b) * c), rtol=1e-13)
    for e, gr, d in zip(eager, graph, fd):
        np.testing.assert_allclose(e, gr, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(gr, d, rtol=1e-7, atol=1e-9)


# -- activations


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


ACTIVATIONS: list[tuple[str, Callable[[], nn.Module], Callable[[np.ndarray], np.ndarray]]] = [
    ("ReLU", nn.ReLU, lambda x: np.maximum(x, 0.0)),
    ("Tanh", nn.Tanh, np.tanh),
    ("Sigmoid", nn.Sigmoid, lambda x: 1.0 / (1.0 + np.exp(-x))),
    ("Softplus", nn.Softplus, lambda x: np.logaddexp(0.0, x)),
    ("Identity", nn.Identity, lambda x: x),
    ("Softmax", nn.Softmax, lambda x: _softmax(x, -1)),
    ("Softmax0", lambda: nn.Softmax(dim=0), lambda x: _softmax(x, 0)),
    ("LogSoftmax", nn.LogSoftmax, lambda x: np.log(_softmax(x, -1))),
]


@pytest.mark.parametrize(("name", "make", "ref"), ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_matches_numpy(
    name: str,
    make: Callable[[], nn.Module],
    ref: Callable[[np.ndarray], np.ndarray],
    rng: np.random.Generator,
) -> None:
    x = rng.normal(size=(4, 5)) * 3.0
    x[0, 0] = 0.5  # keep ReLU away from its kink for the gradient below
    layer = make()
    eager, graph = both(layer, x)
    np.testing.assert_allclose(eager, ref(x), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(graph, ref(x), rtol=1e-12, atol=1e-15)
    # gradient of a weighted sum, against central differences of the numpy formula
    w = rng.normal(size=x.shape)
    t = gj.tensor(x, requires_grad=True)
    gj.sum(layer(t) * gj.tensor(w)).backward()
    eps = 1e-6
    fd = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[idx] += eps
        down[idx] -= eps
        fd[idx] = (np.sum(ref(up) * w) - np.sum(ref(down) * w)) / (2 * eps)
    np.testing.assert_allclose(t.grad.numpy(), fd, rtol=1e-6, atol=1e-8)


def test_softplus_and_sigmoid_are_stable_at_large_inputs() -> None:
    x = np.array([[-800.0, -30.0, 0.0, 30.0, 800.0]])
    sp = eager_eval(nn.Softplus(), x)
    np.testing.assert_allclose(sp, np.logaddexp(0.0, x), rtol=1e-14)
    sg = eager_eval(nn.Sigmoid(), x)
    assert np.all(np.isfinite(sg)) and sg[0, 0] == 0.0 and sg[0, -1] == 1.0


def test_flatten_keeps_the_batch_dim(rng: np.random.Generator) -> None:
    x = rng.normal(size=(3, 2, 4))
    eager, graph = both(nn.Flatten(), x)
    np.testing.assert_array_equal(eager, x.reshape(3, 8))
    np.testing.assert_array_equal(graph, x.reshape(3, 8))
    xs = gj.placeholder("x", shape=(None, 2, 4))
    assert tuple(nn.Flatten()(xs).shape) == (None, 8)
    assert eager_eval(nn.Flatten(), np.zeros((0, 2, 4))).shape == (0, 8)
    # a Linear after Flatten in one graph, any batch size
    gj.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(8, 2))
    f = gj.compile([xs], [model(xs)], backend="numpy")
    np.testing.assert_allclose(
        f(x)[0], x.reshape(3, 8) @ model[1].weight.numpy().T + model[1].bias.numpy(), rtol=1e-13
    )


# -- losses


def _bce(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return -(t * np.maximum(np.log(p), -100.0) + (1 - t) * np.maximum(np.log1p(-p), -100.0))


def _bce_logits(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0) - x * t + np.log1p(np.exp(-np.abs(x)))


ELEMENTWISE_LOSSES = [
    ("MSELoss", nn.MSELoss, lambda p, t: (p - t) ** 2, "real"),
    ("L1Loss", nn.L1Loss, lambda p, t: np.abs(p - t), "real"),
    ("BCELoss", nn.BCELoss, _bce, "prob"),
    ("BCEWithLogitsLoss", nn.BCEWithLogitsLoss, _bce_logits, "real"),
]
REDUCE = {"none": lambda v: v, "sum": np.sum, "mean": np.mean}


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize(
    ("name", "cls", "ref", "kind"), ELEMENTWISE_LOSSES, ids=[x[0] for x in ELEMENTWISE_LOSSES]
)
def test_elementwise_loss_matches_numpy(
    name: str,
    cls: type[nn.Module],
    ref: Callable[[np.ndarray, np.ndarray], np.ndarray],
    kind: str,
    reduction: str,
    rng: np.random.Generator,
) -> None:
    shape = (6, 3)
    if kind == "prob":
        pred = rng.uniform(0.05, 0.95, size=shape)
        target = rng.uniform(0.0, 1.0, size=shape)
    else:
        pred = rng.normal(size=shape) * 2.0
        target = rng.normal(size=shape) if name != "BCEWithLogitsLoss" else rng.uniform(size=shape)
    loss = cls(reduction=reduction)
    want = REDUCE[reduction](ref(pred, target))
    eager, graph = both(loss, pred, target)
    assert eager.shape == np.shape(want) and graph.shape == np.shape(want)
    np.testing.assert_allclose(eager, want, rtol=1e-12)
    np.testing.assert_allclose(graph, want, rtol=1e-12)


def test_mse_and_cross_entropy_gradients_have_the_closed_forms(rng: np.random.Generator) -> None:
    pred, target = rng.normal(size=(5, 2)), rng.normal(size=(5, 2))
    p = gj.tensor(pred, requires_grad=True)
    nn.MSELoss()(p, gj.tensor(target)).backward()
    np.testing.assert_allclose(p.grad.numpy(), 2 * (pred - target) / pred.size, rtol=1e-12)

    logits, labels = rng.normal(size=(4, 3)), np.array([2, 0, 1, 2])
    z = gj.tensor(logits, requires_grad=True)
    nn.CrossEntropyLoss()(z, gj.tensor(labels)).backward()
    onehot = np.eye(3)[labels]
    np.testing.assert_allclose(z.grad.numpy(), (_softmax(logits, -1) - onehot) / 4, rtol=1e-12)


def test_bce_clamps_log_terms_like_pytorch() -> None:
    pred, target = np.array([0.0, 1.0, 0.5]), np.array([1.0, 0.0, 1.0])
    with np.errstate(divide="ignore"):
        out = eager_eval(nn.BCELoss(reduction="none"), pred, target)
    np.testing.assert_allclose(out, [100.0, 100.0, np.log(2.0)], rtol=1e-14)


def test_bce_gradient_is_finite_at_probabilities_of_0_and_1() -> None:
    """A saturated sigmoid feeding BCELoss: the clamped log's gradient was 0 * inf = NaN."""
    pred = gj.tensor(np.array([0.0, 1.0, 0.5, 0.0, 1.0]), requires_grad=True)
    target = gj.tensor(np.array([0.0, 1.0, 1.0, 1.0, 0.0]))
    nn.BCELoss(reduction="sum")(pred, target).backward()
    # d/dp of -(t log p + (1 - t) log(1 - p)), with a clamped log term contributing 0
    np.testing.assert_allclose(pred.grad.numpy(), [1.0, -1.0, -2.0, 0.0, 0.0], rtol=1e-14)


def test_bce_refuses_values_outside_0_1_like_pytorch() -> None:
    # logits passed to BCELoss gave nan (log of a negative) where PyTorch raises
    loss = nn.BCELoss()
    for pred, target, what in (
        ([0.5, 1.5], [1.0, 0.0], "input"),
        ([0.5, float("nan")], [1.0, 0.0], "input"),
        ([0.5, 0.5], [1.0, 2.0], "target"),
    ):
        with pytest.raises(RuntimeError, match=f"all elements of {what} should be between 0 and 1"):
            loss(gj.tensor(pred), gj.tensor(target))
    with pytest.raises(ValueError, match="binary_cross_entropy_with_logits"):
        loss(gj.tensor([-2.0]), gj.tensor([1.0]))


def test_bce_with_logits_is_stable_for_huge_logits() -> None:
    x, t = np.array([-1000.0, 1000.0, 1000.0, 0.0]), np.array([1.0, 0.0, 1.0, 1.0])
    eager, graph = both(nn.BCEWithLogitsLoss(reduction="none"), x, t)
    want = [1000.0, 1000.0, 0.0, np.log(2.0)]
    np.testing.assert_allclose(eager, want, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(graph, want, rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("label_dtype", ["int64", "int32"])
def test_cross_entropy_with_integer_labels(
    reduction: str, label_dtype: str, rng: np.random.Generator
) -> None:
    logits = rng.normal(size=(7, 4)) * 3.0
    labels = rng.integers(0, 4, size=7).astype(label_dtype)
    logp = np.log(_softmax(logits, -1))
    want = REDUCE[reduction](-logp[np.arange(7), labels])
    eager, graph = both(nn.CrossEntropyLoss(reduction=reduction), logits, labels)
    np.testing.assert_allclose(eager, want, rtol=1e-12)
    np.testing.assert_allclose(graph, want, rtol=1e-12)


def test_cross_entropy_rejects_bad_labels() -> None:
    ce = nn.CrossEntropyLoss()
    logits = gj.tensor(np.zeros((3, 4)))
    with pytest.raises(TypeError, match="labels must be integers, got float64"):
        ce(logits, gj.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"logits \(3, 4\) and labels \(2,\)"):
        ce(logits, gj.tensor(np.array([0, 1])))
    with pytest.raises(ValueError, match=r"labels \(3, 1\)"):
        ce(logits, gj.tensor(np.array([[0], [1], [2]])))
    with pytest.raises(IndexError, match="out of bounds"):
        ce(logits, gj.tensor(np.array([0, 1, 4])))


@pytest.mark.parametrize("cls", [nn.MSELoss, nn.L1Loss, nn.BCELoss, nn.BCEWithLogitsLoss])
def test_loss_shape_mismatch_is_a_value_error(cls: type[nn.Module]) -> None:
    with pytest.raises(ValueError, match=rf"{cls.__name__}: prediction shape \(4, 1\)"):
        cls()(gj.tensor(np.full((4, 1), 0.5)), gj.tensor(np.full((4,), 0.5)))
    with pytest.raises(ValueError, match="target shape"):
        cls()(gj.tensor(np.full((4, 1), 0.5)), gj.tensor(np.full((3, 1), 0.5)))
    # on graphs: fixed dims are checked at build time, free (None) dims are left to call time
    ps = gj.placeholder("p", shape=(None, 2))
    with pytest.raises(ValueError, match="target shape"):
        cls()(ps, gj.placeholder("t", shape=(None, 3)))
    assert tuple(cls(reduction="none")(ps, gj.placeholder("t", shape=(5, 2))).shape)[1] == 2


def test_loss_rejects_unknown_reduction() -> None:
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none'"):
        nn.MSELoss(reduction="avg")


# -- Dropout, Embedding, Unflatten


def test_dropout_module_follows_train_and_eval() -> None:
    drop = nn.Dropout(0.5)
    x = gj.tensor(np.ones((50, 40)))
    gj.manual_seed(0)
    out = drop(x).numpy()
    assert set(np.unique(out)) == {0.0, 2.0}
    drop.eval()
    np.testing.assert_array_equal(drop(x).numpy(), np.ones((50, 40)))
    xs = gj.placeholder("x", shape=(None, 40))
    assert drop(xs) is xs
    drop.train()
    assert drop(xs) is not xs  # tests/nn/test_dropout_graph.py checks the compiled masks


def test_embedding_init_padding_and_gradient() -> None:
    gj.manual_seed(0)
    emb = nn.Embedding(5, 3, padding_idx=1)
    w = emb.weight.numpy()
    np.testing.assert_array_equal(w[1], np.zeros(3))
    assert list(emb.state_dict()) == ["weight"]
    idx = np.array([[0, 1], [4, 1]])
    out = emb(gj.tensor(idx))
    np.testing.assert_array_equal(out.numpy(), w[idx])
    out.sum().backward()
    want = np.zeros((5, 3))
    want[0] = want[4] = 1.0  # the padding row gets no gradient
    np.testing.assert_array_equal(emb.weight.grad.numpy(), want)
    ids = gj.placeholder("i", shape=(None, 2), dtype="int64")
    f = gj.compile([ids], [emb(ids)], backend="numpy")
    np.testing.assert_array_equal(f(idx)[0], w[idx])


def test_unflatten_splits_a_dim_eagerly_and_on_graphs(rng: np.random.Generator) -> None:
    x = rng.normal(size=(3, 12))
    layer = nn.Unflatten(1, (3, -1))
    np.testing.assert_array_equal(layer(gj.tensor(x)).numpy(), x.reshape(3, 3, 4))
    np.testing.assert_array_equal(graph_eval(layer, x, batch_none=False), x.reshape(3, 3, 4))
    with pytest.raises(ValueError, match="more than one dim is unknown"):
        layer(gj.placeholder("x", shape=(None, 12)))


def test_unflatten_and_embedding_name_themselves_for_bad_input() -> None:
    x = gj.tensor(np.zeros((3, 8)))
    for sizes in ((2, 5), (3, -1), (0, -1)):
        with pytest.raises(ValueError, match=r"Unflatten: sizes .* do not multiply up to .* dim 1"):
            nn.Unflatten(1, sizes)(x)
    assert nn.Unflatten(1, (2, -1))(x).shape == (3, 2, 4)
    assert nn.Unflatten(1, (2, 4))(gj.placeholder("x", (3, None))).shape == (3, 2, 4)
    with pytest.raises(TypeError, match="embedding: indices must be integers"):
        nn.Embedding(3, 2)(gj.tensor([0.5]))
