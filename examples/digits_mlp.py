"""An MLP on scikit-learn's handwritten digits, trained compiled, then exported to ONNX.

``load_digits`` (8x8 images, ten classes) is split into train and test sets; a two-layer MLP is
trained with Adam by one compiled step per minibatch to at least 95% test accuracy. With tqdm
installed a progress bar shows the epochs; with matplotlib the loss curve is saved as a PNG. The
trained model is then exported with ``gj.onnx.export`` and, with onnxruntime installed, its
predictions are checked against graphjit's. Needs scikit-learn (skipped with a message without).

    python examples/digits_mlp.py [--epochs 30] [--plot loss.png] [--onnx digits.onnx]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from typing import Any

import numpy as np

import graphjit as gj
from graphjit import nn


def _progress(iterable: Any, total: int) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, total=total, desc="epochs", disable=os.environ.get("CI") == "true")


def main(argv: list[str] | None = None) -> float | None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    small = os.environ.get("GRAPHJIT_EXAMPLES_SMALL") == "1"
    parser.add_argument("--epochs", type=int, default=15 if small else 30)
    parser.add_argument("--plot", default=None, help="where to save the loss curve (PNG)")
    parser.add_argument("--onnx", default=None, help="where to write the ONNX model")
    args = parser.parse_args(argv)
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError:
        print("digits_mlp: scikit-learn is not installed (pip install scikit-learn); skipping")
        return None

    digits = load_digits()
    data = (digits.data / 16.0).astype(np.float64)
    x_train, x_test, y_train, y_test = train_test_split(
        data, digits.target.astype(np.int64), test_size=0.25, random_state=0
    )
    gj.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    opt = gj.optim.Adam(model.parameters(), lr=0.01)
    xs = gj.placeholder("images", (None, 64))
    labels = gj.placeholder("labels", (None,), "int64")
    logp = gj.log_softmax(model(xs), axis=-1)
    loss = -gj.mean(gj.take_along_axis(logp, gj.expand_dims(labels, 1), axis=1))
    step = gj.compile([xs, labels], [loss], updates=opt.updates(loss))
    predict = gj.compile([xs], [gj.argmax(logp, axis=1)])

    rng = np.random.default_rng(0)
    losses = []
    for _ in _progress(range(args.epochs), total=args.epochs):
        order = rng.permutation(len(x_train))
        for start in range(0, len(order), 64):
            batch = order[start : start + 64]
            losses.append(float(step(x_train[batch], y_train[batch])[0]))
    accuracy = float(np.mean(predict(x_test)[0] == y_test))
    print(f"test accuracy after {args.epochs} epochs: {accuracy:.3f} (final loss {losses[-1]:.4f})")
    assert accuracy >= 0.95, f"test accuracy {accuracy:.3f} is under 95%"

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib is not installed: no loss curve)")
    else:
        path = args.plot or os.path.join(tempfile.mkdtemp(), "digits_loss.png")
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.plot(losses)
        ax.set_xlabel("step")
        ax.set_ylabel("cross-entropy")
        ax.set_yscale("log")
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)
        print(f"loss curve saved to {path}")

    try:
        import onnx  # noqa: F401
    except ImportError:
        print("(onnx is not installed: no ONNX export)")
        return accuracy
    path = args.onnx or os.path.join(tempfile.mkdtemp(), "digits.onnx")
    gj.onnx.export(predict, path)
    print(f"exported to {path}")
    try:
        import onnxruntime as ort
    except ImportError:
        print("(onnxruntime is not installed: the export is not run)")
        return accuracy
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    (onnx_pred,) = session.run(None, {"images": x_test})
    assert np.array_equal(onnx_pred, predict(x_test)[0]), "onnxruntime disagrees with graphjit"
    print("onnxruntime predicts the same classes")
    return accuracy


if __name__ == "__main__":
    main()
