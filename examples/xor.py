"""Learn XOR with one model class, trained eagerly and then as a compiled step.

A ``gj.nn.Module`` with a tanh hidden layer and a sigmoid output. The same model is trained
PyTorch-style (``loss.backward(); opt.step()``) and, from the same initial weights, with
``gj.compile(..., updates=opt.updates(loss))``; both must classify the four points correctly.

    python examples/xor.py [--steps 2000]
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import numpy as np

import graphjit as gj
from graphjit import nn

X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y = np.array([[0.0], [1.0], [1.0], [0.0]])


class XorNet(nn.Module):
    def __init__(self, hidden: int = 8) -> None:
        super().__init__()
        self.hidden = nn.Linear(2, hidden)
        self.out = nn.Linear(hidden, 1)

    def forward(self, x: Any) -> Any:
        return gj.sigmoid(self.out(gj.tanh(self.hidden(x))))


def train_eager(steps: int, seed: int) -> XorNet:
    gj.manual_seed(seed)
    model = XorNet()
    opt = gj.optim.Adam(model.parameters(), lr=0.05)
    loss_fn = nn.MSELoss()
    for _ in range(steps):
        loss = loss_fn(model(gj.tensor(X)), gj.tensor(Y))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


def train_compiled(steps: int, seed: int) -> XorNet:
    gj.manual_seed(seed)
    model = XorNet()
    opt = gj.optim.Adam(model.parameters(), lr=0.05)
    xs, ys = gj.placeholder("x", (None, 2)), gj.placeholder("y", (None, 1))
    loss = nn.MSELoss()(model(xs), ys)
    step = gj.compile([xs, ys], [loss], updates=opt.updates(loss))
    for _ in range(steps):
        step(X, Y)
    return model


def main(argv: list[str] | None = None) -> dict[str, np.ndarray]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    small = os.environ.get("GRAPHJIT_EXAMPLES_SMALL") == "1"
    parser.add_argument("--steps", type=int, default=500 if small else 2000)
    args = parser.parse_args(argv)
    predictions = {}
    for name, train in (("eager", train_eager), ("compiled", train_compiled)):
        model = train(args.steps, seed=0)
        with gj.no_grad():
            p = model(gj.tensor(X)).numpy()
        predictions[name] = p
        print(f"{name:>8}: {np.round(p.ravel(), 3)}")
        assert np.array_equal(p > 0.5, Y > 0.5), f"{name} training did not learn XOR: {p.ravel()}"
    np.testing.assert_allclose(predictions["eager"], predictions["compiled"], atol=1e-6)
    print("both learned XOR, on the same trajectory")
    return predictions


if __name__ == "__main__":
    main()
