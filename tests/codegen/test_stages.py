"""A long program cut into stage functions (codegen/numba_cpu/stages.py): what each stage takes
and returns, values and errors through the stages, and a warm process loading them from the
disk cache. The thresholds are lowered here so that small graphs are cut."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from graphjit.kernels import extern

import graphjit as gj
from graphjit.codegen.numba_cpu import stages

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def small_stages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stages, "SPLIT_ABOVE", 30)
    monkeypatch.setattr(stages, "STAGE_LINES", 12)


def _body(n: int) -> tuple[list[str], list[int]]:
    """``n`` steps, each allocating a buffer from the one before."""
    lines, starts = [], []
    for i in range(n):
        starts.append(len(lines))
        lines += ["", f"# step {i}", f"b{i + 1} = kops.empty((n0,), f64)", f"k(b{i}, b{i + 1})"]
    return lines, starts


def test_a_short_body_stays_whole() -> None:
    lines, starts = _body(5)
    assert stages.split("program", lines, starts, ["b0", "n0"], "return (b5,)") is None


def test_each_stage_takes_what_it_reads_and_returns_what_later_code_reads(
    small_stages: None,
) -> None:
    lines, starts = _body(40)
    cut = stages.split("program", lines, starts, ["b0", "n0", "unused"], "return (b40,)")
    assert cut is not None and len(cut) >= 3
    assert [s.name for s in cut] == [f"program_stage{i}" for i in range(len(cut))]
    assert [t for s in cut for t in s.lines] == lines  # every line once, in order
    for s in cut:
        first = int(s.lines[1].split()[-1])  # "# step i"
        last = int(s.lines[-1].split("b")[-1].rstrip(")"))
        assert s.params == ["b" + str(first), "n0"]  # the buffer before it, the size
        assert s.results == [f"b{last}"]  # only the last buffer is read after it
    assert cut[-1].results == ["b40"]  # read by the return


def test_repeated_steps_are_cut_at_their_period_and_share_one_function(
    small_stages: None,
) -> None:
    lines, starts = _body(40)
    cut = stages.split("program", lines, starts, ["b0", "n0"], "return (b40,)")
    assert cut is not None
    owners = {s.function for s in cut}
    assert len(owners) < len(cut) and all(s.function in {t.name for t in cut} for s in cut)
    first = next(s for s in cut if s.shared)
    owner = next(s for s in cut if s.name == first.function)
    assert stages.code_lines(first.lines) == stages.code_lines(owner.lines)
    assert [t for s in cut for t in s.lines] == lines


def test_a_shared_function_returns_what_any_of_its_callers_needs(small_stages: None) -> None:
    """b10 is read after its stage only: every stage calling the same function returns the
    value in b10's place, each under its own name."""
    lines, starts = _body(40)
    cut = stages.split("program", lines, starts, ["b0", "n0"], "return (b40, b10)")
    assert cut is not None
    holder = next(s for s in cut if "b10 = kops.empty((n0,), f64)" in s.lines)
    assert "b10" in holder.results
    twins = [s for s in cut if s.function == holder.function]
    assert len(twins) >= 2
    assert all(len(s.results) == len(holder.results) == 2 for s in twins)
    for s in twins:  # each returns its own last buffer and its own buffer in b10's place
        assert all(f"{r} = kops.empty((n0,), f64)" in s.lines for r in s.results)


def test_stages_differing_only_in_an_index_share_a_function_taking_it(
    small_stages: None,
) -> None:
    """An unrolled loop reads its input at another index each time step: the shared function
    takes the index, each call passes its own; indices that agree stay in the code."""
    lines, starts = [], []
    for i in range(40):
        starts.append(len(lines))
        lines += ["", f"# step {i}", f"v{i + 1} = x0[{i}:{i + 1}, 0]", f"k(v{i + 1}, b0[:, 2])"]
    cut = stages.split("p", lines, starts, ["x0", "b0"], "return (v40,)")
    assert cut is not None
    owner = next(s for s in cut if any(t.shared and t.function == s.name for t in cut))
    assert owner.signature is not None and owner.signature[-1].startswith("index")
    assert all("b0[:, 2]" in t for t in owner.lines if "k(" in t)  # the same in every stage
    n_index = sum(p.startswith("index") for p in owner.signature)
    for s in cut:
        if s.function == owner.name:  # the last arguments are the stage's own indices
            first = int(s.lines[1].split()[-1])  # "# step i"
            assert s.params[len(s.params) - n_index :][:2] == [str(first), str(first + 1)]
        if s.name != owner.name:
            assert not any("index" in t for t in s.lines)  # only the function's code changed


