"""Random well-typed programs drawn from the whole op registry, from one integer seed.

:func:`generate` draws the input leaves and variables, then steps by the rules of
:mod:`graphjit.fuzz.rules` (each kept only when :meth:`graphjit.fuzz.draw.Draw.add` accepts it),
then outputs and updates; :func:`with_dynamic_dims` declares some input dims None.
"""

from __future__ import annotations

import numpy as np

from graphjit.fuzz.draw import BUILD_ERRORS, Draw
from graphjit.fuzz.program import Leaf, Program, Ref, Step, build_graph
from graphjit.fuzz.rules import RULES

# --------------------------------------------------------------------------------------------------
# programs

LEAF_SHAPES = ((), (1,), (3,), (2, 1), (1, 3), (2, 3), (3, 2), (2, 1, 3), (2, 2, 2))


def generate(seed: int, max_steps: int = 10) -> Program:
    """A random program: 1-3 input leaves and 0-2 variables, up to ``max_steps`` steps (depth at
    most 8), 1-3 outputs, and updates of most variables."""
    rng = np.random.default_rng(seed)
    d = Draw(rng)
    for _ in range(int(rng.integers(1, 4))):
        d.leaf(d.choice(LEAF_SHAPES))
    variables = [
        d.leaf(d.choice(LEAF_SHAPES), is_variable=True) for _ in range(int(rng.integers(0, 3)))
    ]
    names = sorted(RULES)
    target = int(rng.integers(2, max_steps + 1))
    for _ in range(target * 6):
        if sum(isinstance(it, Step) for it in d.items) >= target:
            break
        name = d.choice(names)
        step = RULES[name](d, name)
        if step is not None:
            d.add(step)
    steps = [i for i, it in enumerate(d.items) if isinstance(it, Step)]
    if not steps:
        d.add(Step("negative", (Ref(0),), op="negative"))
        steps = [len(d.items) - 1]
    used = {r for it in d.items if isinstance(it, Step) for r in it.refs()}
    sinks = [i for i in steps if i not in used] or steps
    n_out = min(len(sinks), int(rng.integers(1, 4)))
    outputs = [int(i) for i in rng.choice(sinks, n_out, replace=False)]
    if rng.random() < 0.1:
        outputs.append(int(rng.integers(len(d.items))))  # a leaf or a used value, as is
    updates = []
    for v in variables:
        same = [
            i
            for i in steps
            if d.shape(i) == d.shape(v) and np.can_cast(d.dtype(i), d.dtype(v), casting="same_kind")
        ]
        if same and rng.random() < 0.8:
            updates.append((v, int(d.choice(same))))
    program = Program(tuple(d.items), tuple(outputs), tuple(updates), seed=seed)
    return with_dynamic_dims(program, rng)


def with_dynamic_dims(program: Program, rng: np.random.Generator) -> Program:
    """Declare some dims (> 1) of some input leaves None, where the graph still builds."""
    items = list(program.items)
    for i, item in enumerate(items):
        if isinstance(item, Leaf) and not item.is_variable and rng.random() < 0.5:
            flags = tuple(bool(n > 1 and rng.random() < 0.5) for n in item.value.shape)
            items[i] = Leaf(item.name, item.value, flags, item.is_variable)
    candidate = program.with_items(items)
    try:
        build_graph(candidate)
    except BUILD_ERRORS:
        return program
    return candidate
