"""A long program's body cut into stage functions, so that no one function grows without bound.

LLVM's function passes cost more than linearly in the size of the function they run on, and
numba hands LLVM the whole program as one function (its kernels are inlined into it). A graph with
a few dozen steps compiles in a second; an unrolled recurrence has hundreds, and there those
passes dominated: a 10-step LSTM's training step spent 4.8 s in them, against 1.7 s at 5 steps.

So a program body longer than ``SPLIT_ABOVE`` lines of code is cut, at step boundaries, into
stages of about ``STAGE_LINES`` lines. Each stage is an ``@njit`` function of its own that takes the
names it reads from earlier code (arrays, views, call-time sizes) and returns those that later
code reads; the program calls the stages in turn. Arrays travel by reference, so a stage writing
into a buffer an earlier stage allocated writes the program's buffer, as the inline code did.

An unrolled loop repeats its steps: the same code once per time step, up to the names of the
arrays and the indices it slices at (``x[t]``). Runs of repeated steps are cut at their period,
so their stages have the same code, and stages whose code is the same up to names and indices
share one function (``Stage.function``), which takes the indices they differ in as arguments:
numba types, lowers and optimises it once, however many time steps call it.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from graphjit.codegen.numba_cpu.writer import NEST_LOCAL

# a program body of more lines of code than this (comments and blank lines not counted) is cut
# into stages of about STAGE_LINES lines each. Measured on a 2-core machine, cold compiles of an
# unrolled LSTM's training step (16x8 inputs, 64 hidden units): 5 steps (230 lines) take 4.2 s
# whole and 4.8 s in stages of 60; 20 steps take 18.5 s whole and 12.7 s in stages, 40 steps 25 s.
# Each stage costs a function of its own (typing, wrappers, arrays passed in and out), so short
# programs stay whole.
SPLIT_ABOVE = 300
STAGE_LINES = 60
# the longest period (in steps) looked for in runs of repeated steps
MAX_PERIOD = 200


class Stage(NamedTuple):
    name: str
    params: list[str]  # names the stage reads from code before it
    results: list[str]  # names it binds that code after it reads
    lines: list[str]  # its body, unindented, as the program had it
    function: str = ""  # the function it calls: its own (its name), or an earlier stage's
    # its function's parameters, where they are not ``params`` (a shared function takes the
    # indices its stages differ in: the call passes this stage's own values)
    signature: list[str] | None = None

    @property
    def shared(self) -> bool:
        """Whether the stage calls an earlier stage's function (the same code up to names)."""
        return self.function != self.name


def code_lines(lines: Iterable[str]) -> int:
    return sum(1 for t in lines if t.strip() and not t.lstrip().startswith("#"))


def split(
    prefix: str,
    lines: Sequence[str],
    marks: Sequence[int],
    bound: Iterable[str],
    tail: str,
) -> list[Stage] | None:
    """``lines`` (a program body whose steps start at the indices ``marks``) as stages named
    ``{prefix}_stage{i}``, or None when the body is short enough to stay whole. ``bound`` are the
    names bound before the body (arguments, call-time sizes); ``tail`` is the code after it (the
    ``return``), whose reads count as reads after the last stage."""
    if code_lines(lines) <= SPLIT_ABOVE:
        return None
    ends = [*marks[1:], len(lines)]
    steps = [list(lines[a:b]) for a, b in zip(marks, ends)]
    head = list(lines[: marks[0]]) if marks else list(lines)
    chunks = _chunks(steps) if steps else []
    if head:
        chunks = [head + chunks[0], *chunks[1:]] if chunks else [head]
    if len(chunks) < 2:
        return None
    uses = [_crossing(*_names(chunk)) for chunk in chunks]
    later_reads = [_names(tail.splitlines())[0]]  # reads after chunk i, built from the end
    for reads, _ in reversed(uses[1:]):
        later_reads.append(later_reads[-1] | reads)
    later_reads.reverse()
    known = set(bound)
    stages = []
    for i, (chunk, (reads, binds)) in enumerate(zip(chunks, uses)):
        # a name the stage binds that was bound before goes in too: bound on one branch only,
        # it must still have its earlier value on the other
        params = sorted((reads | binds) & known, key=_natural)
        results = sorted(binds & later_reads[i], key=_natural)
        name = f"{prefix}_stage{i}"
        stages.append(Stage(name, params, results, chunk, name))
        known |= binds
    return _share(stages)


