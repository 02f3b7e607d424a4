"""The rewrite driver: named rules, registered per op, applied bottom-up to a fixed point.

A rule is a function of one node that returns an equivalent replacement node, or None when it does
not apply. Rules only look *down* the graph (at the node, its inputs, their inputs...), never at a
node's users, so one bottom-up sweep reaches a fixed point: every node is rewritten after its inputs
are final, and whatever a rule builds is itself swept before the node counts as done.

The sweep is iterative (an explicit stack, as :func:`graphjit.ir.toposort`), so graphs of any depth
optimise without hitting the recursion limit, and it touches each node a bounded number of times.
Hash-consing makes common-subexpression elimination free: rebuilding a node whose inputs became
equal nodes gives the one existing node. Dead code disappears because the result is rebuilt from the
outputs only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from graphjit import ir
from graphjit.ir import Node

Rule = Callable[[Node], "Node | None"]

log = logging.getLogger("graphjit.rewrite")


@dataclass(frozen=True)
class RewriteEvent:
    """One rule firing: ``rule`` replaced ``before`` with ``after``."""

    rule: str
    before: Node
    after: Node

    def __str__(self) -> str:
        return f"{self.rule}: {self.before.op.name} {self.before.type} -> {self.after.op.name}"


@dataclass
class RuleSet:
    """Rules by op name; ``any_op`` rules are tried on every non-leaf node, first."""

    by_op: dict[str, list[Rule]] = field(default_factory=dict)
    any_op: list[Rule] = field(default_factory=list)

    def add(self, rule: Rule, ops: Iterable[str] | None) -> None:
        if ops is None:
            self.any_op.append(rule)
        else:
            for name in ops:
                self.by_op.setdefault(name, []).append(rule)

    def for_op(self, name: str) -> list[Rule]:
        return self.any_op + self.by_op.get(name, [])

    def names(self) -> list[str]:
        seen: dict[str, None] = {}
        for rule in [*self.any_op, *(r for rs in self.by_op.values() for r in rs)]:
            seen[rule.__name__] = None
        return list(seen)

    def without(self, names: Iterable[str]) -> RuleSet:
        """A copy without the named rules (to switch some off, e.g. to debug one)."""
        drop = set(names)
        return RuleSet(
            {op: [r for r in rs if r.__name__ not in drop] for op, rs in self.by_op.items()},
            [r for r in self.any_op if r.__name__ not in drop],
        )


RULES = RuleSet()


def register(*ops: str) -> Callable[[Rule], Rule]:
    """Decorator: register a rule for nodes of the named ops (none named: every op)."""

    def deco(rule: Rule) -> Rule:
        if not rule.__doc__:
            raise ValueError(f"rewrite rule {rule.__name__} needs a docstring")
        RULES.add(rule, ops or None)
        return rule

    return deco


class RewriteError(RuntimeError):
    """A rule misbehaved (changed a node's type, or rewrote a node into something that uses it)."""


def _apply_rules(node: Node, rules: RuleSet, trace: list[RewriteEvent] | None) -> Node | None:
    """The first replacement any rule offers for ``node``, or None."""
    for rule in rules.for_op(node.op.name):
        new = rule(node)
        if new is None or new is node:
            continue
        if new.type != node.type:
            raise RewriteError(
                f"rewrite rule {rule.__name__} replaced {node!r} with {new!r}: the type changed "
                f"from {node.type} to {new.type}"
            )
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s: %r -> %r", rule.__name__, node, new)
        if trace is not None:
            trace.append(RewriteEvent(rule.__name__, node, new))
        return new
    return None


def rewrite(
    outputs: Sequence[Node],
    rules: RuleSet = RULES,
    trace: list[RewriteEvent] | None = None,
    max_rewrites: int | None = None,
) -> list[Node]:
    """``outputs`` rebuilt with ``rules`` applied bottom-up until none applies anywhere.

    Each stack frame is ``[node, next_input, rebuilt, replacement]``: first the node's inputs
    are made final (one at a time, depth first), then the node is rebuilt on the final inputs and
    offered to the rules; if one fires, the frame waits for the replacement to be made final.
    """
    done: dict[Node, Node] = {}  # node -> its final (fixed-point) form
    busy: set[Node] = set()  # nodes whose final form is being worked out (the current path)
    if max_rewrites is None:
        max_rewrites = 20 * len(ir.toposort(outputs)) + 1000
    fired = 0

    def finish(frame: list, final: Node) -> None:
        done[frame[0]] = final
        done[frame[2]] = final
        busy.discard(frame[0])
        busy.discard(frame[2])

    for root in outputs:
        if root in done:
            continue
        stack: list[list] = [[root, 0, root, None]]
        busy.add(root)
        while stack:
            frame = stack[-1]
            node: Node = frame[0]
            if frame[3] is not None:
                # the rules replaced this node: it is final when the replacement is
                finish(frame, done[frame[3]])
                stack.pop()
                continue
            ins = node.inputs
            i = frame[1]
            while i < len(ins) and ins[i] in done:
                i += 1
            frame[1] = i
            if i < len(ins):
                child = ins[i]
                if child in busy:
                    raise RewriteError(f"rewriting produced a cycle through {child!r}")
                busy.add(child)
                stack.append([child, 0, child, None])
                continue
            # all inputs are final: rebuild on them, then offer the result to the rules
            new_ins = tuple(done[x] for x in ins)
            cur = node
            if any(a is not b for a, b in zip(new_ins, ins)):
                cur = ir.make_node(node.op, new_ins, dict(node.attrs))
                frame[2] = cur
                hit = done.get(cur)
                if hit is not None:
                    finish(frame, hit)
                    stack.pop()
                    continue
                if cur in busy:
                    raise RewriteError(f"rewriting produced a cycle through {cur!r}")
                busy.add(cur)
            replacement = _apply_rules(cur, rules, trace) if cur.inputs else None
            if replacement is None:
                finish(frame, cur)
                stack.pop()
                continue
            fired += 1
            if fired > max_rewrites:
                raise RewriteError(
                    f"rewriting did not reach a fixed point after {max_rewrites} rewrites (last: "
                    f"{cur!r} -> {replacement!r}); two rules probably undo each other"
                )
            hit = done.get(replacement)
            if hit is not None:
                finish(frame, hit)
                stack.pop()
                continue
            if replacement in busy:
                raise RewriteError(
                    f"rewriting {cur!r} produced {replacement!r}, which is still being rewritten "
                    "(a cycle)"
                )
            frame[3] = replacement
            busy.add(replacement)
            stack.append([replacement, 0, replacement, None])
    return [done[o] for o in outputs]
