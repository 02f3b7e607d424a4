"""gj.nn activation and loss modules: each matches its PyTorch module with the same settings."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import graphjit as gj

torch = pytest.importorskip("torch", reason="torch is not installed: no reference to compare with")

ACTIVATIONS: list[tuple[str, dict[str, Any]]] = [
    ("ReLU", {}),
    ("ReLU6", {}),
    ("LeakyReLU", {"negative_slope": 0.1}),
    ("ELU", {"alpha": 0.7}),
    ("SELU", {}),
    ("CELU", {"alpha": 1.3}),
    ("GELU", {}),
    ("GELU", {"approximate": "tanh"}),
    ("SiLU", {}),
    ("Mish", {}),
    ("Softplus", {"beta": 1.5, "threshold": 4.0}),
    ("Softsign", {}),
    ("Hardtanh", {"min_val": -2.0, "max_val": 0.5}),
    ("Hardswish", {}),
    ("LogSigmoid", {}),
    ("Sigmoid", {}),
    ("Tanh", {}),
    ("Softmax", {"dim": 0}),
    ("LogSoftmax", {"dim": 1}),
    ("GLU", {"dim": 0}),
]


@pytest.mark.parametrize(("name", "kwargs"), ACTIVATIONS, ids=[f"{n}{k}" for n, k in ACTIVATIONS])
def test_activation_module_matches_torch(name: str, kwargs: dict[str, Any]) -> None:
    x = np.random.default_rng(5).normal(size=(4, 6)) * 3
    got = getattr(gj.nn, name)(**kwargs)(gj.tensor(x)).numpy()
    want = getattr(torch.nn, name)(**kwargs)(torch.tensor(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_activation_modules_refuse_inplace() -> None:
    with pytest.raises(NotImplementedError, match="inplace"):
        gj.nn.ReLU(inplace=True)
    with pytest.raises(NotImplementedError, match="inplace"):
        gj.nn.LeakyReLU(inplace=True)


LOSSES: list[tuple[str, dict[str, Any], str]] = [
    ("SmoothL1Loss", {"beta": 0.5}, "pair"),
    ("HuberLoss", {"delta": 0.5, "reduction": "sum"}, "pair"),
    ("KLDivLoss", {"reduction": "batchmean"}, "pair"),
    ("NLLLoss", {"ignore_index": 1}, "labels"),
    ("CrossEntropyLoss", {"label_smoothing": 0.1, "reduction": "none"}, "labels"),
    ("CrossEntropyLoss", {}, "probs"),
    ("CosineEmbeddingLoss", {"margin": 0.2}, "triple"),
    ("MarginRankingLoss", {"margin": 0.3, "reduction": "sum"}, "triple"),
]


@pytest.mark.parametrize(("name", "kwargs", "kind"), LOSSES, ids=[f"{n}{k}" for n, k, _ in LOSSES])
def test_loss_module_matches_torch(name: str, kwargs: dict[str, Any], kind: str) -> None:
    rng = np.random.default_rng(8)
    x = rng.normal(size=(5, 3))
    if kind == "pair":
        args: list[np.ndarray] = [x, rng.uniform(size=(5, 3))]
    elif kind == "labels":
        args = [x, np.array([0, 1, 2, 1, 0])]
    elif kind == "probs":
        args = [x, rng.dirichlet(np.ones(3), size=5)]
    else:
        args = [x, rng.normal(size=(5, 3)), np.array([1.0, -1.0, -1.0, 1.0, 1.0])]
        if name == "MarginRankingLoss":
            args = [a[:, 0] if a.ndim == 2 else a for a in args]
    got = getattr(gj.nn, name)(**kwargs)(*[gj.tensor(a) for a in args]).numpy()
    want = getattr(torch.nn, name)(**kwargs)(*[torch.tensor(a) for a in args]).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
