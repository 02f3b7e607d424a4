"""Algebraic identities on elementwise ops that are exact in IEEE arithmetic.

Every identity checks that the replacement has the node's exact type: ``x * 1`` is ``x`` only when
the ``1`` neither broadcasts ``x`` to a bigger shape nor changes its dtype. Identities that are not
exact are not here: ``x - x`` is not 0 (NaN and inf give NaN), ``x * 0`` is not 0 (NaN, inf, and the
sign of a zero). Where an identity is exact except for the sign of a zero result, its docstring says
so (``x + 0`` turns ``-0.0`` into ``+0.0``; the rewritten graph keeps ``-0.0``).
"""

from __future__ import annotations

from graphjit.dtypes import is_float
from graphjit.ir import Node
from graphjit.rewrite.engine import register
from graphjit.rewrite.patterns import build, has_value, is_op, is_true

# casts that keep every value exactly (so a round trip through them is the identity)
_LOSSLESS = {
    "bool": {"bool", "uint8", "int8", "int16", "int32", "int64", "float32", "float64"},
    "uint8": {"uint8", "int16", "int32", "int64", "float32", "float64"},
    "int8": {"int8", "int16", "int32", "int64", "float32", "float64"},
    "int16": {"int16", "int32", "int64", "float32", "float64"},
    "int32": {"int32", "int64", "float64"},
    "int64": {"int64"},
    "float32": {"float32", "float64"},
    "float64": {"float64"},
}


def _keeps(node: Node, x: Node) -> Node | None:
    """``x`` when it can stand for ``node`` (same shape and dtype), else None."""
    return x if x.type == node.type else None


def _identity_operand(node: Node, value: float, positions: tuple[int, ...]) -> Node | None:
    """The operand of binary ``node`` that is combined with a uniform ``value`` (at one of the
    ``positions``), when it has the node's type."""
    for pos in positions:
        if has_value(node.inputs[pos], value):
            x = node.inputs[1 - pos]
            if x.type == node.type:
                return x
    return None


# --------------------------------------------------------------------------------------------------
# additive


@register("add")
def add_zero(node: Node) -> Node | None:
    """``x + 0`` and ``0 + x`` -> ``x``. Exact except the sign of a zero: ``-0.0 + 0.0`` is
    ``+0.0`` while the rewrite keeps ``-0.0``."""
    return _identity_operand(node, 0, (0, 1))


@register("subtract")
def subtract_zero(node: Node) -> Node | None:
    """``x - 0`` -> ``x``. Exact (``-0.0 - 0.0`` is ``-0.0``)."""
    return _identity_operand(node, 0, (1,))


@register("subtract")
def zero_minus(node: Node) -> Node | None:
    """``0 - x`` -> ``-x``. Exact except the sign of a zero (``0 - 0`` is ``+0.0``, ``-0`` is
    ``-0.0``)."""
    a, x = node.inputs
    if has_value(a, 0) and x.type == node.type:
        return build("negative", x)
    return None


@register("add")
def add_negated(node: Node) -> Node | None:
    """``x + (-y)`` and ``(-y) + x`` -> ``x - y``. Exact (IEEE subtraction is addition of the
    negation)."""
    a, b = node.inputs
    if is_op(b, "negative"):
        return build("subtract", a, b.inputs[0])
    if is_op(a, "negative"):
        return build("subtract", b, a.inputs[0])
    return None


@register("subtract")
def subtract_negated(node: Node) -> Node | None:
    """``x - (-y)`` -> ``x + y``. Exact."""
    a, b = node.inputs
    if is_op(b, "negative"):
        return build("add", a, b.inputs[0])
    return None


@register("negative")
def double_negation(node: Node) -> Node | None:
    """``-(-x)`` -> ``x``. Exact."""
    (x,) = node.inputs
    return x.inputs[0] if is_op(x, "negative") else None


# --------------------------------------------------------------------------------------------------
# multiplicative


@register("multiply")
def multiply_one(node: Node) -> Node | None:
    """``x * 1`` and ``1 * x`` -> ``x``. Exact."""
    return _identity_operand(node, 1, (0, 1))


@register("multiply")
def multiply_minus_one(node: Node) -> Node | None:
    """``x * -1`` and ``-1 * x`` -> ``-x``. Exact."""
    x = _identity_operand(node, -1, (0, 1))
    return None if x is None or x.dtype == "bool" else build("negative", x)


@register("multiply")
def multiply_negations(node: Node) -> Node | None:
    """``(-x) * (-y)`` -> ``x * y``. Exact (rounding is symmetric in sign)."""
    a, b = node.inputs
    if is_op(a, "negative") and is_op(b, "negative"):
        return build("multiply", a.inputs[0], b.inputs[0])
    return None


@register("divide")
def divide_one(node: Node) -> Node | None:
    """``x / 1`` -> ``x``. Exact."""
    return _identity_operand(node, 1, (1,))


@register("divide")
def divide_minus_one(node: Node) -> Node | None:
    """``x / -1`` -> ``-x``. Exact."""
    x = _identity_operand(node, -1, (1,))
    return None if x is None else build("negative", x)


@register("divide")
def one_over(node: Node) -> Node | None:
    """``1 / x`` -> ``reciprocal(x)``. Exact (reciprocal is ``1.0 / x``)."""
    a, x = node.inputs
    if has_value(a, 1) and x.type == node.type and is_float(x.dtype):
        return build("reciprocal", x)
    return None


