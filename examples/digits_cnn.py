"""A small CNN on scikit-learn's handwritten digits (8x8 images), trained by a compiled step.

Two 3x3 convolutions (8 and 16 channels, 'same' padding) with ReLU, a 2x2 pool (max pooling when
``gj.nn.functional.max_pool2d`` exists, else a 2x2 mean), then two linear layers; Adam on the
cross-entropy, one compiled step per minibatch, to at least 97% test accuracy. With tqdm installed
a progress bar shows the epochs; with matplotlib the loss and test accuracy curves are saved as a
PNG. Needs scikit-learn (skipped with a message without).

    python examples/digits_cnn.py [--epochs 20] [--plot curves.png]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from typing import Any

import numpy as np

import graphjit as gj
from graphjit import nn

F = gj.nn.functional


class Pool2(nn.Module):
    """2x2 pooling with stride 2: max pooling when graphjit has it, else the mean of each 2x2."""

    def forward(self, x: Any) -> Any:
        max_pool2d = getattr(F, "max_pool2d", None)
        if max_pool2d is not None:
            return max_pool2d(x, 2)
        _, c, h, w = x.shape
        return gj.mean(gj.reshape(x, (-1, c, h // 2, 2, w // 2, 2)), axis=(3, 5))


def build_model() -> nn.Module:
    """The CNN for (N, 1, 8, 8) images: ten logits per image."""
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding="same"), nn.ReLU(),
        nn.Conv2d(8, 16, 3, padding="same"), nn.ReLU(), Pool2(), nn.Flatten(),
        nn.Linear(16 * 4 * 4, 64), nn.ReLU(), nn.Linear(64, 10),
    )  # fmt: skip


def compile_step(model: nn.Module, opt: Any) -> Any:
    """One optimizer step on cross_entropy(model(images), labels), compiled; returns the loss."""
    xs = gj.placeholder("images", (None, 1, 8, 8))
    labels = gj.placeholder("labels", (None,), "int64")
    loss = F.cross_entropy(model(xs), labels)
    return gj.compile([xs, labels], [loss], updates=opt.updates(loss), backend="cpu")


def _progress(iterable: Any, total: int) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, total=total, desc="epochs", disable=os.environ.get("CI") == "true")


def _plot(losses: list[float], accuracies: list[float], path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib is not installed: no curves)")
        return
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3))
    left.plot(losses)
    left.set_xlabel("step")
    left.set_ylabel("cross-entropy")
    left.set_yscale("log")
    right.plot(range(1, len(accuracies) + 1), accuracies, marker="o")
    right.set_xlabel("epoch")
    right.set_ylabel("test accuracy")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    print(f"loss and accuracy curves saved to {path}")


def main(argv: list[str] | None = None) -> float | None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--plot", default=None, help="where to save the curves (PNG)")
    args = parser.parse_args(argv)
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError:
        print("digits_cnn: scikit-learn is not installed (pip install scikit-learn); skipping")
        return None

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float64)[:, None]  # (N, 1, 8, 8)
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target.astype(np.int64), test_size=0.25, random_state=0
    )
    gj.manual_seed(0)
    model = build_model()
    opt = gj.optim.Adam(model.parameters(), lr=0.005)
    step = compile_step(model, opt)
    xs = gj.placeholder("images", (None, 1, 8, 8))
    predict = gj.compile([xs], [gj.argmax(model(xs), axis=1)], backend="cpu")

    rng = np.random.default_rng(0)
    losses: list[float] = []
    accuracies: list[float] = []
    for _ in _progress(range(args.epochs), total=args.epochs):
        order = rng.permutation(len(x_train))
        for start in range(0, len(order), 32):
            batch = order[start : start + 32]
            losses.append(float(step(x_train[batch], y_train[batch])[0]))
        accuracies.append(float(np.mean(predict(x_test)[0] == y_test)))
    accuracy = accuracies[-1]
    print(f"test accuracy after {args.epochs} epochs: {accuracy:.3f} (final loss {losses[-1]:.4f})")
    assert accuracy >= 0.97, f"test accuracy {accuracy:.3f} is under 97%"
    _plot(losses, accuracies, args.plot or os.path.join(tempfile.mkdtemp(), "digits_cnn.png"))
    return accuracy


if __name__ == "__main__":
    main()