def test_the_same_code_taking_other_names_from_before_is_not_shared(small_stages: None) -> None:
    """Two chunks of the same code, where a name one binds is bound before the other (so
    passed in): they cannot share a function."""
    step = ["", "# s", "v1 = b1 if n0 > 1 else b2", "k(v1)", "b1 = kops.empty((n0,), f64)"]
    lines = step * 24
    starts = list(range(0, len(lines), len(step)))
    cut = stages.split("p", lines, starts, ["b2", "n0"], "return (b1,)")
    assert cut is not None
    assert "b1" not in cut[0].params and all("b1" in s.params for s in cut[1:])
    assert not any(s.shared and s.function == cut[0].name for s in cut)


def test_a_name_bound_on_one_branch_also_comes_in(small_stages: None) -> None:
    """Bound before the stage and again on one branch in it: the other branch keeps the value
    from before, so the stage must be given it."""
    lines = ["v = a", "if n0 > 2:", "    v = b", "w = v + 1"]
    stage, _ = stages._names(lines)
    assert {"a", "b", "n0", "v"} <= stage
    lines = ["x = 1"] * 40 + ["if n0 > 2:", "    v = b"] + ["y = 1"] * 40
    cut = stages.split("p", lines, [0, 40, 42], ["v", "b", "n0"], "return v")
    assert cut is not None
    assert "v" in cut[1].params and cut[1].results == ["v"]


def _rnn_step(steps: int, backend: str) -> tuple[gj.CompiledFunction, list[gj.Variable]]:
    """An unrolled tanh RNN's SGD step: many steps, the same nests repeated, a long backward."""
    rng = np.random.default_rng(0)
    x = gj.placeholder("x", (steps, None, 3))
    w = gj.variable(rng.standard_normal((3, 4)) * 0.5, name="w")
    u = gj.variable(rng.standard_normal((4, 4)) * 0.5, name="u")
    b = gj.variable(np.zeros(4), name="b")
    h = gj.tanh(x[0] @ w + b)
    for t in range(1, steps):
        h = gj.tanh(x[t] @ w + h @ u + b)
    loss = gj.mean(h**2)
    params = [w, u, b]
    grads = gj.grad(loss, params)
    step = gj.compile(
        [x], [loss, h], updates={p: p - 0.1 * g for p, g in zip(params, grads)}, backend=backend
    )
    return step, params


def test_a_program_in_stages_computes_what_the_interpreter_does(small_stages: None) -> None:
    step, params = _rnn_step(8, "cpu")
    assert step.source.count("_stage") >= 6 and "extern.external(program_stage0" in step.source
    body = step.source[step.source.index("def program(") :]
    calls = re.findall(r"= (program_stage\d+)\(", body)
    assert len(set(calls)) < len(calls)  # the unrolled steps share stage functions
    assert "index0" in step.source  # x[t]: each step's index passed to the shared function
    want, want_params = _rnn_step(8, "numpy")
    xs = np.random.default_rng(1).standard_normal((8, 5, 3))
    for _ in range(3):  # the updates carry over between calls
        got, expected = step(xs), want(xs)
        for a, e in zip(got, expected):
            np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-14)
    for p, q in zip(params, want_params):
        np.testing.assert_allclose(p.get_value(), q.get_value(), rtol=1e-12, atol=1e-14)


