"""Numerical stability: compositions that lose precision or overflow, replaced by fused ops.

Every rule here CHANGES NUMERICS, on purpose: the replacement is at least as accurate everywhere and
finite where the original overflows (``log(sum(exp(x)))`` at ``x = 1000`` is ``inf``;
``logsumexp(x)`` is ``1000 + log(n)``). Results can differ from the unoptimised graph in the last
bits, and by a lot where the original was wrong.
"""

from __future__ import annotations

from graphjit.ir import Node
from graphjit.rewrite.engine import register
from graphjit.rewrite.patterns import build, has_value, is_op


def _plus_one(node: Node) -> Node | None:
    """``x`` when ``node`` is ``1 + x`` or ``x + 1`` with the type of x, else None."""
    if not is_op(node, "add"):
        return None
    a, b = node.inputs
    if has_value(a, 1) and b.type == node.type:
        return b
    if has_value(b, 1) and a.type == node.type:
        return a
    return None


def _one_minus(node: Node) -> Node | None:
    """``x`` when ``node`` is ``1 - x`` with the type of x, else None."""
    if not is_op(node, "subtract"):
        return None
    a, b = node.inputs
    return b if has_value(a, 1) and b.type == node.type else None


@register("log")
def log_one_plus(node: Node) -> Node | None:
    """``log(1 + x)`` -> ``log1p(x)``. CHANGES NUMERICS: exact for small ``x``, where ``1 + x``
    rounds ``x`` away."""
    x = _plus_one(node.inputs[0])
    return None if x is None else build("log1p", x)


@register("subtract")
def exp_minus_one(node: Node) -> Node | None:
    """``exp(x) - 1`` -> ``expm1(x)``. CHANGES NUMERICS: accurate for small ``x``, where the
    subtraction cancels."""
    e, one = node.inputs
    if is_op(e, "exp") and has_value(one, 1) and e.type == node.type:
        return build("expm1", e.inputs[0])
    return None


@register("subtract")
def one_minus_exp(node: Node) -> Node | None:
    """``1 - exp(x)`` -> ``-expm1(x)``. CHANGES NUMERICS (more accurate for small ``x``)."""
    e = _one_minus(node)
    if e is not None and is_op(e, "exp"):
        return build("negative", build("expm1", e.inputs[0]))
    return None


@register("log")
def log_of_exp(node: Node) -> Node | None:
    """``log(exp(x))`` -> ``x``. CHANGES NUMERICS: exact where ``exp`` under- or overflows (the
    original gives -inf or inf there)."""
    (e,) = node.inputs
    return e.inputs[0] if is_op(e, "exp") and e.inputs[0].type == node.type else None


@register("log1p")
def log1p_of_exp(node: Node) -> Node | None:
    """``log1p(exp(x))`` (also ``log(1 + exp(x))``) -> ``softplus(x)``. CHANGES NUMERICS: finite
    for large ``x`` where ``exp`` overflows."""
    (e,) = node.inputs
    return build("softplus", e.inputs[0]) if is_op(e, "exp") else None


@register("log")
def log_of_sigmoid(node: Node) -> Node | None:
    """``log(sigmoid(x))`` -> ``-softplus(-x)``. CHANGES NUMERICS: finite for very negative ``x``,
    where ``sigmoid`` underflows to 0 and the log to -inf."""
    (s,) = node.inputs
    if is_op(s, "sigmoid"):
        return build("negative", build("softplus", build("negative", s.inputs[0])))
    return None


@register("log")
def log_one_minus_sigmoid(node: Node) -> Node | None:
    """``log(1 - sigmoid(x))`` -> ``-softplus(x)``. CHANGES NUMERICS: finite for large ``x``, where
    ``1 - sigmoid(x)`` cancels to 0."""
    s = _one_minus(node.inputs[0])
    if s is not None and is_op(s, "sigmoid"):
        return build("negative", build("softplus", s.inputs[0]))
    return None


@register("log1p")
def log1p_of_minus_sigmoid(node: Node) -> Node | None:
    """``log1p(-sigmoid(x))`` -> ``-softplus(x)``. CHANGES NUMERICS (finite for large ``x``)."""
    (n,) = node.inputs
    if is_op(n, "negative") and is_op(n.inputs[0], "sigmoid"):
        return build("negative", build("softplus", n.inputs[0].inputs[0]))
    return None


@register("reciprocal")
def sigmoid_pattern(node: Node) -> Node | None:
    """``1 / (1 + exp(-x))`` -> ``sigmoid(x)``. CHANGES NUMERICS: no overflow in ``exp(-x)``."""
    e = _plus_one(node.inputs[0])
    if e is not None and is_op(e, "exp") and is_op(e.inputs[0], "negative"):
        x = e.inputs[0].inputs[0]
        if x.type == node.type:
            return build("sigmoid", x)
    return None


@register("log")
def log_of_sum_exp(node: Node) -> Node | None:
    """``log(sum(exp(x), axes))`` -> ``logsumexp(x, axes)``. CHANGES NUMERICS: the slice maximum
    is subtracted first, so large ``x`` gives a finite result instead of inf."""
    (s,) = node.inputs
    if is_op(s, "sum") and is_op(s.inputs[0], "exp"):
        x = s.inputs[0].inputs[0]
        return build("logsumexp", x, axes=s.attrs["axes"], keepdims=s.attrs["keepdims"])
    return None


@register("log")
def log_of_softmax(node: Node) -> Node | None:
    """``log(softmax(x, axes))`` -> ``log_softmax(x, axes)``. CHANGES NUMERICS: finite where a
    softmax entry underflows to 0."""
    (s,) = node.inputs
    if is_op(s, "softmax"):
        return build("log_softmax", s.inputs[0], axes=s.attrs["axes"])
    return None


@register("divide")
def softmax_pattern(node: Node) -> Node | None:
    """``exp(x) / sum(exp(x), axes, keepdims=True)`` -> ``softmax(x, axes)``. CHANGES NUMERICS:
    no overflow for large ``x``."""
    e, s = node.inputs
    if (
        is_op(e, "exp")
        and is_op(s, "sum")
        and s.inputs[0] is e
        and s.attrs["keepdims"]
        and e.type == node.type
    ):
        return build("softmax", e.inputs[0], axes=s.attrs["axes"])
    return None


@register("subtract")
def log_softmax_pattern(node: Node) -> Node | None:
    """``x - logsumexp(x, axes, keepdims=True)`` -> ``log_softmax(x, axes)``. CHANGES NUMERICS
    (one fused, stable op; differs in the last bits)."""
    x, lse = node.inputs
    if (
        is_op(lse, "logsumexp")
        and lse.inputs[0] is x
        and lse.attrs["keepdims"]
        and x.type == node.type
    ):
        return build("log_softmax", x, axes=lse.attrs["axes"])
    return None


@register("exp")
def exp_of_log_softmax(node: Node) -> Node | None:
    """``exp(log_softmax(x, axes))`` -> ``softmax(x, axes)``. CHANGES NUMERICS (last bits)."""
    (ls,) = node.inputs
    if is_op(ls, "log_softmax"):
        return build("softmax", ls.inputs[0], axes=ls.attrs["axes"])
    return None
