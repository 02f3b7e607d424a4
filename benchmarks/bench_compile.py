"""Cold compile time against graph size: the chain ``y = sin(y) * 0.5 + k`` repeated N times on
one placeholder of shape (None,), compiled for the cpu backend with an empty cache, each size in a
fresh process (timed from the graph built to the end of the first call); jax.jit's compile of the
same chain when jax is installed. Prints the times and the growth exponent (the slope of log time
against log N): 1 is linear."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
from typing import Any

import numpy as np

from benchmarks.bench_core import have

SIZES = (1000, 2000, 5000, 10_000)
QUICK_SIZES = (250, 500, 1000)

_OURS = """
import sys, time
sys.path.insert(0, {root})
import numpy as np
import graphjit as gj
x = gj.placeholder("x", (None,))
y = x
for i in range({n}):
    y = gj.sin(y) * 0.5 + 0.25
t0 = time.perf_counter()
f = gj.compile([x], y)
f(np.linspace(-1.0, 1.0, 1000))
print(time.perf_counter() - t0)
"""

_JAX = """
import time
import jax, jax.numpy as jnp
jax.config.update("jax_enable_x64", True)
def chain(v):
    for i in range({n}):
        v = jnp.sin(v) * 0.5 + 0.25
    return v
x = jnp.linspace(-1.0, 1.0, 1000)
t0 = time.perf_counter()
jax.jit(chain)(x).block_until_ready()
print(time.perf_counter() - t0)
"""


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(script: str) -> float:
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, GRAPHJIT_CACHE_DIR=cache, PYTHONWARNINGS="ignore")
        out = subprocess.run(
            [sys.executable, "-c", script],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    return float(out.stdout.strip().splitlines()[-1])


def growth_exponent(sizes: list[int], times: list[float]) -> float:
    """The least-squares slope of log(time) against log(size)."""
    slope, _ = np.polyfit([math.log(n) for n in sizes], [math.log(t) for t in times], 1)
    return float(slope)


def measure(sizes: tuple[int, ...]) -> dict[str, list[float]]:
    """Cold compile seconds per size: graphjit's, and jax's when installed."""
    results = {"graphjit": [_run(_OURS.format(n=n, root=repr(ROOT))) for n in sizes]}
    if have("jax"):
        results["jax"] = [_run(_JAX.format(n=n)) for n in sizes]
    return results


def main(quick: bool = False) -> list[dict[str, Any]]:
    sizes = QUICK_SIZES if quick else SIZES
    results = measure(sizes)
    names = list(results)
    print(f"{'N':>8}" + "".join(f" {name + ' (s)':>14}" for name in names))
    for k, n in enumerate(sizes):
        print(f"{n:>8}" + "".join(f" {results[name][k]:>14.2f}" for name in names))
    exponents = "   ".join(
        f"{name}: {growth_exponent(list(sizes), results[name]):.2f}" for name in names
    )
    print(f"growth exponent (1 = linear)   {exponents}")
    records: list[dict[str, Any]] = [
        {"workload": f"compile chain N={n}", "seconds": {k: v[i] for k, v in results.items()}}
        for i, n in enumerate(sizes)
    ]
    records.append(
        {
            "workload": "compile growth exponent",
            "exponent": {k: growth_exponent(list(sizes), v) for k, v in results.items()},
        }
    )
    return records
