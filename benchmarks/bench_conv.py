"""A LeNet-5 training step on a batch of 64 28x28 float32 images: graphjit compiled on the cpu
backend (conv kernels: im2col feeding BLAS) against PyTorch on the CPU, when installed (an optional
peer; skipped when absent).

The model: conv 6@5x5 pad 2 -> relu -> 2x2 pool -> conv 16@5x5 -> relu -> 2x2 pool -> fc 120 ->
relu -> fc 84 -> relu -> fc 10, cross_entropy, SGD. The pool is ``gj.nn.functional.max_pool2d``
when graphjit has it; otherwise a 2x2 mean (a reshape and a mean), labelled as such in the output,
and PyTorch then runs ``avg_pool2d`` so both sides do the same work.

Run ``python benchmarks/bench_conv.py [--quick]`` or ``python -m benchmarks conv``. Timings are the
best of several repeats, in milliseconds per step; the ratio is graphjit over torch (the target is
within 2x).
"""

from __future__ import annotations

import argparse
import timeit
from collections.abc import Callable
from typing import Any

import numpy as np

import graphjit as gj

try:  # an optional peer, measured in the same run
    import torch
except ImportError:  # pragma: no cover - depends on the machine
    torch = None

F = gj.nn.functional
MAX_POOL = getattr(F, "max_pool2d", None)
POOL_NAME = "max pool" if MAX_POOL is not None else "2x2 mean pool (stand-in: no max_pool2d)"


class Pool2(gj.nn.Module):
    """2x2 pooling with stride 2: max pooling when graphjit has it, else the mean of each 2x2."""

    def forward(self, x: Any) -> Any:
        if MAX_POOL is not None:
            return MAX_POOL(x, 2)
        _, c, h, w = x.shape
        return gj.mean(gj.reshape(x, (-1, c, h // 2, 2, w // 2, 2)), axis=(3, 5))


def lenet(dtype: str = "float32") -> gj.nn.Module:
    nn = gj.nn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2, dtype=dtype), nn.ReLU(), Pool2(),
        nn.Conv2d(6, 16, 5, dtype=dtype), nn.ReLU(), Pool2(), nn.Flatten(),
        nn.Linear(400, 120, dtype=dtype), nn.ReLU(), nn.Linear(120, 84, dtype=dtype), nn.ReLU(),
        nn.Linear(84, 10, dtype=dtype),
    )  # fmt: skip


def torch_lenet() -> Any:
    nn = torch.nn
    pool = nn.MaxPool2d(2) if MAX_POOL is not None else nn.AvgPool2d(2)
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), pool, nn.Conv2d(6, 16, 5), nn.ReLU(), pool,
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10),
    )  # fmt: skip


def compiled_step(model: gj.nn.Module, lr: float = 0.01) -> Any:
    """One SGD step of cross_entropy(model(x), y), compiled on the cpu backend."""
    xs = gj.placeholder("x", (None, 1, 28, 28), "float32")
    ys = gj.placeholder("y", (None,), "int64")
    loss = F.cross_entropy(model(xs), ys)
    opt = gj.optim.SGD(model.parameters(), lr=lr)
    return gj.compile([xs, ys], [loss], updates=opt.updates(loss), backend="cpu")


def _best_ms(fn: Callable[[], Any], number: int, repeat: int) -> float:
    fn()  # warm up
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e3


def main(quick: bool = False) -> list[dict[str, Any]]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, size=64)
    number, repeat = (3, 3) if quick else (10, 5)
    step = compiled_step(lenet())
    rows = [{"case": "lenet5 step", "pool": POOL_NAME}]
    gj_ms = _best_ms(lambda: step(x, y), number, repeat)
    rows[0]["graphjit_ms"] = gj_ms
    print(f"LeNet-5 training step, batch 64 x 1 x 28 x 28 float32, pooling: {POOL_NAME}")
    print(f"{'graphjit cpu (compiled)':<28}{gj_ms:>10.2f} ms")
    if torch is None:
        print("(torch is not installed: install it to compare against PyTorch on the CPU)")
        return rows
    model = torch_lenet()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    tx, ty = torch.tensor(x), torch.tensor(y)

    def torch_step() -> None:
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(tx), ty).backward()
        opt.step()

    torch_ms = _best_ms(torch_step, number, repeat)
    rows[0]["torch_ms"] = torch_ms
    name = f"torch {torch.__version__.split('+')[0]} ({torch.get_num_threads()} threads)"
    print(f"{name:<28}{torch_ms:>10.2f} ms")
    print(f"graphjit / torch: {gj_ms / torch_ms:.2f}x (target: within 2x)")
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    main(quick=parser.parse_args().quick)
