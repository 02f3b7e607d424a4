"""Shrink a failing program while the disagreement persists, and print it as a Python script.

Each pass proposes smaller programs and keeps the first that still shows a disagreement of the
same mode and kind; the passes repeat until none makes progress:

* drop an output or an update (and then every item nothing uses);
* replace a step by one of its inputs (a subtree by its leaves, one level at a time);
* shrink a leaf: a dim to 1 (or one less), a dim declared None to a fixed one, a variable to a
  placeholder, its values to round numbers.

A candidate that no longer builds, or that the reference rejects, is not a reproducer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

import numpy as np

from graphjit.fuzz.check import Disagreement, InvalidProgramError, check, smooth_outputs
from graphjit.fuzz.program import (
    Item,
    Leaf,
    Program,
    Ref,
    Step,
    build_graph,
    eager_source,
    graph_source,
    item_name,
)
from graphjit.interp import evaluate

Checker = Callable[[Program], list[Disagreement]]


def same_failure(want: Disagreement) -> Callable[[list[Disagreement]], bool]:
    kind = want.what.split()[0]  # "output", "update", "gradient", "compile", ...
    return lambda found: any(d.mode == want.mode and d.what.split()[0] == kind for d in found)


def _remap(x: object, mapping: dict[int, int]) -> object:
    if isinstance(x, Ref):
        return Ref(mapping[x.index])
    if isinstance(x, tuple):
        return tuple(_remap(y, mapping) for y in x)
    if isinstance(x, list):
        return [_remap(y, mapping) for y in x]
    return x


def prune(program: Program) -> Program:
    """Without the items that no result needs."""
    live = set(program.results()) | {v for v, _ in program.updates}
    for i in range(len(program.items) - 1, -1, -1):
        item = program.items[i]
        if i in live and isinstance(item, Step):
            live.update(item.refs())
    keep = sorted(live)
    mapping = {old: new for new, old in enumerate(keep)}
    items: list[Item] = []
    for old in keep:
        item = program.items[old]
        if isinstance(item, Step):
            args = _remap(item.args, mapping)
            kwargs = _remap(item.kwargs, mapping)
            assert isinstance(args, tuple) and isinstance(kwargs, tuple)
            item = replace(item, args=args, kwargs=kwargs)
        items.append(item)
    return Program(
        tuple(items),
        tuple(mapping[i] for i in program.outputs),
        tuple((mapping[v], mapping[n]) for v, n in program.updates),
        seed=program.seed,
    )


def _substitute(program: Program, step: int, by: int) -> Program:
    """Every use of item ``step`` replaced by item ``by`` (an input of it)."""
    mapping = {i: i for i in range(len(program.items))}
    mapping[step] = by
    items = [
        replace(it, args=_remap(it.args, mapping), kwargs=_remap(it.kwargs, mapping))  # type: ignore[arg-type]
        if isinstance(it, Step) and i > step
        else it
        for i, it in enumerate(program.items)
    ]
    return Program(
        tuple(items),
        tuple(mapping[i] for i in program.outputs),
        tuple((v, mapping[n]) for v, n in program.updates),
        seed=program.seed,
    )


def _candidates(program: Program) -> Iterator[Program]:
    if len(program.outputs) + len(program.updates) > 1:
        for k in range(len(program.outputs)):
            yield replace(program, outputs=program.outputs[:k] + program.outputs[k + 1 :])
        for k in range(len(program.updates)):
            yield replace(program, updates=program.updates[:k] + program.updates[k + 1 :])
    for k, (_, value) in enumerate(program.updates):  # the new value as an output instead
        rest = program.updates[:k] + program.updates[k + 1 :]
        yield replace(program, outputs=(*program.outputs, value), updates=rest)
    for i in range(len(program.items) - 1, -1, -1):
        item = program.items[i]
        if isinstance(item, Step):
            for r in dict.fromkeys(item.refs()):
                yield _substitute(program, i, r)
    for i, leaf in program.leaves():
        for new in _smaller(leaf):
            candidate = program.with_items(_with(program.items, i, new))
            if leaf.is_variable and not new.is_variable:
                updates = tuple(u for u in program.updates if u[0] != i)
                candidate = replace(candidate, updates=updates)
            yield candidate


def _with(items: Sequence[Item], i: int, new: Item) -> list[Item]:
    out = list(items)
    out[i] = new
    return out


def _smaller(leaf: Leaf) -> Iterator[Leaf]:
    if leaf.is_variable:
        yield Leaf(leaf.name.replace("w", "x", 1), leaf.value, leaf.dynamic)
    value = leaf.value
    for axis, n in enumerate(value.shape):
        for size in dict.fromkeys((1, n - 1)):
            if 0 < size < n:
                smaller = np.take(value, np.arange(size), axis=axis)
                dynamic = tuple(f and s > 1 for f, s in zip(leaf.dynamic, smaller.shape))
                yield replace(leaf, value=smaller, dynamic=dynamic)
    for axis, dyn in enumerate(leaf.dynamic):
        if dyn:
            yield replace(leaf, dynamic=_with(leaf.dynamic, axis, False))  # type: ignore[arg-type]
    if value.dtype.kind == "f":
        for rounded in (np.round(value), np.round(value, 1)):
            if not np.array_equal(rounded, value):
                yield replace(leaf, value=rounded.astype(value.dtype))


def shrink(
    program: Program, failure: Disagreement, checker: Checker | None = None, budget: int = 400
) -> Program:
    """The smallest program found (within ``budget`` checks) still showing ``failure``'s kind."""
    modes = (failure.mode, "numpy") if failure.mode in ("cpu", "cuda") else (failure.mode,)
    run = checker or (lambda p: check(p, modes))
    fails = same_failure(failure)
    best = prune(program)
    progress = True
    while progress and budget > 0:
        progress = False
        for candidate in _candidates(best):
            budget -= 1
            if budget <= 0:
                break
            candidate = prune(candidate)
            try:
                if fails(run(candidate)):
                    best, progress = candidate, True
                    break
            except InvalidProgramError:
                continue
    return best


