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
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence
from typing import NamedTuple

# a program body of more lines of code than this (comments and blank lines not counted) is cut
# into stages of about STAGE_LINES lines each. Measured on a 2-core machine, cold compiles of an
# unrolled LSTM's training step (16x8 inputs, 64 hidden units): 5 steps (230 lines) take 4.2 s
# whole and 4.8 s in stages of 60; 20 steps take 18.5 s whole and 12.7 s in stages, 40 steps 25 s.
# Each stage costs a function of its own (typing, wrappers, arrays passed in and out), so short
# programs stay whole.
SPLIT_ABOVE = 300
STAGE_LINES = 60


class Stage(NamedTuple):
    name: str
    params: list[str]  # names the stage reads from code before it
    results: list[str]  # names it binds that code after it reads
    lines: list[str]  # its body, unindented, as the program had it


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
    chunks: list[list[str]] = []
    start = 0
    for mark in [*marks[1:], len(lines)]:
        if code_lines(lines[start:mark]) >= STAGE_LINES or mark == len(lines):
            chunks.append(list(lines[start:mark]))
            start = mark
    if len(chunks) < 2:
        return None
    uses = [_names(chunk) for chunk in chunks]
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
        stages.append(Stage(f"{prefix}_stage{i}", params, results, chunk))
        known |= binds
    return stages


def _names(lines: Sequence[str]) -> tuple[set[str], set[str]]:
    """The names ``lines`` read and those they bind."""
    reads: set[str] = set()
    binds: set[str] = set()
    for node in ast.walk(ast.parse("\n".join(lines))):
        if isinstance(node, ast.Name):
            (reads if isinstance(node.ctx, ast.Load) else binds).add(node.id)
    return reads, binds


def _natural(name: str) -> tuple[str, int]:
    """``b10`` after ``b9``: the generated names are a letter and a number."""
    head = name.rstrip("0123456789")
    return head, int(name[len(head) :] or -1)
