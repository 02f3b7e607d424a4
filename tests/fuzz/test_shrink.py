"""graphjit.fuzz.shrink: programs shrink while a disagreement persists; reproducers run."""

from __future__ import annotations

import numpy as np
import pytest

from graphjit.fuzz.check import Disagreement
from graphjit.fuzz.generate import generate
from graphjit.fuzz.program import Leaf, Program, Ref, Step
from graphjit.fuzz.shrink import prune, reproducer, shrink

PLANTED = Disagreement("cpu", "output 0", "planted")


def _with_exp(program: Program) -> list[Disagreement]:
    return [PLANTED] if any(isinstance(it, Step) and it.fn == "exp" for it in program.items) else []


def test_a_planted_failure_shrinks_to_one_call_on_a_tiny_leaf() -> None:
    seed = next(
        s for s in range(500) if _with_exp(prune(generate(s))) and len(generate(s).items) > 8
    )
    program = generate(seed)
    small = shrink(program, PLANTED, checker=_with_exp)
    steps = [it for it in small.items if isinstance(it, Step)]
    assert [s.fn for s in steps] == ["exp"]
    assert len(small.outputs) == 1 and small.updates == ()
    assert all(leaf.value.size <= 1 and not leaf.is_variable for _, leaf in small.leaves())


def test_prune_drops_what_no_result_needs() -> None:
    x = Leaf("x0", np.ones(2), (False,))
    y = Leaf("x1", np.ones(2), (False,))
    program = Program(
        (x, y, Step("exp", (Ref(0),)), Step("sin", (Ref(1),)), Step("add", (Ref(2), 1.0))), (4,)
    )
    pruned = prune(program)
    assert [it.name if isinstance(it, Leaf) else it.fn for it in pruned.items] == [
        "x0",
        "exp",
        "add",
    ]
    assert pruned.outputs == (2,)


@pytest.mark.parametrize("mode", ["numpy", "eager", "grad", "cpu"])
def test_reproducers_run(mode: str) -> None:
    """A reproducer is a script of gj calls; where nothing disagrees, it runs to the end."""
    w = Leaf("w1", np.array([0.5, -1.0]), (False,), is_variable=True)
    x = Leaf("x0", np.array([[0.25, 1.5], [2.0, -0.5]]), (True, False))
    program = Program(
        (
            x,
            w,
            Step("multiply", (Ref(0), Ref(1)), op="multiply"),
            Step("tanh", (Ref(2),), op="tanh"),
            Step("sum", (Ref(3),), (("axis", 0),), op="sum"),
        ),
        (4, 3),
        ((1, 4),),
    )
    script = reproducer(program, Disagreement(mode, "output 0", "none"))
    assert "gj.placeholder('x0', (None, 2), 'float64')" in script
    exec(compile(script, "<reproducer>", "exec"), {})