def reproducer(program: Program, failure: Disagreement) -> str:
    """A runnable script: the program's graph, then the comparison that failed (it raises
    AssertionError while the disagreement is there)."""
    lines = [
        f"# graphjit fuzz: {failure}".replace("\n", " "),
        f"# (seed {program.seed})" if program.seed is not None else "#",
        "import numpy as np",
        "",
        "import graphjit as gj",
        "from graphjit.interp import evaluate",
        "",
        *graph_source(program),
        "",
    ]
    mode = failure.mode
    if mode == "grad":
        lines += _gradient_check_source(program)
        return "\n".join(lines) + "\n"
    if mode in ("numpy", "eager"):  # against the reference: the graph as built, interpreted
        lines.append("want = evaluate([*outputs, *updates.values()], dict(zip(inputs, feeds)))")
    if mode == "eager":
        lines += [*eager_source(program), "got = [np.asarray(t.detach().numpy()) for t in eager]"]
    else:
        if mode in ("cpu", "cuda"):  # against the numpy backend, on the same optimised graph
            lines += [
                "before = [w.get_value().copy() for w in updates]",
                'f = gj.compile(inputs, outputs, updates=updates, backend="numpy")',
                "want = [*f(*feeds), *(w.get_value().copy() for w in updates)]",
                "for w, value in zip(updates, before):",
                "    w.set_value(value)",
            ]
        lines += [
            f'f = gj.compile(inputs, outputs, updates=updates, backend="{mode}")',
            "got = [*f(*feeds), *(w.get_value() for w in updates)]",
        ]
    lines += [
        "for i, (g, w) in enumerate(zip(got, want)):",
        "    w = w.astype(g.dtype) if i >= len(outputs) else w",
        "    assert g.dtype == w.dtype and g.shape == w.shape, (i, g, w)",
        "    np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-6, err_msg=f'result {i}')",
    ]
    return "\n".join(lines) + "\n"


def _gradient_check_source(program: Program) -> list[str]:
    graph = build_graph(program)
    shapes = [v.shape for v in evaluate(graph.outputs, dict(zip(graph.inputs, graph.feeds)))]
    terms = [
        f"gj.sum({item_name(program, program.outputs[k])} * C({shapes[k]}, {k}))"
        for k in smooth_outputs(graph)
    ]
    return [
        "from graphjit.fuzz.check import fd_tolerance",
        "",
        "def C(shape, k):  # fixed weights of each output in the loss",
        "    return np.cos(1.0 + k + np.arange(int(np.prod(shape)))).reshape(shape)",
        "",
        f"loss = {' + '.join(terms) or '0.0'}",
        "wrt = [x for x in [*inputs, *variables] if x.dtype == 'float64']",
        "grads = evaluate(gj.grad(loss, wrt), dict(zip(inputs, feeds)))",
        "start = {x: evaluate([x], dict(zip(inputs, feeds)))[0].copy() for x in wrt}",
        "vs = {x: np.random.default_rng(1).standard_normal(np.shape(start[x])) for x in wrt}",
        "",
        "def loss_at(t):",
        "    feed = dict(zip(inputs, feeds))",
        "    for x in wrt:",
        "        if isinstance(x, gj.Variable):",
        "            x.set_value(start[x] + t * vs[x])",
        "        else:",
        "            feed[x] = start[x] + t * vs[x]",
        "    return float(evaluate([loss], feed)[0])",
        "",
        "h = 1e-6",
        "fp, fm = loss_at(h), loss_at(-h)",
        "numeric = (fp - fm) / (2 * h)",
        "symbolic = sum(float(np.sum(g * vs[x])) for g, x in zip(grads, wrt))",
        "tolerance = fd_tolerance(numeric, symbolic, max(abs(fp), abs(fm)), h)",
        "assert abs(symbolic - numeric) <= tolerance, (symbolic, numeric)",
    ]
