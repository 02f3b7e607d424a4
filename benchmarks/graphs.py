"""Graphs shared by the benchmarks and the cache tests (each built fresh, deterministic)."""

from __future__ import annotations

from typing import Any

import numpy as np

import graphjit as gj


def chain(x: Any) -> Any:
    """The elementwise chain benchmark: tanh(1.3x + 0.2) * exp(-x*x) + 0.5."""
    return gj.tanh(1.3 * x + 0.2) * gj.exp(-x * x) + 0.5


def mlp_step(
    batch: int = 256,
    sizes: tuple[int, int, int] = (784, 256, 10),
    lr: float = 0.01,
    dtype: str = "float32",
    seed: int = 0,
    backend: str = "cpu",
) -> tuple[Any, list[Any]]:
    """An MLP SGD training step (two matmuls, relu, mse, SGD updates), compiled for ``backend``;
    returns the compiled step and its variables [W1, b1, W2, b2]."""
    rng = np.random.default_rng(seed)
    n_in, n_hidden, n_out = sizes
    x = gj.placeholder("x", (None, n_in), dtype)
    y = gj.placeholder("y", (None, n_out), dtype)
    w1 = gj.variable((rng.standard_normal((n_in, n_hidden)) * 0.05).astype(dtype), name="W1")
    b1 = gj.variable(np.zeros(n_hidden, dtype), name="b1")
    w2 = gj.variable((rng.standard_normal((n_hidden, n_out)) * 0.05).astype(dtype), name="W2")
    b2 = gj.variable(np.zeros(n_out, dtype), name="b2")
    h = gj.relu(x @ w1 + b1)
    pred = h @ w2 + b2
    loss = gj.mean((pred - y) ** 2)
    params = [w1, b1, w2, b2]
    grads = gj.grad(loss, params)
    updates = {p: p - lr * g for p, g in zip(params, grads)}
    step = gj.compile([x, y], [loss], updates=updates, backend=backend)
    return step, params


def mlp_data(
    batch: int = 256, n_in: int = 784, n_out: int = 10, dtype: str = "float32", seed: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (
        rng.standard_normal((batch, n_in)).astype(dtype),
        rng.standard_normal((batch, n_out)).astype(dtype),
    )


def sine_fit_step(lr: float = 1e-6, seed: int = 0, backend: str = "cpu") -> tuple[Any, list[Any]]:
    """One step of the seed example: a cubic a + b x + c x^2 + d x^3 fitted to sin by SGD."""
    rng = np.random.default_rng(seed)
    x = gj.placeholder("x", (None,))
    y = gj.placeholder("y", (None,))
    coef = [gj.variable(rng.standard_normal(), name=n) for n in "abcd"]
    a, b, c, d = coef
    pred = a + b * x + c * x**2 + d * x**3
    loss = gj.sum((pred - y) ** 2)
    grads = gj.grad(loss, coef)
    updates = {p: p - lr * g for p, g in zip(coef, grads)}
    step = gj.compile([x, y], [loss], updates=updates, backend=backend)
    return step, coef