def test_the_entry_of_a_program_in_stages_is_left_unoptimised(small_stages: None) -> None:
    """It only checks shapes and calls its stages: LLVM's passes over it would cost seconds
    where it passes many arrays, and gain nothing (kernels/extern.py: CALLER_ONLY)."""
    assert extern.CALLER_ONLY == {"_dbg_optnone": True}  # numba still has the option
    step, _ = _rnn_step(8, "cpu")
    assert "@njit(**STAGED)\ndef program(" in step.source
    xs = np.random.default_rng(2).standard_normal((8, 5, 3))
    step(xs)
    (ir,) = step._executable._program.inspect_llvm().values()
    defines = [t for t in ir.splitlines() if t.startswith("define") and "programB" in t]
    (entry,) = [t for t in defines if "cpython" not in t]  # not its Python wrapper
    group = re.search(r"#\d+", entry.split(")")[-1])  # its attribute group: #0 {
    assert group is not None
    assert re.search(rf"^attributes {group.group()} = {{[^}}]*\boptnone\b", ir, re.MULTILINE)
    y = gj.placeholder("y", (None,))
    whole = gj.compile([y], [y * 2.0])
    assert "@njit(**PROGRAM)\ndef program(" in whole.source  # a short program is optimised


def test_an_error_in_a_late_stage_reaches_the_caller(small_stages: None) -> None:
    x = gj.placeholder("x", (None,))
    i = gj.placeholder("i", (None,), "int64")
    y = x
    for k in range(12):
        y = gj.take(gj.sin(y) + float(k), i) * 0.5 + gj.take(y, i)
    f, want = gj.compile([x, i], y), gj.compile([x, i], y, backend="numpy")
    assert "program_stage1" in f.source
    v, good = np.linspace(0.0, 1.0, 4), np.array([3, 0, 2, 1])
    np.testing.assert_allclose(f(v, good), want(v, good), rtol=1e-14)
    with pytest.raises(IndexError, match="out of bounds"):
        f(v, np.array([0, 1, 9, 2]))
    np.testing.assert_allclose(f(v, good), want(v, good), rtol=1e-14)  # and it still runs


# cold then warm: the programs and their stages load from the cache, nothing compiles again
WARM = """
import sys
import numpy as np
from numba.core.dispatcher import Dispatcher
from graphjit.codegen.numba_cpu import stages
from graphjit.kernels import extern
stages.SPLIT_ABOVE, stages.STAGE_LINES = 30, 12
from tests.codegen.test_stages import _rnn_step
step, params = _rnn_step(8, "cpu")
loss, h = step(np.linspace(-1.0, 1.0, 8 * 5 * 3).reshape(8, 5, 3))
import graphjit as gj
x = gj.placeholder("x", (None,))
y = x
for k in range(5):  # nests large enough for their parallel variants, in stages
    y = gj.tanh(y * 1.5 + float(k)) * 0.5
    y = y + gj.sum(y) * 1e-6
wide = gj.compile([x], y)
assert "program_parallel_stage1" in wide.source
v = np.linspace(-1.0, 1.0, 300_000)
np.testing.assert_allclose(wide(v), gj.compile([x], y, backend="numpy")(v), rtol=1e-13)
staged = []
for f in (step, wide):
    module = sys.modules[f._executable._program.py_func.__module__]
    staged += [d for d in vars(module).values() if isinstance(d, Dispatcher)]
print(float(loss), sum(sum(d.stats.cache_misses.values()) for d in staged), len(staged))
"""


def test_a_warm_process_loads_the_program_and_its_stages(tmp_path: Path) -> None:
    """Serial stages, and stages calling the parallel variants of large nests (their threads
    must be started in the warm process: loaded from the cache, nothing else starts them)."""
    env = dict(os.environ, GRAPHJIT_CACHE_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    env.pop("PYTEST_XDIST_WORKER", None)  # the parallel program needs more than one thread
    env["GRAPHJIT_NUM_THREADS"] = "2"
    runs = []
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, "-c", WARM], env=env, capture_output=True, text=True, timeout=300
        )
        assert out.returncode == 0, out.stderr
        loss, misses, functions = out.stdout.split()[-3:]
        runs.append((float(loss), int(misses), int(functions)))
    (cold_loss, cold_misses, functions), (warm_loss, warm_misses, _) = runs
    assert cold_loss == warm_loss
    assert functions > 3 and cold_misses > 3  # the program, its stages, its shared kernels
    assert warm_misses == 0
