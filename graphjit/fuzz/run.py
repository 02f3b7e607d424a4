"""A fuzzing session: programs from consecutive seeds until time or a count runs out; the first
disagreement is shrunk and printed as a reproducer."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from graphjit.fuzz.check import MODES, Disagreement, InvalidProgramError, check
from graphjit.fuzz.generate import generate
from graphjit.fuzz.program import Program
from graphjit.fuzz.shrink import reproducer, shrink


@dataclass
class Session:
    """What a session did: programs checked, ops exercised, the failure found (if any)."""

    checked: int = 0
    invalid: int = 0
    ops: Counter[str] = field(default_factory=Counter)
    failure: Disagreement | None = None
    program: Program | None = None  # the shrunk failing program
    script: str = ""  # its reproducer


def fuzz(
    seed: int,
    minutes: float | None = None,
    programs: int | None = None,
    modes: Sequence[str] = MODES,
    max_steps: int = 10,
    report: Callable[[str], None] = print,
    progress_every: float = 10.0,
    starting: Callable[[int], None] | None = None,
) -> Session:
    """Check programs from seeds ``seed``, ``seed + 1``, ... for ``minutes`` or ``programs``
    programs (whichever ends first); stop at the first disagreement, shrunk. ``starting`` is
    told each seed before its program runs (so a process watching this one knows which program
    crashed it)."""
    session = Session()
    start = last = time.monotonic()
    s = seed
    while (programs is None or session.checked < programs) and (
        minutes is None or time.monotonic() - start < minutes * 60
    ):
        program = generate(s, max_steps)
        if starting is not None:
            starting(s)
        s += 1
        try:
            found = check(program, modes)
        except InvalidProgramError as exc:
            session.invalid += 1
            report(f"seed {program.seed}: skipped, {exc}")
            continue
        session.checked += 1
        session.ops.update(program.ops_used())
        if found:
            failure = found[0]
            report(f"seed {program.seed}: {failure}; shrinking...")
            smaller = shrink(program, failure)
            again = [d for d in check(smaller, modes) if d.mode == failure.mode]
            session.failure = again[0] if again else failure
            session.program = smaller
            session.script = reproducer(smaller, session.failure)
            return session
        now = time.monotonic()
        if now - last >= progress_every:
            last = now
            report(
                f"{session.checked} programs checked in {now - start:.0f} s "
                f"(seeds {seed}..{s - 1}), {len(session.ops)} ops exercised, no disagreement"
            )
    return session
