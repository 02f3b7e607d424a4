"""Core benchmarks of the numba CPU backend against numpy (and jax.jit / torch when installed),
all measured in the same run: elementwise chain, its gradient, dispatch of a tiny graph, an MLP
SGD step, the seed's sine fit, a 1000x1000 matmul; plus compile times (cold, warm from the disk
cache in a fresh process)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import timeit
from collections.abc import Callable
from typing import Any

import numpy as np

import graphjit as gj
from benchmarks.graphs import chain, mlp_data, mlp_step, sine_fit_step


def best(fn: Callable[[], Any], repeat: int, number: int = 1) -> float:
    """Best time of one call, in seconds (min over ``repeat`` runs of ``number`` calls)."""
    fn()
    return min(timeit.repeat(fn, repeat=repeat, number=number)) / number


def have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, float, float, dict[str, float]]] = []

    def add(self, name: str, ours: float, numpy: float, **peers: float) -> None:
        self.rows.append((name, ours, numpy, peers))

    def print(self) -> None:
        peers = sorted({p for *_, d in self.rows for p in d})
        head = f"{'benchmark':<34} {'graphjit':>11} {'numpy':>11} {'numpy/gj':>9}"
        head += "".join(f" {p:>11} {p + '/gj':>9}" for p in peers)
        print(head)
        print("-" * len(head))
        for name, ours, ref, d in self.rows:
            line = f"{name:<34} {_t(ours):>11} {_t(ref):>11} {ref / ours:>8.2f}x"
            for p in peers:
                line += (
                    f" {_t(d[p]):>11} {d[p] / ours:>8.2f}x" if p in d else f" {'-':>11} {'-':>9}"
                )
            print(line)


def _t(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.2f} us"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def bench_chain(table: Table, n: int, repeat: int) -> None:
    x = np.random.default_rng(0).standard_normal(n)
    xp = gj.placeholder("x", (None,))
    f = gj.compile([xp], chain(xp))
    (g,) = gj.grad(gj.sum(chain(xp)), [xp])
    fg = gj.compile([xp], g)

    def np_chain() -> Any:
        return np.tanh(1.3 * x + 0.2) * np.exp(-x * x) + 0.5

    def np_grad() -> Any:
        t = np.tanh(1.3 * x + 0.2)
        e = np.exp(-x * x)
        return (1.0 - t * t) * 1.3 * e - 2.0 * x * t * e

    np.testing.assert_allclose(f(x), np_chain(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fg(x), np_grad(), rtol=1e-9, atol=1e-12)
    peers: dict[str, float] = {}
    peers_g: dict[str, float] = {}
    if have("jax"):
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
        jf = jax.jit(lambda v: jnp.tanh(1.3 * v + 0.2) * jnp.exp(-v * v) + 0.5)
        jg = jax.jit(jax.grad(lambda v: jnp.sum(jnp.tanh(1.3 * v + 0.2) * jnp.exp(-v * v) + 0.5)))
        xj = jnp.asarray(x)
        peers["jax"] = best(lambda: jf(xj).block_until_ready(), repeat)
        peers_g["jax"] = best(lambda: jg(xj).block_until_ready(), repeat)
    if have("torch"):
        import torch

        xt = torch.from_numpy(x)
        peers["torch"] = best(
            lambda: torch.tanh(1.3 * xt + 0.2) * torch.exp(-xt * xt) + 0.5, repeat
        )
    table.add(
        f"chain tanh*exp, {n:.0e} f64", best(lambda: f(x), repeat), best(np_chain, repeat), **peers
    )
    table.add(
        f"gradient of the chain, {n:.0e}",
        best(lambda: fg(x), repeat),
        best(np_grad, repeat),
        **peers_g,
    )


def bench_dispatch(table: Table, repeat: int) -> None:
    x, y = np.arange(3.0), np.ones(3)
    xp, yp = gj.placeholder("x", (None,)), gj.placeholder("y", (None,))
    f = gj.compile([xp, yp], xp * yp + 1)
    number = 20000
    table.add(
        "dispatch x*y+1, 3 elements",
        best(lambda: f(x, y), repeat, number),
        best(lambda: x * y + 1, repeat, number),
    )


def bench_mlp(table: Table, repeat: int) -> None:
    step, params = mlp_step()
    x, y = mlp_data()
    w1, b1, w2, b2 = (p.get_value() for p in params)
    lr = np.float32(0.01)

    def np_step() -> Any:
        h_pre = x @ w1 + b1
        h = np.maximum(h_pre, 0)
        pred = h @ w2 + b2
        diff = pred - y
        loss = np.mean(diff * diff)
        g_pred = (2.0 / diff.size) * diff
        g_w2 = h.T @ g_pred
        g_b2 = g_pred.sum(0)
        g_h = (g_pred @ w2.T) * (h_pre > 0)
        g_w1 = x.T @ g_h
        g_b1 = g_h.sum(0)
        for p, g in ((w1, g_w1), (b1, g_b1), (w2, g_w2), (b2, g_b2)):
            np.subtract(p, lr * g, out=p)
        return loss

    table.add(
        "MLP SGD step 256x784-256-10 f32", best(lambda: step(x, y), repeat), best(np_step, repeat)
    )


def bench_sine(table: Table, iters: int, repeat: int) -> None:
    step, _ = sine_fit_step()
    x = np.linspace(-np.pi, np.pi, 2000)
    y = np.sin(x)

    def ours() -> None:
        for _ in range(iters):
            step(x, y)

    def numpy_loop() -> None:
        a, b, c, d = np.random.default_rng(0).standard_normal(4)
        lr = 1e-6
        for _ in range(iters):
            pred = a + b * x + c * x**2 + d * x**3
            g = 2.0 * (pred - y)
            a -= lr * g.sum()
            b -= lr * (g * x).sum()
            c -= lr * (g * x**2).sum()
            d -= lr * (g * x**3).sum()

    table.add(f"sine fit, {iters} iterations", best(ours, repeat), best(numpy_loop, repeat))


def bench_matmul(table: Table, n: int, repeat: int) -> None:
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    ap, bp = gj.placeholder("a", (None, None)), gj.placeholder("b", (None, None))
    f = gj.compile([ap, bp], ap @ bp)
    table.add(f"matmul {n}x{n} f64", best(lambda: f(a, b), repeat), best(lambda: a @ b, repeat))


_COMPILE_SCRIPT = """
import time, sys
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
import graphjit
t1 = time.perf_counter()
from benchmarks.graphs import mlp_step, mlp_data
step, params = mlp_step()
step(*mlp_data())
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def compile_times() -> None:
    """Cold compile (empty cache) and warm start (a fresh process, same cache) of the MLP step,
    timed from after ``import graphjit`` to the end of the first call; ``import graphjit`` (which
    imports numpy and numba) is timed apart."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    script = _COMPILE_SCRIPT.format(root=root)
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, GRAPHJIT_CACHE_DIR=cache)
        times = []
        for _ in range(2):
            out = subprocess.run(
                [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
            )
            times.append([float(t) for t in out.stdout.strip().splitlines()[-1].split()])
    (imp0, cold), (imp1, warm) = times
    print(f"import graphjit (numpy, numba included):     {min(imp0, imp1):.2f} s")
    print(f"MLP step compile, cold (empty cache):        {cold:.2f} s   (target <= 2 s)")
    print(f"MLP step ready, warm (fresh process, cache): {warm:.2f} s   (target <= 0.5 s)")


def main(quick: bool = False) -> None:
    repeat = 3 if quick else 7
    table = Table()
    bench_chain(table, 10**6 if quick else 10**7, repeat)
    bench_dispatch(table, repeat)
    bench_mlp(table, repeat)
    bench_sine(table, 200 if quick else 2000, 2 if quick else 3)
    bench_matmul(table, 300 if quick else 1000, repeat)
    table.print()
    print()
    compile_times()
    print(
        "numpy/gj > 1 means graphjit is faster; targets: chain >= 2x, matmul >= 1/1.15, "
        "dispatch >= 1/3"
    )
