"""CosineSimilarity, PairwiseDistance, pdist and the losses HingeEmbeddingLoss, SoftMarginLoss,
MultiLabelSoftMarginLoss, MultiMarginLoss, PoissonNLLLoss, GaussianNLLLoss and TripletMarginLoss
(modules and functional forms) against PyTorch: values and gradients eagerly, a compiled graph
against eager, every reduction."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import graphjit as gj
import graphjit.nn.functional as F  # noqa: N812 - PyTorch's spelling
from tests.nn.torch_oracle import compare

torch = pytest.importorskip("torch", reason="torch is not installed: no reference to compare with")

RNG = np.random.default_rng(0)
X = RNG.normal(size=(5, 4))
Y = RNG.normal(size=(5, 4))
Z = RNG.normal(size=(5, 4))
SIGNS = np.where(RNG.uniform(size=(5, 4)) > 0.5, 1.0, -1.0)
LABELS01 = (RNG.uniform(size=(5, 4)) > 0.5).astype(np.float64)
CLASSES = np.array([0, 3, 1, 1, 2])
COUNTS = RNG.poisson(2.0, size=(5, 4)).astype(np.float64)
VAR = RNG.uniform(0.5, 2.0, size=(5, 4))
WEIGHT = np.array([0.5, 1.0, 2.0, 1.5])

# PyTorch differentiates these only with respect to the input
TARGETS_WITHOUT_GRADIENT = {
    "HingeEmbeddingLoss", "SoftMarginLoss", "MultiLabelSoftMarginLoss", "MultiMarginLoss",
    "hinge_embedding_loss", "soft_margin_loss", "multilabel_soft_margin_loss", "multi_margin_loss",
}  # fmt: skip

MODULES: list[tuple[str, dict[str, Any], list[np.ndarray]]] = [
    ("CosineSimilarity", {}, [X, Y]),
    ("CosineSimilarity", {"dim": 0, "eps": 1e-6}, [X, Y[:1]]),
    ("PairwiseDistance", {}, [X, Y]),
    ("PairwiseDistance", {"p": 1.0, "keepdim": True}, [X, Y]),
    ("PairwiseDistance", {"p": 3.0, "eps": 0.0}, [X, Y]),
    ("PairwiseDistance", {"p": float("inf")}, [X, Y]),
    ("HingeEmbeddingLoss", {}, [X, SIGNS]),
    ("HingeEmbeddingLoss", {"margin": 0.5, "reduction": "none"}, [X, SIGNS]),
    ("SoftMarginLoss", {"reduction": "sum"}, [X, SIGNS]),
    ("MultiLabelSoftMarginLoss", {}, [X, LABELS01]),
    ("MultiMarginLoss", {}, [X, CLASSES]),
    ("MultiMarginLoss", {"p": 2, "margin": 0.7, "reduction": "none"}, [X, CLASSES]),
    ("PoissonNLLLoss", {}, [X, COUNTS]),
    ("PoissonNLLLoss", {"log_input": False, "full": True}, [np.abs(X) + 0.1, COUNTS]),
    ("PoissonNLLLoss", {"full": True, "reduction": "none"}, [X, COUNTS]),
    ("GaussianNLLLoss", {}, [X, Y, VAR]),
    ("GaussianNLLLoss", {"full": True, "reduction": "sum"}, [X, Y, VAR[:, 0]]),
    ("GaussianNLLLoss", {"reduction": "none"}, [X, Y, VAR[:, :1]]),
    ("TripletMarginLoss", {}, [X, Y, Z]),
    ("TripletMarginLoss", {"margin": 2.0, "p": 1.0, "swap": True, "reduction": "sum"}, [X, Y, Z]),
    ("TripletMarginLoss", {"reduction": "none"}, [X[0], Y[0], Z[0]]),
]


@pytest.mark.parametrize(
    ("name", "kwargs", "inputs"), MODULES, ids=[f"{n}{k}" for n, k, _ in MODULES]
)
def test_module_matches_torch(name: str, kwargs: dict[str, Any], inputs: list[np.ndarray]) -> None:
    wrt = [0] if name in TARGETS_WITHOUT_GRADIENT else None
    compare(getattr(gj.nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs), inputs, wrt=wrt)


def test_weighted_losses_match_torch() -> None:
    for name, inputs in (
        ("MultiLabelSoftMarginLoss", [X, LABELS01]),
        ("MultiMarginLoss", [X, CLASSES]),
    ):
        mod = getattr(gj.nn, name)(weight=gj.tensor(WEIGHT))
        ref = getattr(torch.nn, name)(weight=torch.tensor(WEIGHT))
        compare(mod, ref, inputs, wrt=[0], copy_state=False)  # PyTorch keeps weight as a buffer


FUNCTIONS: list[tuple[str, dict[str, Any], list[np.ndarray]]] = [
    ("cosine_similarity", {"dim": 1}, [X, Y]),
    ("pairwise_distance", {"p": 2.0}, [X, Y]),
    ("pdist", {}, [X]),
    ("pdist", {"p": 1.0}, [X]),
    ("hinge_embedding_loss", {"margin": 2.0}, [X, SIGNS]),
    ("soft_margin_loss", {}, [X, SIGNS]),
    ("multilabel_soft_margin_loss", {"reduction": "none"}, [X, LABELS01]),
    ("multi_margin_loss", {"p": 2}, [X, CLASSES]),
    ("multi_margin_loss", {}, [X[1], CLASSES[1]]),
    ("poisson_nll_loss", {"log_input": True}, [X, COUNTS]),
    ("gaussian_nll_loss", {}, [X, Y, VAR]),
    ("triplet_margin_loss", {"swap": True}, [X, Y, Z]),
]


@pytest.mark.parametrize(
    ("name", "kwargs", "inputs"), FUNCTIONS, ids=[f"{n}{k}" for n, k, _ in FUNCTIONS]
)
def test_function_matches_torch(
    name: str, kwargs: dict[str, Any], inputs: list[np.ndarray]
) -> None:
    compare(
        lambda *a: getattr(F, name)(*a, **kwargs),
        lambda *a: getattr(torch.nn.functional, name)(*a, **kwargs),
        inputs,
        wrt=[0] if name in TARGETS_WITHOUT_GRADIENT else None,
    )


def test_distances_have_zero_gradient_at_zero_distance() -> None:
    x = gj.tensor([[1.0, 2.0], [1.0, 2.0], [0.0, 1.0]], requires_grad=True)
    d = F.pdist(x)
    d.sum().backward()
    t = torch.tensor(x.numpy(), requires_grad=True)
    torch.nn.functional.pdist(t).sum().backward()
    np.testing.assert_allclose(d.numpy(), torch.nn.functional.pdist(t).detach().numpy())
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12)
    assert np.isfinite(x.grad.numpy()).all()


def test_gaussian_nll_loss_takes_a_float_variance_and_refuses_negative_ones() -> None:
    got = F.gaussian_nll_loss(gj.tensor(X), gj.tensor(Y), gj.tensor(np.full((5, 1), 0.5)))
    want = torch.nn.functional.gaussian_nll_loss(
        torch.tensor(X), torch.tensor(Y), torch.full((5, 1), 0.5, dtype=torch.float64)
    )
    np.testing.assert_allclose(got.item(), want.item(), rtol=1e-12)
    np.testing.assert_allclose(
        F.gaussian_nll_loss(gj.tensor(X), gj.tensor(Y), 0.5).item(), want.item(), rtol=1e-12
    )
    with pytest.raises(ValueError, match="var has negative entries"):
        gj.nn.GaussianNLLLoss()(gj.tensor(X), gj.tensor(Y), gj.tensor(-VAR))
    with pytest.raises(ValueError, match=r"var has shape \(5, 3\); expected the input's \(5, 4\)"):
        gj.nn.GaussianNLLLoss()(gj.tensor(X), gj.tensor(Y), gj.tensor(VAR[:, :3]))


def test_losses_say_what_shapes_they_expected() -> None:
    with pytest.raises(ValueError, match=r"SoftMarginLoss: prediction shape \(5, 4\) and target"):
        gj.nn.SoftMarginLoss()(gj.tensor(X), gj.tensor(SIGNS[:, :2]))
    with pytest.raises(ValueError, match=r"multi_margin_loss: expected input \(N, C\) with target"):
        gj.nn.MultiMarginLoss()(gj.tensor(X), gj.tensor(CLASSES[:3]))
    with pytest.raises(IndexError, match="multi_margin_loss: index 4 is out of bounds for 4"):
        F.multi_margin_loss(gj.tensor(X), gj.tensor(np.array([0, 1, 2, 3, 4])))
    with pytest.raises(ValueError, match="MultiMarginLoss: only p == 1 and p == 2"):
        gj.nn.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match=r"triplet_margin_loss: expected anchor, positive and"):
        gj.nn.TripletMarginLoss()(gj.tensor(X), gj.tensor(Y), gj.tensor(Z[0]))
    with pytest.raises(ValueError, match=r"pdist: expected a 2-d input \(N, M\)"):
        F.pdist(gj.tensor(X[0]))
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none'"):
        gj.nn.HingeEmbeddingLoss(reduction="avg")


def test_a_loss_trains_in_a_compiled_step_with_an_unknown_batch() -> None:
    gj.manual_seed(0)
    model = gj.nn.Linear(4, 4)
    opt = gj.optim.SGD(model.parameters(), lr=0.05)
    xs, ys = gj.placeholder("x", shape=(None, 4)), gj.placeholder("y", shape=(None,))
    loss = gj.nn.MultiMarginLoss()(model(xs), gj.astype(ys, "int64"))
    step = gj.compile([xs, ys], [loss], updates=opt.updates(loss), backend="cpu")
    first = step(X, CLASSES.astype(np.float64))[0]
    for _ in range(30):
        last = step(X, CLASSES.astype(np.float64))[0]
    assert last < first
