"""CUDA backend benchmarks against torch (eager and torch.compile), CuPy and jax.jit, each where
installed (skipped when absent), all measured in the same run on the same GPU: the elementwise
chain on 1e8 float32 (device arrays in and out), its gradient, the sum of the chain, a 4096^2
float32 matmul, an MLP SGD step (B=256, 784-256-10, float32), the seed's sine fit (2000 steps)
and the call overhead of a 3-element graph. Ratios are peer time / graphjit time (above 1:
graphjit is faster). Without a GPU it says so and returns."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

import graphjit as gj
from benchmarks.bench_core import have
from benchmarks.graphs import chain, mlp_data, mlp_step, sine_fit_step


def timed(fn: Callable[[], Any], sync: Callable[[], None], repeat: int) -> float:
    """Best wall time of one call, synchronising the device after it."""
    fn()
    sync()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return min(times)


def _row(name: str, ours: float, peers: dict[str, float]) -> None:
    cols = "  ".join(f"{k} {v * 1e3:9.3f} ms ({v / ours:5.2f}x)" for k, v in peers.items())
    print(f"{name:<28} graphjit {ours * 1e3:9.3f} ms  {cols}")


def main(quick: bool = False) -> None:
    if not gj.cuda.is_available() or gj.cuda.device_name() == "simulator":
        print("no CUDA GPU here: the CUDA benchmarks need one (the simulator is too slow)")
        return
    import cupy as cp

    print(f"device: {gj.cuda.device_name()}")
    sync = cp.cuda.runtime.deviceSynchronize
    repeat = 3 if quick else 10
    n = 10**7 if quick else 10**8
    torch = None
    if have("torch"):
        import torch as _torch

        torch = _torch if _torch.cuda.is_available() else None
    jax = None
    if have("jax"):
        import jax as _jax

        jax = _jax if any(d.platform == "gpu" for d in _jax.devices()) else None

    # ---- the chain, its gradient, its sum (device arrays in and out)
    x = gj.placeholder("x", (None,), "float32")
    y = chain(x)
    f_chain = gj.compile([x], y, backend="cuda")
    (gx,) = gj.grad(gj.sum(y), [x])
    f_grad = gj.compile([x], gx, backend="cuda")
    f_sum = gj.compile([x], gj.sum(y), backend="cuda")
    xd = cp.random.standard_normal(n, dtype=cp.float32)
    for name, fn in (
        ("chain 1e8 f32", f_chain),
        ("chain gradient", f_grad),
        ("sum of chain", f_sum),
    ):
        ours = timed(lambda fn=fn: fn(xd), sync, repeat)
        peers: dict[str, float] = {}

        def cupy_chain(a: Any) -> Any:
            return cp.tanh(1.3 * a + 0.2) * cp.exp(-a * a) + 0.5

        if name == "chain 1e8 f32":
            peers["cupy"] = timed(lambda: cupy_chain(xd), sync, repeat)
        elif name == "sum of chain":
            peers["cupy"] = timed(lambda: cupy_chain(xd).sum(), sync, repeat)
        if torch is not None:
            xt = torch.as_tensor(xd, device="cuda")

            def tchain(a: Any) -> Any:
                return torch.tanh(1.3 * a + 0.2) * torch.exp(-a * a) + 0.5

            tsync = torch.cuda.synchronize
            if name == "chain gradient":
                xg = xt.clone().requires_grad_(True)

                def tgrad(xg: Any = xg) -> Any:
                    (g,) = torch.autograd.grad(tchain(xg).sum(), [xg])
                    return g

                peers["torch"] = timed(tgrad, tsync, repeat)
            else:
                body = tchain if name == "chain 1e8 f32" else (lambda a: tchain(a).sum())
                peers["torch"] = timed(lambda body=body, xt=xt: body(xt), tsync, repeat)
                try:
                    comp = torch.compile(body)
                    peers["torch.compile"] = timed(lambda comp=comp, xt=xt: comp(xt), tsync, repeat)
                except Exception as exc:  # no triton, say
                    print(f"  (torch.compile skipped: {type(exc).__name__})")
        if jax is not None:
            import jax.numpy as jnp

            xj = jnp.asarray(cp.asnumpy(xd))

            def jchain(a: Any) -> Any:
                return jnp.tanh(1.3 * a + 0.2) * jnp.exp(-a * a) + 0.5

            fj = {
                "chain 1e8 f32": jax.jit(jchain),
                "chain gradient": jax.jit(jax.grad(lambda a: jchain(a).sum())),
                "sum of chain": jax.jit(lambda a: jchain(a).sum()),
            }[name]
            peers["jax.jit"] = timed(
                lambda fj=fj, xj=xj: fj(xj).block_until_ready(), lambda: None, repeat
            )
        _row(name, ours, peers)

    # ---- matmul 4096^2 f32 (TF32 off everywhere)
    m = 1024 if quick else 4096
    a = gj.placeholder("a", (m, m), "float32")
    bb = gj.placeholder("b", (m, m), "float32")
    f_mm = gj.compile([a, bb], a @ bb, backend="cuda")
    ad = cp.random.standard_normal((m, m), dtype=cp.float32)
    bd = cp.random.standard_normal((m, m), dtype=cp.float32)
    peers = {"cupy": timed(lambda: ad @ bd, sync, repeat)}
    if torch is not None:
        torch.backends.cuda.matmul.allow_tf32 = False
        at, bt = torch.as_tensor(ad, device="cuda"), torch.as_tensor(bd, device="cuda")
        peers["torch"] = timed(lambda: at @ bt, torch.cuda.synchronize, repeat)
    _row(f"matmul {m}^2 f32", timed(lambda: f_mm(ad, bd), sync, repeat), peers)

    # ---- MLP SGD step, sine fit, call overhead (numpy in and out: what a user loop does)
    step, _ = mlp_step(backend="cuda")
    xs, ys = mlp_data()
    xsd, ysd = cp.asarray(xs), cp.asarray(ys)
    _row("MLP SGD step B=256", timed(lambda: step(xsd, ysd), sync, repeat), {})
    sine, _ = sine_fit_step(backend="cuda")
    xsine = np.linspace(-np.pi, np.pi, 2000)
    ysine = np.sin(xsine)
    iters = 200 if quick else 2000

    def fit() -> None:
        for _ in range(iters):
            sine(xsine, ysine)

    _row(f"sine fit {iters} steps", timed(fit, sync, 1), {})
    t = gj.placeholder("t", (3,), "float32")
    tiny = gj.compile([t], t * 2.0 + 1.0, backend="cuda")
    td = cp.ones(3, dtype=cp.float32)
    calls = 200 if quick else 2000
    start = time.perf_counter()
    for _ in range(calls):
        tiny(td)
    sync()
    _row("call overhead (3 elements)", (time.perf_counter() - start) / calls, {})
