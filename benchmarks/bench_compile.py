"""Cold compile time against graph size, each size in a fresh process with an empty cache (timed
from the graph built to the end of the first call), against jax.jit's compile of the same function
when jax is installed. Prints the times and the growth exponent (the slope of log time against log
size): 1 is linear.

- the chain ``y = sin(y) * 0.5 + k`` repeated N times on one placeholder of shape (None,): one
  fused loop nest of N links;
- an LSTM (batch 16, input 8, hidden 64, float32) unrolled over T steps, its SGD training step:
  hundreds of steps in the program (matmuls between the fused nests), the same nests repeated at
  every time step (full runs only);
- an Adam training step of an MLP of 2 to 12 tanh layers, 32 wide: a program taking hundreds of
  arrays (each parameter, its two moments and its step count) (full runs only)."""

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
LSTM_STEPS = (5, 10, 20, 40)

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

_LSTM = """
import sys, time
sys.path.insert(0, {root})
import numpy as np
import graphjit as gj
T, B, I, H = {n}, 16, 8, 64
rng = np.random.default_rng(0)
x = gj.placeholder("x", (T, B, I), "float32")
wx = gj.variable((rng.standard_normal((I, 4 * H)) * 0.1).astype("float32"), name="wx")
wh = gj.variable((rng.standard_normal((H, 4 * H)) * 0.1).astype("float32"), name="wh")
b = gj.variable(np.zeros(4 * H, "float32"), name="b")
h = c = gj.zeros((B, H), "float32")
for t in range(T):
    z = x[t] @ wx + h @ wh + b
    i, f, g, o = z[:, :H], z[:, H : 2 * H], z[:, 2 * H : 3 * H], z[:, 3 * H :]
    c = gj.sigmoid(f) * c + gj.sigmoid(i) * gj.tanh(g)
    h = gj.sigmoid(o) * gj.tanh(c)
loss = gj.mean(h**2)
params = [wx, wh, b]
grads = gj.grad(loss, params)
t0 = time.perf_counter()
step = gj.compile([x], [loss], updates={{p: p - 0.1 * g for p, g in zip(params, grads)}})
step(rng.standard_normal((T, B, I)).astype("float32"))
print(time.perf_counter() - t0)
"""

_JAX_LSTM = """
import time
import numpy as np
import jax, jax.numpy as jnp
T, B, I, H = {n}, 16, 8, 64
def loss(params, x):
    wx, wh, b = params
    h = c = jnp.zeros((B, H), jnp.float32)
    for t in range(T):
        z = x[t] @ wx + h @ wh + b
        i, f, g, o = z[:, :H], z[:, H : 2 * H], z[:, 2 * H : 3 * H], z[:, 3 * H :]
        c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
        h = jax.nn.sigmoid(o) * jnp.tanh(c)
    return jnp.mean(h**2)
@jax.jit
def step(params, x):
    value, grads = jax.value_and_grad(loss)(params, x)
    return value, [p - 0.1 * g for p, g in zip(params, grads)]
rng = np.random.default_rng(0)
shapes = ((I, 4 * H), (H, 4 * H), (4 * H,))
params = [jnp.asarray(rng.standard_normal(s).astype("float32") * 0.1) for s in shapes]
x = jnp.asarray(rng.standard_normal((T, B, I)).astype("float32"))
t0 = time.perf_counter()
jax.block_until_ready(step(params, x))
print(time.perf_counter() - t0)
"""

# an Adam training step of an MLP of L tanh layers, 32 wide: 4 variables per weight and bias
# (the parameter, two moments, a step count), so hundreds of arrays in and out of the program
_ADAM = """
import sys, time
sys.path.insert(0, {root})
import numpy as np
import graphjit as gj
gj.manual_seed(0)
layers = []
for _ in range({n}):
    layers += [gj.nn.Linear(32, 32), gj.nn.Tanh()]
model = gj.nn.Sequential(*layers, gj.nn.Linear(32, 1))
opt = gj.optim.Adam(model.parameters(), lr=1e-3)
x = gj.placeholder("x", (None, 32))
y = gj.placeholder("y", (None, 1))
loss = gj.nn.MSELoss()(model(x), y)
t0 = time.perf_counter()
step = gj.compile([x, y], [loss], updates=opt.updates(loss))
step(np.ones((16, 32)), np.ones((16, 1)))
print(time.perf_counter() - t0)
"""

