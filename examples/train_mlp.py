"""Train a small MLP on a synthetic regression, eagerly and then as one compiled step.

The classic flow: a ``gj.nn.Module`` subclass, a loss and an optimiser, trained PyTorch-style with
``loss.backward()`` and ``opt.step()``. The very same model then builds a graph from placeholders,
and ``gj.compile(..., updates=opt.updates(loss))`` turns a whole training step (forward, gradient,
SGD-with-momentum update) into one function that keeps training the same parameters and momentum
buffers. Finally the state dict is saved and loaded into a fresh model.

    python examples/train_mlp.py [--backend cpu|numpy] [--out simplenet.npz]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from typing import Any

import numpy as np

import graphjit as gj
from graphjit import nn


class SimpleNet(nn.Module):
    """Two inputs -> 32 hidden ReLU units -> one output."""

    def __init__(self, hidden: int = 32) -> None:
        super().__init__()
        self.fc1 = nn.Linear(2, hidden)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(hidden, 1)

    def forward(self, x: Any) -> Any:
        return self.fc2(self.relu(self.fc1(x)))


def make_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """y = sin(pi x0) / 2 + x1^2 - 1/3 plus a little noise, for x uniform in [-1, 1]^2."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, size=(n, 2))
    y = 0.5 * np.sin(np.pi * x[:, :1]) + x[:, 1:] ** 2 - 1.0 / 3.0
    return x, y + 0.01 * rng.normal(size=y.shape)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="cpu", choices=["numpy", "cpu", "cuda"])
    parser.add_argument("--eager-steps", type=int, default=300)
    parser.add_argument("--compiled-steps", type=int, default=300)
    parser.add_argument("--out", default=None, help="where to save the state dict (.npz)")
    args = parser.parse_args(argv)

    gj.manual_seed(0)
    x, y = make_data(256)
    model = SimpleNet()
    loss_fn = nn.MSELoss()
    opt = gj.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    print(model)

    # 1. eager training, PyTorch-style
    start = time.perf_counter()
    xt, yt = gj.tensor(x), gj.tensor(y)
    initial = eager = float("nan")
    for step in range(args.eager_steps):
        loss = loss_fn(model(xt), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        eager = loss.item()
        if step == 0:
            initial = eager
        if step % 100 == 0 or step == args.eager_steps - 1:
            print(f"eager    step {step:4d}  loss {eager:.5f}")
    print(f"eager:    {args.eager_steps} steps in {time.perf_counter() - start:.2f}s")

    # 2. the same model (and optimiser state) as one compiled training step
    start = time.perf_counter()
    xs = gj.placeholder("x", shape=(None, 2))
    ys = gj.placeholder("y", shape=(None, 1))
    graph_loss = loss_fn(model(xs), ys)
    train_step = gj.compile(
        [xs, ys], [graph_loss], updates=opt.updates(graph_loss), backend=args.backend
    )
    print(
        f"compiled: training step built for backend {args.backend!r} "
        f"in {time.perf_counter() - start:.2f}s"
    )
    start = time.perf_counter()
    compiled = float("nan")
    for step in range(args.compiled_steps):
        (value,) = train_step(x, y)
        compiled = float(value)
        if step % 100 == 0 or step == args.compiled_steps - 1:
            print(f"compiled step {step:4d}  loss {compiled:.5f}")
    print(f"compiled: {args.compiled_steps} steps in {time.perf_counter() - start:.2f}s")

    # the eager model reads the parameters the compiled step updated
    with gj.no_grad():
        final = loss_fn(model(xt), yt).item()
    print(f"eager model after compiled training: loss {final:.5f}")

    # 3. save and reload the state dict into a fresh model
    out = args.out or os.path.join(tempfile.mkdtemp(prefix="graphjit-"), "simplenet.npz")
    gj.save(model.state_dict(), out)
    fresh = SimpleNet()
    fresh.load_state_dict(gj.load(out))
    with gj.no_grad():
        diff = float(np.max(np.abs(fresh(xt).numpy() - model(xt).numpy())))
    print(f"reloaded from {out}: max prediction difference {diff:g}")
    return {
        "initial_loss": initial,
        "eager_loss": eager,
        "compiled_loss": compiled,
        "final_loss": final,
        "reload_max_diff": diff,
    }


if __name__ == "__main__":
    main()
