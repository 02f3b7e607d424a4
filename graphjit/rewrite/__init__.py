"""Graph rewrites: ``optimize(outputs)`` returns equivalent, simpler outputs.

The rules are small named functions, one node in and a replacement (or None) out, registered per op
and applied bottom-up to a fixed point by :mod:`graphjit.rewrite.engine`:

* :mod:`~graphjit.rewrite.fold`: constant folding through the ops' reference implementations;
* :mod:`~graphjit.rewrite.algebra`: exact identities (``x * 1``, ``-(-x)``, ``x ** 2``, casts...);
* :mod:`~graphjit.rewrite.shapes`: reshapes, transposes, broadcasts and reductions that do nothing;
* :mod:`~graphjit.rewrite.stability`: ``log(sum(exp(x)))`` -> ``logsumexp(x)`` and friends (these
  change numerics, for the better, and say so).

Common subexpressions are merged by hash-consing, and dead code is dropped because the result is
rebuilt from the outputs. To see what fired, pass a list as ``trace`` (it receives one
:class:`RewriteEvent` per rewrite) or enable the ``graphjit.rewrite`` logger at DEBUG level.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from graphjit.ir import Node
from graphjit.rewrite import algebra, fold, shapes, stability  # noqa: F401  (registers the rules)
from graphjit.rewrite.engine import RULES, RewriteError, RewriteEvent, RuleSet, register, rewrite

__all__ = [
    "RULES",
    "RewriteError",
    "RewriteEvent",
    "RuleSet",
    "optimize",
    "register",
    "rewrite",
    "rule_names",
]


def optimize(
    outputs: Sequence[Node],
    *,
    trace: list[RewriteEvent] | bool | None = None,
    exclude: Iterable[str] = (),
) -> list[Node]:
    """``outputs`` rewritten to a fixed point of every registered rule (one list in, one out).

    ``trace``: a list to receive a :class:`RewriteEvent` per rule firing, or True to print them.
    ``exclude``: names of rules to leave out (e.g. ``["log_of_sum_exp"]`` to keep a graph's exact
    numerics while debugging)."""
    outs = [outputs] if isinstance(outputs, Node) else list(outputs)
    for i, o in enumerate(outs):
        if not isinstance(o, Node):
            raise TypeError(
                f"optimize: outputs[{i}] is a {type(o).__name__}, expected a graph node"
            )
    rules = RULES.without(exclude) if exclude else RULES
    events: list[RewriteEvent] | None = trace if isinstance(trace, list) else None
    if trace is True:
        events = []
    result = rewrite(outs, rules, events)
    if trace is True and events is not None:
        for event in events:
            print(event)
    return result


def rule_names() -> list[str]:
    """Names of the registered rules, in the order they are tried."""
    return RULES.names()
