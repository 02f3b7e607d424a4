"""Fit a cubic to sin(x) by gradient descent: numpy, eager graphjit, compiled graphjit.

The classic first example of the NumPy-vs-PyTorch tutorials: y = a + b x + c x^2 + d x^3 fitted to
sin(x) on [-pi, pi] (2000 points, 2000 steps, learning rate 1e-6, sum of squares loss). The same
loop runs three ways, from the same starting coefficients: by hand in numpy, with graphjit's eager
Tensor (``loss.backward()``), and as a compiled step called once per step (and as one compiled
loop with ``f.repeat`` where this graphjit has it). All print the same coefficients, and the times.

    python examples/sine_fit.py [--steps 2000] [--points 2000]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import graphjit as gj

LR = 1e-6


def numpy_fit(x: np.ndarray, y: np.ndarray, coef: np.ndarray, steps: int) -> np.ndarray:
    a, b, c, d = coef.copy()
    for _ in range(steps):
        pred = a + b * x + c * x**2 + d * x**3
        g = 2.0 * (pred - y)
        a, b, c, d = (
            a - LR * g.sum(),
            b - LR * (g * x).sum(),
            c - LR * (g * x**2).sum(),
            d - LR * (g * x**3).sum(),
        )
    return np.array([a, b, c, d])


def eager_fit(x: np.ndarray, y: np.ndarray, coef: np.ndarray, steps: int) -> np.ndarray:
    xt, yt = gj.tensor(x), gj.tensor(y)
    params = [gj.tensor(v, requires_grad=True) for v in coef]
    for _ in range(steps):
        a, b, c, d = params
        loss = ((a + b * xt + c * xt**2 + d * xt**3 - yt) ** 2).sum()
        loss.backward()
        with gj.no_grad():
            for p in params:
                p -= LR * p.grad
                p.grad = None
    return np.array([p.item() for p in params])


def compiled_step(coef: np.ndarray) -> tuple[gj.CompiledFunction, list[gj.Variable]]:
    xs, ys = gj.placeholder("x", (None,)), gj.placeholder("y", (None,))
    params = [gj.variable(v, name=n) for v, n in zip(coef, "abcd")]
    a, b, c, d = params
    loss = gj.sum((a + b * xs + c * xs**2 + d * xs**3 - ys) ** 2)
    grads = gj.grad(loss, params)
    updates = {p: p - LR * g for p, g in zip(params, grads)}
    return gj.compile([xs, ys], [loss], updates=updates), params


def main(argv: list[str] | None = None) -> dict[str, np.ndarray]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    small = os.environ.get("GRAPHJIT_EXAMPLES_SMALL") == "1"
    parser.add_argument("--steps", type=int, default=200 if small else 2000)
    parser.add_argument("--points", type=int, default=2000)
    args = parser.parse_args(argv)
    x = np.linspace(-np.pi, np.pi, args.points)
    y = np.sin(x)
    coef = np.random.default_rng(0).normal(size=4)
    results: dict[str, np.ndarray] = {}
    times: dict[str, float] = {}

    start = time.perf_counter()
    results["numpy"] = numpy_fit(x, y, coef, args.steps)
    times["numpy"] = time.perf_counter() - start

    start = time.perf_counter()
    results["eager graphjit"] = eager_fit(x, y, coef, args.steps)
    times["eager graphjit"] = time.perf_counter() - start

    step, params = compiled_step(coef)
    step(x, y)  # compile (and take the first step)
    start = time.perf_counter()
    for _ in range(args.steps - 1):
        step(x, y)
    times["compiled, per step"] = time.perf_counter() - start
    results["compiled, per step"] = np.array([float(p.get_value()) for p in params])

    if hasattr(step, "repeat"):
        step2, params2 = compiled_step(coef)
        start = time.perf_counter()
        step2.repeat(args.steps, x, y)
        times["compiled, f.repeat"] = time.perf_counter() - start
        results["compiled, f.repeat"] = np.array([float(p.get_value()) for p in params2])
    else:
        print("(f.repeat is not in this graphjit: skipping the one-loop variant)")

    for name, value in results.items():
        a, b, c, d = value
        print(
            f"{name:>20}: y = {a:+.6f} {b:+.6f} x {c:+.6f} x^2 {d:+.6f} x^3"
            f"   ({times[name] * 1e3:8.1f} ms)"
        )
    for name, value in results.items():
        np.testing.assert_allclose(value, results["numpy"], rtol=1e-6, atol=1e-9, err_msg=name)
    return results


if __name__ == "__main__":
    main()
