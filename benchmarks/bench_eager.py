"""Per-op overhead of eager tensors on small inputs: numpy, graphjit eager, and PyTorch eager when
installed (an optional peer; skipped when absent). Small tensors make the time per call almost all
overhead (dispatch, dtype promotion, shape rule, tape), which is what this measures.

Run ``python benchmarks/bench_eager.py [--quick]`` or ``python -m benchmarks``. Timings are the best
of several repeats, in microseconds per call; the ratio column is graphjit over torch (the targets:
a geometric mean within 1.5x, no op above 2.5x).
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


def _best(fn: Callable[[], Any], number: int, repeat: int) -> float:
    """Best time per call in microseconds."""
    fn()  # warm up (first-call caches)
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def _cases(lib: Any, kind: str) -> dict[str, Callable[[], Any]]:
    """One callable per benchmarked operation, built with ``lib`` (numpy, gj or torch)."""
    rng = np.random.default_rng(0)
    a_np, b_np = rng.standard_normal(16), rng.standard_normal(16)
    m_np = rng.standard_normal((4, 4))
    if kind == "numpy":
        a, b, m = a_np, b_np, m_np
        w = a_np.copy()
    elif kind == "gj":
        a, b, m = gj.tensor(a_np), gj.tensor(b_np), gj.tensor(m_np)
        w = gj.tensor(a_np, requires_grad=True)
    else:
        a, b, m = torch.tensor(a_np), torch.tensor(b_np), torch.tensor(m_np)
        w = torch.tensor(a_np, requires_grad=True)

    cases: dict[str, Callable[[], Any]] = {
        "a + b": lambda: a + b,
        "a * 2.0": lambda: a * 2.0,
        "exp(a)": lambda: lib.exp(a),
        "a.sum()": lambda: a.sum(),
        "m @ m": lambda: m @ m,
        "m[1:, 0]": lambda: m[1:, 0],
        "m.reshape(2, 8)": lambda: m.reshape(2, 8),
        "a > b": lambda: a > b,
    }
    if kind != "numpy":
        cases["w * b (tape)"] = lambda: w * b

        def fwd_bwd() -> None:
            loss = ((w * a + b) ** 2).sum()
            loss.backward()
            w.grad = None

        cases["fwd+bwd, 4 ops"] = fwd_bwd
    return cases


def main(quick: bool = False) -> None:
    number, repeat = (300, 3) if quick else (3000, 7)
    libs: list[tuple[str, Any, str]] = [("numpy", np, "numpy"), ("gj eager", gj, "gj")]
    if torch is not None:
        torch.set_num_threads(1)
        libs.append((f"torch {torch.__version__.split('+')[0]}", torch, "torch"))
    results: dict[str, dict[str, float]] = {}
    for label, lib, kind in libs:
        results[label] = {name: _best(fn, number, repeat) for name, fn in _cases(lib, kind).items()}

    names = list(results["gj eager"])
    header = f"{'op (16 floats, 4x4 matrix)':<28}" + "".join(f"{label:>14}" for label, _, _ in libs)
    header += f"{'gj / torch':>12}" if torch is not None else ""
    print("eager per-op time, microseconds per call (best of repeats)")
    print(header)
    ratios = []
    for name in names:
        row = f"{name:<28}"
        for label, _, _ in libs:
            t = results[label].get(name)
            row += f"{t:>14.2f}" if t is not None else f"{'-':>14}"
        if torch is not None:
            ratio = results["gj eager"][name] / results[libs[-1][0]][name]
            ratios.append(ratio)
            row += f"{ratio:>11.1f}x"
        print(row)
    if ratios:
        geo = float(np.exp(np.mean(np.log(ratios))))
        print(
            f"geometric mean gj / torch: {geo:.2f}x, worst op {max(ratios):.1f}x "
            "(targets: geometric mean within 1.5x, no op above 2.5x)"
        )
    else:
        print("(torch is not installed: install it to compare against PyTorch eager)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    main(parser.parse_args().quick)
