"""A tour of graphjit for people coming from the NumPy-vs-PyTorch tutorials.

Every snippet those tutorials show runs here with ``gj.`` in place of ``torch.``: first eagerly
(define-by-run: each line computes at once and the tensor remembers how it was made), then as a
graph (define-and-run: build the computation once, differentiate it symbolically, compile it, call
it many times). Run it with ``graphjit demo`` or ``python examples/seed_tour.py [--backend numpy]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import graphjit as gj

WIDTH = 100


def _one_line(value: Any) -> str:
    text = " ".join(repr(value).split()) if not isinstance(value, str) else value
    return text if len(text) <= 62 else text[:59] + "..."


def show(code: str, value: Any) -> None:
    """``code`` on the left, what it gives on the right."""
    print(f"  {code:<36} -> {_one_line(value)}")


def section(title: str, lead: str) -> None:
    print()
    print(f"== {title} ".ljust(WIDTH, "="))
    print(lead)


def default_backend() -> str:
    return "cpu" if importlib.util.find_spec("graphjit.codegen.numba_cpu") else "numpy"


# --------------------------------------------------------------------------------------------------
# 1. tensors


def tour_tensors() -> None:
    section(
        "1. Tensors: numpy arrays that can also track gradients",
        "gj.tensor copies its data; gj.from_numpy shares it. Python floats make float64, as numpy.",
    )
    gj.manual_seed(0)
    t = gj.tensor([[1, 2, 3], [4, 5, 6]])
    show("t = gj.tensor([[1, 2, 3], [4, 5, 6]])", t)
    show("t.shape, t.dtype", (t.shape, t.dtype))
    show("gj.zeros(2, 3)", gj.zeros(2, 3))
    show("gj.rand(2, 2)   (after manual_seed)", gj.rand(2, 2))
    show("t[0], t[:, 0], t[..., -1]", (t[0].tolist(), t[:, 0].tolist(), t[..., -1].tolist()))
    show("gj.cat([t, t], dim=1).shape", gj.cat([t, t], dim=1).shape)
    show("gj.stack((t, t), dim=0).shape", gj.stack((t, t), dim=0).shape)
    show("t.view(3, 2)", t.view(3, 2))
    show("t.t()  (= t.transpose(0, 1))", t.t())
    m = gj.ones(3, 3)
    show("m = gj.ones(3, 3); m @ m.t()", m @ m.t())
    show("t * t + 10", t * t + 10)
    show("t.sum(), t.sum().item()", (t.sum(), t.sum().item()))
    u = gj.ones(3)
    show("u = gj.ones(3); u.add_(5)  (in place)", u.add_(5))
    n = np.ones(3)
    s = gj.from_numpy(n)
    np.add(n, 1, out=n)
    show("s = gj.from_numpy(n); n += 1; s", s)
    show("s.numpy() is n", s.numpy() is n)


# --------------------------------------------------------------------------------------------------
# 2. autograd


def tour_autograd() -> dict[str, Any]:
    section(
        "2. Autograd, define-by-run: every op runs now and records itself on a tape",
        "backward() walks the tape in reverse with each op's derivative rule.",
    )
    x = gj.tensor(2.0, requires_grad=True)
    y = x**2 + 3 * x
    y.backward()
    show("x = 2; y = x**2 + 3*x; y.backward()", y)
    show("x.grad   (2x + 3)", x.grad)

    x3 = gj.tensor(3.0)
    w = gj.tensor(4.0, requires_grad=True)
    b = gj.tensor(5.0, requires_grad=True)
    lin = w * x3 + b
    lin.backward()
    show("y = w*x + b (x=3, w=4, b=5); backward", lin)
    show("x.grad, w.grad, b.grad", (x3.grad, w.grad, b.grad))

    xs = gj.ones(2, 2, requires_grad=True)
    z = 3 * (xs + 2) ** 2
    out = z.mean()
    out.backward()
    show("x = ones(2,2); out = mean(3*(x+2)**2)", out)
    show("z.grad_fn, out.grad_fn", (z.grad_fn.name(), out.grad_fn.name()))
    show("x.grad   (6*(x+2)/4)", xs.grad)

    p = gj.tensor([2.0], requires_grad=True)
    trail = []
    for step in range(100):
        loss = p**2
        loss.backward()
        with gj.no_grad():
            p -= 0.1 * p.grad  # an update must not be recorded (and may not, on a leaf)
        p.grad.zero_()
        if step in (0, 1, 2, 99):
            trail.append(f"{p.item():.4g}")
    show("gradient descent on y = x**2, lr 0.1", "x: 2 -> " + " -> ".join(trail[:3]) + " ... "
         + trail[3])  # fmt: skip
    return {"poly": x.grad.item(), "w": w.grad.item(), "b": b.grad.item(),
            "mean": xs.grad.numpy().copy(), "descent": p.item()}  # fmt: skip


# --------------------------------------------------------------------------------------------------
# 3. the same as graphs


def central_difference(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6) -> Any:
    g = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e.reshape(-1)[i] = eps
        g.reshape(-1)[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return g


def tour_graphs(eager: dict[str, Any], backend: str) -> None:
    section(
        f"3. The same computations define-and-run: build, differentiate, compile ({backend})",
        "A placeholder stands for a value given later. Ops build nodes instead of computing; "
        "gj.grad builds\nthe gradient as more nodes, and gj.compile optimises them all and "
        "generates code.",
    )
    x = gj.placeholder("x", shape=())
    y = x**2 + 3 * x
    (dy,) = gj.grad(y, [x])
    built = gj.viz.count_nodes([y, dy])
    print(
        f"  y = x**2 + 3*x; (dy,) = gj.grad(y, [x]) builds {built} nodes (the general power "
        "rule); gj.compile"
    )
    print("  simplifies them before it generates code (gj.optimize([y, dy]) shows the result):")
    for line in gj.viz.pprint_str(gj.optimize([y, dy])).splitlines():
        print("      " + line)

    # the seeds' other examples, all in one compiled function (one compilation)
    x3 = gj.placeholder("x3", shape=())
    w = gj.placeholder("w", shape=())
    b = gj.placeholder("b", shape=())
    dw, db = gj.grad(w * x3 + b, [w, b])
    xm = gj.placeholder("xm", shape=(None, None))
    (dm,) = gj.grad(gj.mean(3 * (xm + 2) ** 2), [xm])
    p = gj.variable(np.array([2.0]), name="p")  # state that the compiled function updates
    (gp,) = gj.grad(gj.sum(p**2), [p])
    f = gj.compile(
        [x, x3, w, b, xm], [y, dy, dw, db, dm], updates={p: p - 0.1 * gp}, backend=backend
    )
    ones = np.ones((2, 2))
    y2, dy2, dw3, db5, dm1 = f(2.0, 3.0, 4.0, 5.0, ones)
    print(f"  f = gj.compile([x, ...], [y, dy, ...]); f(2.0, ...) gives y = {float(y2)}, "
          f"dy = {float(dy2)}")  # fmt: skip
    for _ in range(99):  # each call also applies the update p <- p - 0.1 * dp
        f(2.0, 3.0, 4.0, 5.0, ones)

    rows = [
        ("d(x**2 + 3x)/dx at 2", eager["poly"], dy2,
         central_difference(lambda v: float(v**2 + 3 * v), np.array(2.0))),
        ("d(wx + b)/dw at x=3", eager["w"], dw3,
         central_difference(lambda v: float(v * 3.0 + 5.0), np.array(4.0))),
        ("d(wx + b)/db", eager["b"], db5,
         central_difference(lambda v: float(4.0 * 3.0 + v), np.array(5.0))),
        ("d mean(3(x+2)**2)/dx[0,0]", eager["mean"][0, 0], dm1[0, 0],
         central_difference(lambda v: float(np.mean(3 * (v + 2) ** 2)), ones)[0, 0]),
        ("x after 100 descent steps", eager["descent"], p.get_value()[0], None),
    ]  # fmt: skip
    print()
    print(f"  {'':28}{'eager (tape)':>16}{'graph (compiled)':>18}{'finite diff.':>16}")
    for name, e, g, fd in rows:
        fd_text = "-" if fd is None else f"{float(fd):.6g}"
        print(f"  {name:28}{float(e):>16.6g}{float(g):>18.6g}{fd_text:>16}")
    ok = gj.testing.gradcheck(lambda v: gj.mean(3 * (v + 2) ** 2), [np.ones((2, 2))])
    print(f"  gj.testing.gradcheck(mean(3(x+2)**2), orders 1 and 2, both modes) -> {ok}")

    # eager-style code compiles as it is: called with tensors, @gj.jit traces PyTorch's meanings
    @gj.jit(backend=backend)
    def reshaped(x_t: Any) -> Any:  # the seed's x_t.view(2, -1) and x_t.transpose(0, 1)
        return x_t.view(2, -1), x_t.transpose(0, 1), x_t.max(1).indices

    x_t = gj.tensor(np.arange(12.0).reshape(3, 4))
    same = all(
        np.array_equal(c.numpy(), e.numpy())
        for c, e in zip(reshaped(x_t), (x_t.view(2, -1), x_t.transpose(0, 1), x_t.max(1).indices))
    )
    print(
        "  @gj.jit of x_t.view(2, -1), x_t.transpose(0, 1), x_t.max(1).indices: compiled = eager "
        f"-> {same}"
    )


# --------------------------------------------------------------------------------------------------
# 4. timing


def _numpy_fit(x: np.ndarray, y: np.ndarray, coef: np.ndarray, steps: int, lr: float) -> Any:
    a, b, c, d = coef
    for _ in range(steps):
        y_pred = a + b * x + c * x**2 + d * x**3
        grad_y = 2.0 * (y_pred - y)  # the derivative, worked out by hand
        a -= lr * grad_y.sum()
        b -= lr * (grad_y * x).sum()
        c -= lr * (grad_y * x**2).sum()
        d -= lr * (grad_y * x**3).sum()
    return np.array([a, b, c, d])


def _eager_fit(x: np.ndarray, y: np.ndarray, coef: np.ndarray, steps: int, lr: float) -> Any:
    xt, yt = gj.from_numpy(x), gj.from_numpy(y)
    params = [gj.tensor(v, requires_grad=True) for v in coef]
    a, b, c, d = params
    for _ in range(steps):
        loss = (a + b * xt + c * xt**2 + d * xt**3 - yt).pow(2).sum()
        loss.backward()
        with gj.no_grad():
            for q in params:
                q -= lr * q.grad
                q.grad = None
    return np.array([q.item() for q in params])


def _graph_fit(backend: str, lr: float) -> tuple[Callable[..., Any], Any]:
    xs = gj.placeholder("x", shape=(None,))
    ys = gj.placeholder("y", shape=(None,))
    params = gj.variable(np.zeros(4), name="abcd")
    a, b, c, d = params[0], params[1], params[2], params[3]
    loss = gj.sum((a + b * xs + c * xs**2 + d * xs**3 - ys) ** 2)
    (g,) = gj.grad(loss, [params])
    step = gj.compile([xs, ys], [loss], updates={params: params - lr * g}, backend=backend)
    return step, params


def tour_timing(backend: str, steps: int) -> None:
    section(
        f"4. Fitting y = sin(x) with a cubic, {steps} steps on 2000 points (seconds)",
        "numpy: gradients derived by hand. eager: autograd, one python op at a time. compiled: "
        "the whole step\n(forward, gradient, update) as one graph, fused into loops.",
    )
    x = np.linspace(-math.pi, math.pi, 2000)
    y = np.sin(x)
    coef = np.random.default_rng(0).standard_normal(4)
    lr = 1e-6

    t0 = time.perf_counter()
    ref = _numpy_fit(x, y, coef, steps, lr)
    t_np = time.perf_counter() - t0
    t0 = time.perf_counter()
    eager = _eager_fit(x, y, coef, steps, lr)
    t_eager = time.perf_counter() - t0
    t0 = time.perf_counter()
    step, params = _graph_fit(backend, lr)
    params.set_value(coef)
    step(x, y)  # the first call compiles (or loads the kernels from the cache)
    t_compile = time.perf_counter() - t0
    params.set_value(coef)
    t0 = time.perf_counter()
    for _ in range(steps):
        step(x, y)
    t_graph = time.perf_counter() - t0
    compiled = params.get_value()

    print(f"  {'':28}{'total':>10}{'per step':>12}{'vs numpy':>10}   coefficients a, b, c, d")
    for name, t, c in [
        ("numpy, by hand", t_np, ref),
        ("gj eager tensors", t_eager, eager),
        (f"gj compiled ({backend})", t_graph, compiled),
    ]:
        coefs = ", ".join(f"{v:+.4f}" for v in c)
        print(f"  {name:28}{t:>10.3f}{t / steps * 1e3:>10.3f}ms{t / t_np:>9.1f}x   {coefs}")
    print(f"  (compiling the step took {t_compile:.2f} s, once; later runs load it from the cache)")
    agree = np.allclose(eager, ref, rtol=1e-9) and np.allclose(compiled, ref, rtol=1e-9)
    print(f"  all three agree to 1e-9: {agree}")


# --------------------------------------------------------------------------------------------------
# 5. a compiled loss inside eager training


def _train_with(loss_of: Callable[..., Any], model: Any, x: Any, y: Any, steps: int) -> list[float]:
    opt = gj.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(steps):
        loss = loss_of(model, x, y)
        opt.zero_grad()
        loss.backward()  # through the compiled loss into the eager model's parameters
        opt.step()
        losses.append(loss.item())
    return losses


def tour_jit_in_training(backend: str) -> None:
    section(
        "5. A compiled loss inside eager training",
        "A @gj.jit function called with tensors that require grad (or reading parameters that do) "
        "is one\neager op: its grad_fn runs the compiled gradient of the traced graph.",
    )

    def mse_with_penalty(model: Any, x: Any, y: Any) -> Any:
        pred = model(x)
        penalty = sum(gj.sum(p * p) for p in model.parameters())
        return gj.mean((pred - y) ** 2) + 1e-3 * penalty

    compiled_loss = gj.jit(mse_with_penalty, backend=backend)
    rng = np.random.default_rng(0)
    x = gj.tensor(rng.uniform(-1, 1, (32, 2)))
    y = gj.tensor(np.sin(3 * x.numpy()[:, :1]) * x.numpy()[:, 1:])
    gj.manual_seed(0)
    model = gj.nn.Sequential(gj.nn.Linear(2, 16), gj.nn.Tanh(), gj.nn.Linear(16, 1))
    start = [p.numpy().copy() for p in model.parameters()]
    show("compiled_loss(model, x, y)", compiled_loss(model, x, y))
    runs = []
    for loss_of in (compiled_loss, mse_with_penalty):
        for p, value in zip(model.parameters(), start):
            p.numpy()[...] = value  # both runs start from the same weights
        runs.append(_train_with(loss_of, model, x, y, steps=40))
    show("loss after 40 Adam steps", round(runs[0][-1], 6))
    same = np.allclose(runs[0], runs[1], rtol=1e-10, atol=1e-12)
    print(f"  the same 40 steps with the eager loss: same trajectory -> {same}")
    print(f"  traced {compiled_loss.trace_count} time(s); compiled forward and gradient reused")


def main(backend: str | None = None, steps: int = 300) -> int:
    """Run the tour; returns 0 (the process exit status for ``graphjit demo``)."""
    backend = backend or default_backend()
    start = time.perf_counter()
    tour_tensors()
    eager = tour_autograd()
    tour_graphs(eager, backend)
    tour_timing(backend, steps)
    tour_jit_in_training(backend)
    print()
    print(
        "Eager tensors are easy to poke at and debug, and python control flow just works; a "
        "compiled graph\nis checked, differentiated and optimised as a whole before it runs, and "
        "then runs as fused loops.\nThe ops are the same: mix them freely (a tensor that requires "
        "grad enters a graph as a variable\nsharing its array), or trace eager-style code into a "
        f"graph with @gj.jit.  ({time.perf_counter() - start:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("numpy", "cpu", "cuda"), default=None)
    parser.add_argument("--steps", type=int, default=300)
    ns = parser.parse_args()
    raise SystemExit(main(ns.backend, ns.steps))
