"""Transcendental-heavy elementwise chains on the CPU backend against numpy and, when installed,
jax.jit (float64, measured in the same run). They exercise the vectorisable math library
(graphjit.kernels.math): ``log1p(exp(x)) * sin(x) + erf(x)``, a few single functions and
``x ** y``. Each peer is checked against the numpy/scipy reference before it is timed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.special import erf as scipy_erf

import graphjit as gj
from benchmarks.bench_core import Table, best, check, have, jax_x64


def _ref_chain(x: np.ndarray) -> np.ndarray:
    return np.log1p(np.exp(x)) * np.sin(x) + scipy_erf(x)


# name, graphjit builder, numpy reference, jax builder (over jax.numpy and jax.scipy.special)
FUNCTIONS: list[tuple[str, Callable[[Any], Any], Callable[[np.ndarray], Any], str]] = [
    ("log1p(exp(x))*sin(x)+erf(x)", lambda v: gj.log1p(gj.exp(v)) * gj.sin(v) + gj.erf(v),
     _ref_chain, "chain"),
    ("exp(x)", gj.exp, np.exp, "exp"),
    ("log(|x|)", lambda v: gj.log(gj.abs(v)), lambda a: np.log(np.abs(a)), "log"),
    ("sin(x)", gj.sin, np.sin, "sin"),
    ("tanh(x)", gj.tanh, np.tanh, "tanh"),
    ("erf(x)", gj.erf, scipy_erf, "erf"),
]  # fmt: skip


def _jax_fn(key: str) -> Any:
    import jax.numpy as jnp
    from jax.scipy.special import erf

    return {
        "chain": lambda v: jnp.log1p(jnp.exp(v)) * jnp.sin(v) + erf(v),
        "exp": jnp.exp,
        "log": lambda v: jnp.log(jnp.abs(v)),
        "sin": jnp.sin,
        "tanh": jnp.tanh,
        "erf": erf,
    }[key]


def _power_row(table: Table, n: int, repeat: int) -> None:
    """``x ** y`` (a fused loop calling kernels.math.pow) against np.power and jax's power, for
    x over e**-5..e**5 and y in [-20, 20]."""
    rng = np.random.default_rng(1)
    x = np.exp(rng.uniform(-5.0, 5.0, n))
    y = rng.uniform(-20.0, 20.0, n)
    xp, yp = gj.placeholder("x", (None,)), gj.placeholder("y", (None,))
    f = gj.compile([xp, yp], [xp**yp])
    want = np.power(x, y)
    np.testing.assert_allclose(f(x, y)[0], want, rtol=1e-15)
    peers: dict[str, float] = {}
    if have("jax"):
        jax = jax_x64()
        jf = jax.jit(jax.numpy.power)
        xj, yj = jax.numpy.asarray(x), jax.numpy.asarray(y)
        check(jf(xj, yj), want, 1e-9)
        peers["jax"] = best(lambda: jf(xj, yj).block_until_ready(), repeat)
    table.add(f"x**y, {n:.0e} f64", best(lambda: f(x, y), repeat),
              best(lambda: np.power(x, y), repeat), **peers)  # fmt: skip


def main(quick: bool = False) -> list[dict[str, Any]]:
    n = 10**6 if quick else 10**7
    repeat = 3 if quick else 7
    x = np.random.default_rng(0).standard_normal(n) * 3.0
    table = Table()
    for name, build, ref, key in FUNCTIONS:
        xp = gj.placeholder("x", (None,))
        f = gj.compile([xp], build(xp))
        want = ref(x)
        np.testing.assert_allclose(f(x), want, rtol=1e-13, atol=1e-15)
        peers: dict[str, float] = {}
        if have("jax"):
            jax = jax_x64()
            jf = jax.jit(_jax_fn(key))
            xj = jax.numpy.asarray(x)
            check(jf(xj), want, 1e-9)
            peers["jax"] = best(lambda jf=jf, xj=xj: jf(xj).block_until_ready(), repeat)
        table.add(
            f"{name}, {n:.0e} f64",
            best(lambda f=f: f(x), repeat),
            best(lambda ref=ref: ref(x), repeat),
            **peers,
        )
    _power_row(table, n, repeat)
    table.print()
    print("numpy/gj and jax/gj > 1 mean graphjit is faster; target: the chain >= 2x jax.jit")
    return table.records()
