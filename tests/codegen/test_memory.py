"""The buffer plan (codegen/memory.py) is decided before any source is written, and the emitted
program follows it; the backend installs no process-wide warnings filter."""

from __future__ import annotations

import warnings

import numpy as np
from numba.core.errors import NumbaPerformanceWarning

import graphjit as gj
from graphjit.codegen.memory import REUSE_INPUT
from graphjit.codegen.numba_cpu import generate, lowerings
from graphjit.codegen.pipeline import Lowered, lower
from graphjit.codegen.schedule import Parallelism
from graphjit.runtime import Program


def _lowered(program: Program) -> Lowered:
    arrays = {x: f"x{i}" for i, x in enumerate(program.inputs)}
    serial = Parallelism(enabled=False, min_size=0)
    return lower(program.results, arrays, (), serial, lowerings.allocates_itself)


def test_an_in_place_store_is_planned_then_emitted() -> None:
    x = gj.placeholder("x", (None, 3))
    w = gj.placeholder("w", (3, 3))
    h = x @ w
    f = gj.compile([x, w], [gj.relu(h + 1.0), gj.sum(h, axis=1), h * h - h])
    lowered = _lowered(f.program)
    (matmul,) = [n for n in lowered.plan.values if n.op.name == "matmul"]
    buf, reuse = lowered.memory.allocations[matmul]
    assert reuse is None
    in_place = [n for n, a in lowered.memory.allocations.items() if a == (buf, REUSE_INPUT)]
    assert len(in_place) == 1
    source, _ = generate(f.program, parallel=False)
    assert f"{REUSE_INPUT} ({buf})" in source
    assert source.count(f"{buf} = kops.empty(") == 1


def test_results_are_owned_or_copied() -> None:
    """A result that is an input, a view of an input or a broadcast is copied out."""
    x = gj.placeholder("x", (None, 3))
    f = gj.compile([x], [x, gj.transpose(x), gj.broadcast_to(gj.sum(x), (2, 3)), x + 1.0])
    lowered = _lowered(f.program)
    owned = [r in lowered.memory.owned for r in f.program.results]
    assert owned[:2] == [False, False] and owned[3]
    v = np.arange(6.0).reshape(2, 3)
    outs = f(v)
    assert not any(np.shares_memory(o, v) for o in outs)
    np.testing.assert_allclose(outs[2], np.full((2, 3), 15.0))


def test_no_process_wide_warnings_filter_and_strided_blas_compiles_quietly() -> None:
    assert not any(f[1] is not None and "contiguous" in f[1].pattern for f in warnings.filters), (
        "the backend must not install a process-wide warnings filter"
    )
    x = gj.placeholder("x", (None, 4))
    w = gj.placeholder("w", (None, 4))
    # BLAS reads a strided view: numba warns when it first compiles that (a cold numba cache)
    f = gj.compile([x, w], gj.transpose(x) @ w)
    a, b = np.ones((3, 4)), np.ones((3, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error", NumbaPerformanceWarning)
        np.testing.assert_allclose(f(a, b), a.T @ b)
        np.testing.assert_allclose(f(np.asfortranarray(a), b), a.T @ b)  # a new signature


def test_the_gradient_of_a_chain_allocates_at_most_two_temporaries_of_the_inputs_size() -> None:
    """The chain ``y = sin(y) * 0.5 + 1`` eight times, its sum and the gradient: forward and
    backward fuse into few passes, so besides the gradient itself the program allocates at most
    two arrays of the input's size (the issue's memory budget), whatever the depth."""
    x = gj.placeholder("x", (None,))
    y = x
    for _ in range(8):
        y = gj.sin(y) * 0.5 + 1.0
    loss = gj.sum(y)
    (gx,) = gj.grad(loss, [x])
    f = gj.compile([x], [loss, gx], backend="cpu")
    lowered = _lowered(f.program)
    new_buffers = {a.buffer: n for n, a in lowered.memory.allocations.items() if a.reuse is None}
    input_sized = [n for n in new_buffers.values() if n.ndim == 1]
    temporaries = [n for n in input_sized if n not in f.program.results]
    assert len(input_sized) - len(temporaries) == 1  # the gradient
    assert len(temporaries) <= 2
    source, _ = generate(f.program, parallel=False)
    assert source.count("= kops.empty((n0,)") == len(input_sized)
    a = np.linspace(-1.0, 1.0, 1001)
    want = gj.compile([x], [loss, gx], backend="numpy")(a)
    for got, ref in zip(f(a), want):
        np.testing.assert_allclose(got, ref, rtol=1e-12)