@register("divide")
def divide_negations(node: Node) -> Node | None:
    """``(-x) / (-y)`` -> ``x / y``. Exact."""
    a, b = node.inputs
    if is_op(a, "negative") and is_op(b, "negative"):
        return build("divide", a.inputs[0], b.inputs[0])
    return None


@register("power")
def power_one(node: Node) -> Node | None:
    """``x ** 1`` -> ``x``. Exact."""
    return _identity_operand(node, 1, (1,))


@register("power")
def power_zero(node: Node) -> Node | None:
    """``x ** 0`` -> ones of x's shape. Exact: ``pow(x, 0)`` is 1 for every x, NaN and inf
    included (C99 / IEEE 754)."""
    x, y = node.inputs
    if has_value(y, 0) and x.shape == node.shape:
        return build("full_like", x, fill_value=_one(node.dtype), dtype=node.dtype)
    return None


def _one(dtype: str) -> int | float:
    return 1.0 if is_float(dtype) else 1


@register("power")
def power_two(node: Node) -> Node | None:
    """``x ** 2`` -> ``square(x)`` (``x * x``). Exact: both are the correctly rounded square
    (numpy itself computes ``power(x, 2)`` as ``square``; a libm ``pow`` is correctly rounded
    for an exponent of 2), and ints agree exactly, overflow included."""
    return _power_to(node, 2, "square", floats_only=False)


@register("power")
def power_minus_one(node: Node) -> Node | None:
    """``x ** -1`` -> ``reciprocal(x)`` (``1.0 / x``), floats only (an int to a negative power is
    an error). Exact: both are the correctly rounded ``1/x`` (numpy does the same rewrite)."""
    return _power_to(node, -1, "reciprocal", floats_only=True)


@register("power")
def power_half(node: Node) -> Node | None:
    """``x ** 0.5`` -> ``sqrt(x)``, floats only. CHANGES NUMERICS at two points: ``pow(-0.0, 0.5)``
    is ``+0.0`` but ``sqrt(-0.0)`` is ``-0.0``, and ``pow(-inf, 0.5)`` is ``+inf`` but
    ``sqrt(-inf)`` is NaN. Elsewhere ``sqrt`` is correctly rounded and ``pow`` within an ulp."""
    return _power_to(node, 0.5, "sqrt", floats_only=True)


def _power_to(node: Node, exponent: float, op: str, floats_only: bool) -> Node | None:
    x, y = node.inputs
    if not has_value(y, exponent) or x.type != node.type:
        return None
    if floats_only and not is_float(x.dtype):
        return None
    return build(op, x)


@register("square", "abs")
def even_of_negation(node: Node) -> Node | None:
    """``square(-x)`` -> ``square(x)``, ``abs(-x)`` -> ``abs(x)``. Exact."""
    (x,) = node.inputs
    return build(node.op.name, x.inputs[0]) if is_op(x, "negative") else None


@register("abs")
def abs_of_abs(node: Node) -> Node | None:
    """``abs(abs(x))`` -> ``abs(x)``. Exact."""
    (x,) = node.inputs
    return x if is_op(x, "abs") else None


@register("maximum", "minimum")
def extremum_of_same(node: Node) -> Node | None:
    """``maximum(x, x)`` and ``minimum(x, x)`` -> ``x``. Exact (NaN included)."""
    a, b = node.inputs
    return _keeps(node, a) if a is b else None


# --------------------------------------------------------------------------------------------------
# selection, logic, casts


@register("where")
def where_same_branches(node: Node) -> Node | None:
    """``where(c, x, x)`` -> ``x``. Exact."""
    _, a, b = node.inputs
    return _keeps(node, a) if a is b else None


@register("where")
def where_known_condition(node: Node) -> Node | None:
    """``where(True, x, y)`` -> ``x`` and ``where(False, x, y)`` -> ``y`` for a condition known to
    be uniform. Exact."""
    c, a, b = node.inputs
    known = is_true(c)
    if known is None:
        return None
    return _keeps(node, a if known else b)


@register("where")
def where_negated_condition(node: Node) -> Node | None:
    """``where(not c, x, y)`` -> ``where(c, y, x)``. Exact."""
    c, a, b = node.inputs
    if is_op(c, "logical_not"):
        return build("where", c.inputs[0], b, a)
    return None


@register("logical_not")
def double_logical_not(node: Node) -> Node | None:
    """``not (not x)`` -> ``x`` (x bool). Exact."""
    (x,) = node.inputs
    return _keeps(node, x.inputs[0]) if is_op(x, "logical_not") else None


@register("bitwise_not")
def double_bitwise_not(node: Node) -> Node | None:
    """``~~x`` -> ``x`` (x an integer: two's complement negation is an involution). Exact."""
    (x,) = node.inputs
    return _keeps(node, x.inputs[0]) if is_op(x, "bitwise_not") else None


@register("astype")
def astype_same(node: Node) -> Node | None:
    """``astype(x, x.dtype)`` -> ``x``. Exact."""
    (x,) = node.inputs
    return _keeps(node, x)


@register("astype")
def astype_lossless_chain(node: Node) -> Node | None:
    """``astype(astype(x, a), b)`` -> ``astype(x, b)`` (or ``x`` when b is x's dtype) when the
    cast to ``a`` keeps every value of x exactly (float32 -> float64, int32 -> int64, ...). Exact:
    the second cast sees the same value either way."""
    (inner,) = node.inputs
    if not is_op(inner, "astype"):
        return None
    x = inner.inputs[0]
    if inner.dtype not in _LOSSLESS[x.dtype]:
        return None
    if x.dtype == node.dtype:
        return _keeps(node, x)
    return build("astype", x, dtype=node.dtype)