def _chunks(steps: Sequence[list[str]]) -> list[list[str]]:
    """The steps grouped into chunks of about ``STAGE_LINES`` lines of code, a run of repeated
    steps cut at a multiple of its period (each chunk of it the same code up to names)."""
    keys = [_step_key(step) for step in steps]
    sizes = [code_lines(step) for step in steps]
    chunks: list[list[str]] = []
    start = 0
    for run_start, period, repeats in _runs(keys, sizes):
        chunks += _greedy(steps[start:run_start])
        per = code_lines([t for step in steps[run_start : run_start + period] for t in step])
        # as many repeats per chunk as make STAGE_LINES, but at least two chunks to share
        group = max(1, min(STAGE_LINES // max(per, 1), repeats // 2)) * period
        stop = run_start + (repeats * period // group) * group
        for a in range(run_start, stop, group):
            chunks.append([t for step in steps[a : a + group] for t in step])
        start = stop
    chunks += _greedy(steps[start:])
    return chunks


def _greedy(steps: Sequence[list[str]]) -> list[list[str]]:
    """Consecutive steps in chunks of at least ``STAGE_LINES`` lines of code (the last shorter)."""
    chunks: list[list[str]] = []
    current: list[str] = []
    for step in steps:
        current += step
        if code_lines(current) >= STAGE_LINES:
            chunks.append(current)
            current = []
    if current:
        chunks.append(current)
    return chunks


def _runs(keys: Sequence[object], sizes: Sequence[int]) -> list[tuple[int, int, int]]:
    """Non-overlapping runs of repeated steps, in order: (first step, period, repeats), each the
    one covering most steps in its stretch (the shortest period on a tie), at least two repeats
    and a stage's worth of code (``sizes``: each step's lines of code): shorter repeats (the
    four gate slices of an LSTM step) are not worth functions of their own."""
    runs: list[tuple[int, int, int]] = []
    before = [0]
    for n in sizes:
        before.append(before[-1] + n)

    def search(lo: int, hi: int) -> None:
        best: tuple[int, int, int, int] | None = None  # (steps covered, -period, start, repeats)
        for period in range(1, min((hi - lo) // 2, MAX_PERIOD) + 1):
            i = lo
            while i + period < hi:
                if keys[i] != keys[i + period]:
                    i += 1
                    continue
                j = i
                while j + period < hi and keys[j] == keys[j + period]:
                    j += 1
                repeats = (j - i + period) // period
                lines = before[i + repeats * period] - before[i]
                if repeats >= 2 and lines >= STAGE_LINES:
                    found = (repeats * period, -period, i, repeats)
                    best = found if best is None or found[:2] > best[:2] else best
                i = j + 1
        if best is None:
            return
        covered, negative, start, repeats = best
        search(lo, start)
        runs.append((start, -negative, repeats))
        search(start + covered, hi)

    search(0, len(keys))
    return runs


def _share(stages: list[Stage]) -> list[Stage]:
    """Stages with the same code up to names, and up to the integers they index with, call the
    first one's function: its params and results in its order, each stage's own names in their
    places, then each index the stages differ in (``x0[3:4]`` at one time step, ``x0[4:5]`` at
    the next), which the function takes as a parameter; it returns every value any of them
    needs."""
    keys = [_canonical(s.lines, {*s.params, *_names(s.lines)[1]}) for s in stages]
    groups: dict[tuple[object, ...], list[int]] = {}
    for i, key in enumerate(keys):
        # the same code, taking the same of its names from before it
        params = tuple(sorted(key.order[p] for p in stages[i].params))
        groups.setdefault((key.tokens, params), []).append(i)
    out = list(stages)
    for members in groups.values():
        if len(members) < 2:
            continue
        first = stages[members[0]]
        ids = keys[members[0]].order  # the first stage's names -> their place in the code
        wanted = {keys[i].order[r] for i in members for r in stages[i].results}
        by_id = {v: k for k, v in ids.items()}
        results = sorted((by_id[w] for w in wanted), key=_natural)
        # the indices the stages differ in become parameters of the function
        columns = zip(*(keys[i].indices for i in members))
        varying = [k for k, column in enumerate(columns) if len({t for t, _ in column}) > 1]
        names = [f"index{k}" for k in range(len(varying))]
        taken = {*ids, *_names(first.lines)[0]}
        assert not taken & set(names), "a generated name is an index parameter's name"
        body = _substitute(first.lines, [keys[members[0]].indices[k][1] for k in varying], names)
        for i in members:
            own = {v: k for k, v in keys[i].order.items()}  # place in the code -> own name
            values = [keys[i].indices[k][0] for k in varying]
            out[i] = stages[i]._replace(
                params=[own[ids[p]] for p in first.params] + values,
                results=[own[ids[r]] for r in results],
                function=first.name,
            )
        out[members[0]] = out[members[0]]._replace(lines=body, signature=[*first.params, *names])
    return out


def _substitute(
    lines: Sequence[str], where: Sequence[tuple[int, int]], names: Sequence[str]
) -> list[str]:
    """``lines`` with the token starting at each (line, column) of ``where`` (1-based lines, as
    ``tokenize`` counts them in the joined text) replaced by the name in its place."""
    out = list(lines)
    for (row, col), name in sorted(zip(where, names), reverse=True):
        text = out[row - 1]
        end = col
        while end < len(text) and text[end].isdigit():
            end += 1
        out[row - 1] = text[:col] + name + text[end:]
    return out


class Canonical(NamedTuple):
    tokens: tuple[object, ...]  # the code's tokens, local names and indices replaced
    order: dict[str, int]  # each local name -> its place (order of first appearance)
    indices: list[tuple[str, tuple[int, int]]]  # each integer in brackets: text, (line, column)


INDEX = "<index>"  # an integer in square brackets, in a canonical token list


def _step_key(lines: Sequence[str]) -> tuple[object, ...]:
    """A step's code up to the names it binds or reads of its own arrays (``b3``, ``v7``) and
    the integers it indexes with."""
    return _canonical(lines, None).tokens


def _canonical(lines: Sequence[str], local: set[str] | None) -> Canonical:
    """The tokens of ``lines`` (comments and blank lines left out) with each name in ``local``
    (None: each array name, a letter b or v and a number) replaced by the order of its first
    appearance, and each integer inside square brackets (an index or slice bound) by
    ``INDEX``."""
    order: dict[str, int] = {}
    tokens: list[object] = []
    indices: list[tuple[str, tuple[int, int]]] = []
    depth = 0  # of square brackets
    skip = (tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER)
    for tok in tokenize.generate_tokens(io.StringIO("\n".join(lines) + "\n").readline):
        if tok.type in skip:
            continue
        text = tok.string
        if tok.type == tokenize.OP and text in "[]":
            depth += 1 if text == "[" else -1
        if tok.type == tokenize.NAME and (
            text in local if local is not None else _is_array_name(text)
        ):
            tokens.append(order.setdefault(text, len(order)))
        elif tok.type == tokenize.NUMBER and depth > 0 and text.isdigit():
            tokens.append(INDEX)
            indices.append((text, tok.start))
        else:
            tokens.append(text)
    return Canonical(tuple(tokens), order, indices)


def _is_array_name(name: str) -> bool:
    """An array's name (a letter b or v and a number), a scalar local's (z and a number), or a
    name a loop nest binds for itself (its temps are numbered by graph node, so they differ
    between time steps)."""
    return (len(name) > 1 and name[0] in "bvz" and name[1:].isdigit()) or bool(
        NEST_LOCAL.fullmatch(name)
    )


def _names(lines: Sequence[str]) -> tuple[set[str], set[str]]:
    """The names ``lines`` read and those they bind."""
    reads: set[str] = set()
    binds: set[str] = set()
    for node in ast.walk(ast.parse("\n".join(lines))):
        if isinstance(node, ast.Name):
            (reads if isinstance(node.ctx, ast.Load) else binds).add(node.id)
    return reads, binds


def _crossing(reads: set[str], binds: set[str]) -> tuple[set[str], set[str]]:
    """The names of ``reads`` and ``binds`` that may be live across a stage boundary: not a loop
    nest's own (``writer.NEST_LOCAL``: its indices and temps, never read past the nest)."""
    return (
        {n for n in reads if not NEST_LOCAL.fullmatch(n)},
        {n for n in binds if not NEST_LOCAL.fullmatch(n)},
    )


def _natural(name: str) -> tuple[str, int]:
    """``b10`` after ``b9``: the generated names are a letter and a number."""
    head = name.rstrip("0123456789")
    return head, int(name[len(head) :] or -1)
