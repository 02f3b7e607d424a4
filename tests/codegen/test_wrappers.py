"""The CPython wrapper of a generated program is compiled with ``optnone``
(``codegen/numba_cpu/wrappers.py``): its compile grew quadratically with the arrays a training
step passes. The program itself stays optimised, and functions outside graphjit's generated
modules keep numba's wrappers."""

from __future__ import annotations

import re

import numpy as np
from numba import njit

import graphjit as gj
from graphjit.codegen.numba_cpu import wrappers


def _is_optnone(ir: str, name_part: str, wrapper: bool) -> bool:
    """Whether the function defined in ``ir`` whose name holds ``name_part`` (its CPython
    wrapper, or the function itself) has LLVM's ``optnone`` attribute."""
    defines = [t for t in ir.splitlines() if t.startswith("define") and name_part in t]
    (line,) = [t for t in defines if ("cpython" in t) == wrapper and "@cfunc." not in t]
    group = re.search(r"#\d+", line.split(")")[-1])  # its attribute group: #0 {
    if group is None:
        return False  # no attributes
    found = re.search(rf"^attributes {group.group()} = {{([^}}]*)}}", ir, re.MULTILINE)
    assert found is not None
    return "optnone" in found.group(1).split()


def test_a_programs_python_wrapper_is_left_unoptimised_and_the_program_is_not() -> None:
    x = gj.placeholder("x", (None, 7))  # a shape no other test compiles
    w = gj.variable(np.linspace(-1.0, 1.0, 7), name="w")
    f = gj.compile([x], [gj.sum(gj.tanh(x * w), axis=1)], updates={w: w * 0.5})
    data = np.arange(14.0).reshape(2, 7) / 10.0
    want = np.tanh(data * np.linspace(-1.0, 1.0, 7)).sum(axis=1)
    (got,) = f(data)
    np.testing.assert_allclose(got, want, rtol=1e-14)
    np.testing.assert_allclose(w.get_value(), np.linspace(-0.5, 0.5, 7), rtol=1e-14)
    (ir,) = f._executable._program.inspect_llvm().values()
    assert _is_optnone(ir, "program", wrapper=True)
    assert not _is_optnone(ir, "program", wrapper=False)


def test_functions_outside_generated_modules_keep_numbas_wrappers() -> None:
    wrappers.install()  # installed already by the backend: a second install changes nothing

    @njit
    def twice(a):  # type: ignore[no-untyped-def]
        return 2.0 * a

    np.testing.assert_array_equal(twice(np.ones(3)), np.full(3, 2.0))
    (ir,) = twice.inspect_llvm().values()
    assert not _is_optnone(ir, "twice", wrapper=True)


def test_a_step_over_many_arrays_runs_as_before() -> None:
    """An optimiser step passing 40 arrays through the wrapper (parameters, moments, step
    counts): the compiled step and the interpreter agree over three steps."""
    gj.manual_seed(3)
    layers: list[gj.nn.Module] = []
    for _ in range(4):
        layers += [gj.nn.Linear(5, 5), gj.nn.Tanh()]

    def run(backend: str) -> list[np.ndarray]:
        gj.manual_seed(3)
        model = gj.nn.Sequential(*[gj.nn.Linear(5, 5) for _ in range(4)], gj.nn.Linear(5, 1))
        opt = gj.optim.Adam(model.parameters(), lr=0.01)
        x, y = gj.placeholder("x", (None, 5)), gj.placeholder("y", (None, 1))
        loss = gj.nn.MSELoss()(model(x), y)
        step = gj.compile([x, y], [loss], updates=opt.updates(loss), backend=backend)
        xs = np.linspace(-1.0, 1.0, 20).reshape(4, 5)
        losses = [step(xs, np.ones((4, 1))) for _ in range(3)]
        return [*losses, *(p.numpy() for p in model.parameters())]

    for got, want in zip(run("cpu"), run("numpy")):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
