"""Run one program every way graphjit can and report where the answers disagree.

The reference is the interpreter on the graph as built (:func:`graphjit.interp.evaluate`, the
spec). Against it, or against each other:

* ``eager``: the same calls on eager Tensors, the same values (NaN and inf in the same places),
  and their ``backward()`` gradients where the values are finite;
* ``numpy``: ``gj.compile(backend="numpy")``, the optimised graph interpreted: equal to the
  reference where the reference is finite (stability rewrites may turn an overflow into a finite
  value, which is their purpose);
* ``cpu`` (and ``cuda`` where graphjit has that backend): equal to the ``numpy`` backend on the
  same optimised graph, non-finite positions included; outputs, new variable values, gradients;
* ``grad``: ``gj.grad`` of a scalar reduction of the float64 outputs against central finite
  differences of the reference along random directions, where the function is smooth.

Floats compare with rtol 1e-6 (float32: 1e-4) and an atol of rtol times the output's largest
finite magnitude; integers and bools exactly; dtypes and shapes exactly.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from graphjit import ir
from graphjit.autodiff import grad
from graphjit.fuzz.program import Graph, Leaf, Program, build_eager, build_graph
from graphjit.interp import evaluate
from graphjit.ir import Node
from graphjit.ops import reductions
from graphjit.ops.dispatch import constant_node
from graphjit.runtime import compile as gj_compile

MODES = ("eager", "numpy", "cpu", "cuda", "grad")
RTOL = {"float64": 1e-6, "float32": 1e-4}


class InvalidProgramError(Exception):
    """The program does not build, or the reference rejects its inputs: nothing to compare."""


class UnavailableError(Exception):
    """A mode that cannot run here (graphjit has no cuda backend, or no simulator is enabled)."""


@dataclass(frozen=True)
class Disagreement:
    mode: str  # one of MODES
    what: str  # "output 0", "update of w3", "gradient wrt x1", "compile", ...
    detail: str

    def __str__(self) -> str:
        return f"{self.mode}: {self.what}: {self.detail}"


def compare(got: Any, want: np.ndarray, finite_only: bool = False) -> str | None:
    """Why ``got`` differs from ``want``, or None."""
    got = np.asarray(got)
    if got.shape != want.shape:
        return f"shape {got.shape} != {want.shape}"
    if got.dtype != want.dtype:
        return f"dtype {got.dtype} != {want.dtype}"
    if not np.issubdtype(want.dtype, np.inexact):
        bad = got != want
        if np.any(bad):
            return (
                f"{int(bad.sum())} of {want.size} differ: got {got[bad][:4]} want {want[bad][:4]}"
            )
        return None
    finite = np.isfinite(want)
    if not finite_only:
        for name, test in (("NaN", np.isnan), ("+inf", np.isposinf), ("-inf", np.isneginf)):
            if np.any(test(got) != test(want)):
                return f"{name} positions differ: got {got.ravel()[:6]} want {want.ravel()[:6]}"
    rtol = RTOL.get(str(want.dtype), 1e-6)
    scale = float(np.max(np.abs(want[finite]), initial=0.0))
    with np.errstate(all="ignore"):
        err = np.abs(got - want)
        bad = finite & ~(err <= rtol * np.abs(want) + rtol * (1.0 + scale))
    if np.any(bad):
        return (
            f"{int(bad.sum())} of {want.size} values differ (rtol {rtol}): "
            f"got {got[bad][:4]} want {want[bad][:4]}"
        )
    return None


class Results(NamedTuple):
    values: list[np.ndarray]  # outputs, then new variable values
    grads: list[np.ndarray]


def _labels(program: Program) -> list[str]:
    names = [f"output {k}" for k in range(len(program.outputs))]
    for var, _ in program.updates:
        leaf = program.items[var]
        assert isinstance(leaf, Leaf)
        names.append(f"update of {leaf.name}")
    return names


class GradientSetup(NamedTuple):
    loss: Node
    wrt: list[Node]  # float64 leaves
    grads: list[Node]
    weights: list[np.ndarray]  # the constants each output is weighted by in the loss


def _smooth_outputs(graph: Graph) -> list[int]:
    """Outputs that are float64 and computed without float32 on the way (differences in float32
    are too coarse to check a derivative)."""
    chosen = []
    for k, out in enumerate(graph.outputs):
        if out.dtype == "float64" and all(n.dtype != "float32" for n in ir.toposort([out])):
            chosen.append(k)
    return chosen


def loss_weights(shape: tuple[int, ...], k: int) -> np.ndarray:
    """The fixed weights of output ``k`` in the loss (simple to write in a reproducer)."""
    return np.cos(1.0 + k + np.arange(int(np.prod(shape)), dtype=np.float64)).reshape(shape)


def smooth_outputs(graph: Graph) -> list[int]:
    return _smooth_outputs(graph)


def gradient_setup(program: Program, graph: Graph, values: Sequence[np.ndarray]) -> GradientSetup:
    """loss = sum_k sum(out_k * c_k) over the smooth outputs, with fixed random c_k; its gradient
    with respect to every float64 leaf."""
    loss: Any = None
    weights = []
    for k in _smooth_outputs(graph):
        c = loss_weights(values[k].shape, k)
        weights.append(c)
        term = reductions.sum(graph.outputs[k] * constant_node(c))
        loss = term if loss is None else loss + term
    leaves = [*graph.inputs, *(v for v, _ in graph.variables)]
    wrt = [n for n in leaves if n.dtype == "float64"]
    if loss is None or not wrt:
        raise UnavailableError("no float64 output or leaf to differentiate")
    return GradientSetup(loss, wrt, grad(loss, wrt), weights)


def _reset(graph: Graph) -> None:
    for var, value in graph.variables:
        var.set_value(value.copy())


def _compiled(graph: Graph, backend: str, setup: GradientSetup | None) -> Results:
    """Outputs, new variable values and (with ``setup``) gradients from one compiled function."""
    extra = setup.grads if setup else []
    f = gj_compile(graph.inputs, [*graph.outputs, *extra], updates=graph.updates, backend=backend)
    _reset(graph)
    with np.errstate(all="ignore"):
        got = f(*graph.feeds)
    n = len(graph.outputs)
    news = [var.get_value().copy() for var in graph.updates]
    _reset(graph)
    return Results([*got[:n], *news], list(got[n:]))


def _cuda_available() -> None:
    if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
        try:
            from numba import cuda  # noqa: PLC0415 - optional: only probed for the cuda mode

            if not cuda.is_available():
                raise UnavailableError(
                    "no CUDA device (set NUMBA_ENABLE_CUDASIM=1 for the simulator)"
                )
        except ImportError:
            raise UnavailableError("numba has no CUDA support here") from None


def check(program: Program, modes: Sequence[str] = MODES) -> list[Disagreement]:
    """Every disagreement among the evaluators of ``modes`` on ``program``.

    Raises InvalidProgramError when the reference cannot evaluate it. A mode that cannot run here
    (cuda without a backend or a device) is skipped; ``skipped(program)`` is not needed to know
    which: :func:`available_modes` says."""
    try:
        graph = build_graph(program)
    except (ValueError, TypeError, IndexError, NotImplementedError) as exc:
        raise InvalidProgramError(f"does not build: {type(exc).__name__}: {exc}") from exc
    labels = _labels(program)
    try:
        with np.errstate(all="ignore"):
            want = evaluate([*graph.outputs, *graph.updates.values()], _feed(graph))
        # a variable keeps its dtype: the runtime casts a new value of another kind to it
        n = len(graph.outputs)
        want[n:] = [w.astype(var.dtype) for w, var in zip(want[n:], graph.updates)]
    except Exception as exc:
        raise InvalidProgramError(f"the reference raised {type(exc).__name__}: {exc}") from exc

    found: list[Disagreement] = []
    setup = None
    needs_grads = "grad" in modes or any(m in modes for m in ("cpu", "cuda", "eager"))
    if needs_grads and all(np.all(np.isfinite(v)) for v in want if v.dtype.kind == "f"):
        try:
            setup = gradient_setup(program, graph, want)
        except UnavailableError:
            setup = None
        except Exception as exc:
            found.append(Disagreement("grad", "gj.grad", f"{type(exc).__name__}: {exc}"))

    numpy_results = None
    if any(m in modes for m in ("numpy", "cpu", "cuda", "grad")):
        try:
            numpy_results = _compiled(graph, "numpy", setup)
        except Exception as exc:
            found.append(Disagreement("numpy", "call", f"{type(exc).__name__}: {exc}"))
            return found
        if "numpy" in modes:
            for label, got, w in zip(labels, numpy_results.values, want):
                if (why := compare(got, w, finite_only=True)) is not None:
                    found.append(Disagreement("numpy", label, why))

    for backend in ("cpu", "cuda"):
        if backend not in modes or numpy_results is None:
            continue
        try:
            if backend == "cuda":
                _cuda_available()
            results = _compiled(graph, backend, setup)
        except UnavailableError:
            continue
        except RuntimeError as exc:
            if backend == "cuda" and "not implemented" in str(exc):
                continue
            found.append(Disagreement(backend, "compile or call", f"RuntimeError: {exc}"))
            continue
        except Exception as exc:
            found.append(Disagreement(backend, "compile or call", f"{type(exc).__name__}: {exc}"))
            continue
        found += _against(backend, labels, results, numpy_results, setup, finite_only=False)

    if "eager" in modes:
        found += _eager(program, graph, labels, want, setup, numpy_results)

    if "grad" in modes and setup is not None and numpy_results is not None:
        found += _finite_differences(graph, setup, numpy_results.grads)
    return found


def _feed(graph: Graph) -> dict[Node, np.ndarray]:
    return dict(zip(graph.inputs, graph.feeds))


def _against(
    mode: str,
    labels: Sequence[str],
    got: Results,
    want: Results,
    setup: GradientSetup | None,
    finite_only: bool,
) -> list[Disagreement]:
    found = []
    for label, g, w in zip(labels, got.values, want.values):
        if (why := compare(g, w, finite_only)) is not None:
            found.append(Disagreement(mode, label, why))
    if setup is not None:
        for node, g, w in zip(setup.wrt, got.grads, want.grads):
            if (why := compare(g, w, finite_only)) is not None:
                found.append(Disagreement(mode, f"gradient wrt {node.name}", why))
    return found


def _eager(
    program: Program,
    graph: Graph,
    labels: Sequence[str],
    want: Sequence[np.ndarray],
    setup: GradientSetup | None,
    numpy_results: Results | None,
) -> list[Disagreement]:
    grad_names = {n.name for n in setup.wrt} if setup else set()
    try:
        with np.errstate(all="ignore"):
            values = build_eager(program, lambda leaf: leaf.name in grad_names)
    except Exception as exc:
        return [Disagreement("eager", "call", f"{type(exc).__name__}: {exc}")]
    results = [*(values[i] for i in program.outputs), *(values[n] for _, n in program.updates)]
    found = []
    for label, got, w in zip(labels, results, want):
        arr = got.detach().numpy() if hasattr(got, "detach") else np.asarray(got)
        arr = arr.astype(w.dtype) if label.startswith("update") else arr
        if (why := compare(arr, w)) is not None:
            found.append(Disagreement("eager", label, why))
    if setup is None or numpy_results is None or found:
        return found
    smooth = _smooth_outputs(graph)
    loss: Any = None
    for k, c in zip(smooth, setup.weights):
        term = (values[program.outputs[k]] * c).sum()
        loss = term if loss is None else loss + term
    if loss is None or not loss.requires_grad:
        return found  # the outputs do not depend on a float64 leaf
    try:
        with np.errstate(all="ignore"):
            loss.backward()
    except Exception as exc:
        return [Disagreement("eager", "backward", f"{type(exc).__name__}: {exc}")]
    leaves = {item.name: values[i] for i, item in program.leaves()}
    for node, w in zip(setup.wrt, numpy_results.grads):
        g = leaves[str(node.name)].grad
        arr = np.zeros_like(w) if g is None else g.numpy()
        if (why := compare(arr, w, finite_only=True)) is not None:
            found.append(Disagreement("eager", f"gradient wrt {node.name}", why))
    return found


def fd_tolerance(numeric: float, symbolic: float, magnitude: float, h: float) -> float:
    """How far a directional derivative may be from its central difference with step ``h`` of a
    loss of ``magnitude``: 1e-5 relative, plus the difference's own rounding error (a loss of
    1e5 computed to a few ulp moves the difference by ~1e-5 at h = 1e-6; fuzzer seed 4812)."""
    rounding = 16 * np.finfo(np.float64).eps * magnitude / h
    return 1e-5 * (1 + abs(numeric) + abs(symbolic)) + rounding


def _finite_differences(
    graph: Graph, setup: GradientSetup, grads: Sequence[np.ndarray], directions: int = 2
) -> list[Disagreement]:
    """<grad, v> against (f(x + hv) - f(x - hv)) / 2h, where the two one-sided differences agree
    (a kink or a jump between the points makes a finite difference meaningless)."""
    if not all(np.all(np.isfinite(g)) for g in grads):
        return []
    rng = np.random.default_rng(1)
    leaves = dict(zip(graph.inputs, graph.feeds))
    leaves.update({var: value for var, value in graph.variables})
    base = {n: np.asarray(leaves[n], np.float64) for n in setup.wrt}

    def loss_at(t: float, vs: dict[Node, np.ndarray]) -> float:
        feed = dict(zip(graph.inputs, graph.feeds))
        for n in setup.wrt:
            value = base[n] + t * vs[n]
            if n in feed:
                feed[n] = value
            else:
                n.set_value(value)  # type: ignore[attr-defined]
        with np.errstate(all="ignore"):
            (y,) = evaluate([setup.loss], feed)
        return float(y)

    found = []
    h = 1e-6
    try:
        for _ in range(directions):
            vs = {n: rng.standard_normal(base[n].shape) for n in setup.wrt}
            f0, fp, fm = loss_at(0.0, vs), loss_at(h, vs), loss_at(-h, vs)
            numeric = (fp - fm) / (2 * h)
            forward, backward = (fp - f0) / h, (f0 - fm) / h
            if not np.isfinite([f0, fp, fm]).all():
                continue
            if abs(forward - backward) > 1e-3 * (1 + abs(numeric)):
                continue  # not smooth here
            symbolic = float(sum(np.sum(g * vs[n]) for n, g in zip(setup.wrt, grads)))
            if abs(symbolic - numeric) > fd_tolerance(numeric, symbolic, max(abs(fp), abs(fm)), h):
                found.append(
                    Disagreement(
                        "grad",
                        "directional derivative",
                        f"gj.grad gives {symbolic!r}, finite differences {numeric!r}",
                    )
                )
                break
    finally:
        _reset(graph)
    return found