_JAX_ADAM = """
import time
import numpy as np
import jax, jax.numpy as jnp
jax.config.update("jax_enable_x64", True)
L = {n}
def loss(params, x, y):
    h = x
    for w, b in params[:-1]:
        h = jnp.tanh(h @ w + b)
    w, b = params[-1]
    return jnp.mean((h @ w + b - y) ** 2)
@jax.jit
def step(params, m, v, t, x, y):
    value, g = jax.value_and_grad(loss)(params, x, y)
    t = t + 1.0
    m = jax.tree.map(lambda m, g: 0.9 * m + 0.1 * g, m, g)
    v = jax.tree.map(lambda v, g: 0.999 * v + 0.001 * g * g, v, g)
    def new(p, m, v):
        return p - 1e-3 * (m / (1 - 0.9**t)) / (jnp.sqrt(v / (1 - 0.999**t)) + 1e-8)
    return value, jax.tree.map(new, params, m, v), m, v, t
rng = np.random.default_rng(0)
shapes = [((32, 32), (32,))] * L + [((32, 1), (1,))]
params = [(jnp.asarray(rng.standard_normal(a) * 0.1), jnp.zeros(b)) for a, b in shapes]
zeros = jax.tree.map(jnp.zeros_like, params)
x, y = jnp.ones((16, 32)), jnp.ones((16, 1))
t0 = time.perf_counter()
jax.block_until_ready(step(params, zeros, zeros, 0.0, x, y))
print(time.perf_counter() - t0)
"""
ADAM_LAYERS = (2, 4, 8, 12)

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


def measure(ours: str, jax: str, sizes: tuple[int, ...]) -> dict[str, list[float]]:
    """Cold compile seconds per size: graphjit's, and jax's when installed."""
    results = {"graphjit": [_run(ours.format(n=n, root=repr(ROOT))) for n in sizes]}
    if have("jax"):
        results["jax"] = [_run(jax.format(n=n)) for n in sizes]
    return results


def report(
    what: str, size_name: str, sizes: tuple[int, ...], ours: str, jax: str
) -> list[dict[str, Any]]:
    """Print and return the cold compile times of ``what`` at each size, and their growth."""
    results = measure(ours, jax, sizes)
    names = list(results)
    print(f"compile, {what}")
    print(f"{size_name:>8}" + "".join(f" {name + ' (s)':>14}" for name in names))
    for k, n in enumerate(sizes):
        print(f"{n:>8}" + "".join(f" {results[name][k]:>14.2f}" for name in names))
    exponents = "   ".join(
        f"{name}: {growth_exponent(list(sizes), results[name]):.2f}" for name in names
    )
    print(f"growth exponent (1 = linear)   {exponents}")
    records: list[dict[str, Any]] = [
        {
            "workload": f"compile {what} {size_name}={n}",
            "seconds": {k: v[i] for k, v in results.items()},
        }
        for i, n in enumerate(sizes)
    ]
    records.append(
        {
            "workload": f"compile {what} growth exponent",
            "exponent": {k: growth_exponent(list(sizes), v) for k, v in results.items()},
        }
    )
    return records


def main(quick: bool = False) -> list[dict[str, Any]]:
    records = report("chain", "N", QUICK_SIZES if quick else SIZES, _OURS, _JAX)
    if not quick:
        print()
        records += report("unrolled LSTM training step", "T", LSTM_STEPS, _LSTM, _JAX_LSTM)
        print()
        records += report("Adam step of an MLP", "layers", ADAM_LAYERS, _ADAM, _JAX_ADAM)
    return records
