"""Where each node of a graph runs when its inputs are split into chunks of rows.

Each node gets a role: **row-wise** (its value is the concatenation, along its *batch axis*, of
the values computed chunk by chunk: elementwise ops, matmul by a small matrix, reductions over
other axes, transposes that move the batch axis), a **contraction** (it reduces over the batch
axis: its value combines the values computed per chunk; sum, mean's count, matmul or einsum
contracting the batch axis add, max and min take the extremum, logsumexp combines stably), or
**small** (it has no batch axis: leaves such as variables, and whatever is computed from small
values and contractions; small values are the same for every chunk).

A small value computed from a contraction can feed row-wise work again (a gradient scales every
row by ``1 / n``; a standardisation subtracts the mean), so the work runs in *passes* over the
chunks: pass ``p`` needs the small values that ``p`` earlier tree reductions made available.
Each pass is one program per chunk; each set of small values is computed by a *stage* program
once. Row-wise work a later pass needs again is recomputed from the data (nothing is kept between
passes). A node that mixes rows in any other way (a softmax over the batch axis, a slice of rows)
raises :class:`NotSplittableError` naming it.

This module only reads graphs; it imports nothing from Dask.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from graphjit import ir
from graphjit.ir import Node
from graphjit.ops.leaves import CONSTANT, PLACEHOLDER, VARIABLE
from graphjit.ops.shape_rules import FULL_SLICE
from graphjit.serialize import describe

__all__ = ["NotSplittableError", "Contraction", "Roles", "assign_roles"]


class NotSplittableError(ValueError):
    """A graph given chunked inputs has a node that cannot run chunk by chunk."""


class Contraction(NamedTuple):
    """A node reducing over the batch axis: computed per chunk, combined by ``combine``
    (``"sum"``, ``"prod"``, ``"max"``, ``"min"`` or ``"logsumexp"``)."""

    combine: str


class Roles(NamedTuple):
    """The split of a graph: each node's batch axis (None: small), the contractions, and the pass
    of each row-wise node and contraction (``pass_of``) or the stage after which each small
    value is known (``known_after``: the number of reductions it waits for)."""

    axis: dict[Node, int | None]
    contractions: dict[Node, Contraction]
    pass_of: dict[Node, int]
    known_after: dict[Node, int]
    # size_of nodes read from shapes, no pass needed: value = factor, times the rows when counting
    sizes: dict[Node, tuple[int, bool]]


_COMBINE = {"sum": "sum", "prod": "prod", "max": "max", "min": "min", "logsumexp": "logsumexp"}


def _refuse(node: Node, why: str) -> NotSplittableError:
    return NotSplittableError(
        f"node {describe(node)}: {why}, so the graph cannot run chunk by chunk on arrays split "
        "along their first axis. Row-wise ops, and sum/mean/max/min/logsumexp or matmul/einsum "
        "over the batch axis, can; compute this part on the client (dask's .compute()) instead"
    )


def _broadcast_axis(node: Node, in_axes: Sequence[int | None]) -> int:
    """Elementwise broadcasting: every chunked input must put its batch axis at the same output
    axis, where every small input has size 1 (or no dim)."""
    out_nd = node.ndim
    cands = {out_nd - x.ndim + a for x, a in zip(node.inputs, in_axes) if a is not None}
    if len(cands) != 1:
        raise _refuse(node, "its chunked inputs have their batch axes at different positions")
    (axis,) = cands
    for i, (x, a) in enumerate(zip(node.inputs, in_axes)):
        j = axis - (out_nd - x.ndim)
        if a is None and j >= 0 and x.shape[j] != 1:
            raise _refuse(
                node,
                f"input {i} is not chunked but has size {x.shape[j]!r} along the batch axis "
                "(pass it as a Dask array chunked like the others)",
            )
    return axis


def _reduced_axis(axis: int, axes: Sequence[int], keepdims: bool) -> int:
    return axis if keepdims else axis - sum(1 for a in axes if a < axis)


def _matmul_role(node: Node, in_axes: Sequence[int | None]) -> int | Contraction:
    a, b = node.inputs
    na, nb = a.ndim, b.ndim
    n_batch = node.ndim - (na >= 2) - (nb >= 2)
    rows_at = n_batch  # the output axis of a's rows (when a is 2-D or more)
    contract_a, contract_b = na - 1, (0 if nb == 1 else nb - 2)
    roles: list[int | Contraction] = []
    for x, ax, contracted, row_axis, out_row in (
        (a, in_axes[0], contract_a, na - 2 if na >= 2 else None, rows_at),
        (b, in_axes[1], contract_b, nb - 1 if nb >= 2 else None, node.ndim - 1),
    ):
        if ax is None:
            continue
        if ax == contracted:
            roles.append(Contraction("sum"))
        elif ax == row_axis:
            roles.append(out_row)
        else:  # a broadcast batch dim of a stacked matmul
            roles.append(n_batch - (x.ndim - 2) + ax)
    if any(isinstance(r, Contraction) for r in roles):
        if len(roles) != 2 or not all(isinstance(r, Contraction) for r in roles):
            raise _refuse(node, "it contracts the batch axis of one operand with a small operand")
        return Contraction("sum")
    if len(set(roles)) != 1:
        raise _refuse(node, "its operands have their batch axes at different output positions")
    return roles[0]


def _einsum_role(node: Node, in_axes: Sequence[int | None]) -> int | Contraction:
    subscripts: str = node.attrs["subscripts"]
    lhs, arrow, out = subscripts.partition("->")
    terms = lhs.split(",")
    if not arrow or "." in subscripts:
        raise _refuse(node, "its subscripts are implicit or use '...'")
    letters = {t[a] for t, a in zip(terms, in_axes) if a is not None}
    if len(letters) != 1:
        raise _refuse(node, "its chunked operands use different indices for the batch axis")
    (letter,) = letters
    for i, (t, a) in enumerate(zip(terms, in_axes)):
        if letter in t and (a is None or t.index(letter) != a):
            raise _refuse(node, f"operand {i} uses the batch index {letter!r} but is not chunked")
    return out.index(letter) if letter in out else Contraction("sum")


def _row_role(node: Node, in_axes: Sequence[int | None]) -> int | Contraction | None:
    """The batch axis of ``node`` given its inputs' (None where an input is small), a
    Contraction, or None for a node computed from shapes only (size_of over other axes)."""
    op, attrs = node.op.name, node.attrs
    if node.op.fusion == "elementwise":
        return _broadcast_axis(node, in_axes)
    (first, *rest) = in_axes
    if op in ("sum", "prod", "max", "min", "logsumexp"):
        assert first is not None
        if first in attrs["axes"]:
            return Contraction(_COMBINE[op])
        return _reduced_axis(first, attrs["axes"], attrs["keepdims"])
    if op == "size_of":
        assert first is not None
        return Contraction("sum") if first in attrs["axes"] else None
    if op in ("argmax", "argmin"):
        assert first is not None
        if attrs["axis"] is None or attrs["axis"] == first:
            raise _refuse(node, "an index of an extremum along the batch axis is not chunk-local")
        return _reduced_axis(first, (attrs["axis"],), attrs["keepdims"])
    if op in ("softmax", "log_softmax"):
        assert first is not None
        if first in attrs["axes"]:
            raise _refuse(node, "it normalises over the batch axis, which mixes every row")
        return first
    if op == "transpose" and first is not None:
        return int(attrs["axes"].index(first))
    if op == "expand_dims" and first is not None:
        kept = [i for i in range(node.ndim) if i not in attrs["axes"]]
        return kept[first]
    if op == "squeeze" and first is not None and first not in attrs["axes"]:
        return first - sum(1 for a in attrs["axes"] if a < first)
    if op == "matmul":
        return _matmul_role(node, in_axes)
    if op == "einsum":
        return _einsum_role(node, in_axes)
    if op in ("reshape", "reshape_like"):
        return _reshape_role(node, in_axes)
    if op == "broadcast_to" and first is not None:
        axis = node.ndim - node.inputs[0].ndim + first
        if node.shape[axis] is None:
            return axis
    if op == "broadcast_like":
        return _broadcast_like_role(node, in_axes)
    if op in ("slice_axes", "slice_axes_grad") and all(a in (None, first) for a in rest):
        if first is not None and attrs["slices"][first] == FULL_SLICE:
            return first
        raise _refuse(node, "it slices the batch axis (selects rows)")
    if op in ("concatenate", "concatenate_part"):
        if any(a is None for a in in_axes) or len(set(in_axes)) != 1:
            raise _refuse(node, "it joins chunked and small arrays")
        if attrs["axis"] == first:
            raise _refuse(node, "it joins along the batch axis")
        return first
    if op == "pad" and first is not None and attrs["pad_width"][first] == (0, 0):
        return first
    if op == "take":
        return _take_role(node, in_axes)
    same_axis = len(set(in_axes)) == 1 and first is not None
    if op in ("take_along_axis", "add_along_axis") and same_axis and attrs["axis"] != first:
        return first
    raise _refuse(node, "it mixes rows across the batch axis")


def _reshape_role(node: Node, in_axes: Sequence[int | None]) -> int:
    x = node.inputs[0]
    if in_axes[0] == 0 and all(a in (None, 0) for a in in_axes[1:]) and node.shape[0] is None:
        inner_in, inner_out = x.shape[1:], node.shape[1:]
        static = all(isinstance(d, int) for d in (*inner_in, *inner_out))
        if static and math.prod(inner_in) == math.prod(inner_out):  # type: ignore[arg-type]
            return 0
    raise _refuse(node, "it reshapes across the batch axis")


def _broadcast_like_role(node: Node, in_axes: Sequence[int | None]) -> int:
    x = node.inputs[0]
    ax, rax = in_axes
    if rax is None:
        raise _refuse(node, "it broadcasts a chunked array to the shape of a small one")
    if ax is not None and node.ndim - x.ndim + ax != rax:
        raise _refuse(node, "its input's batch axis is not the reference's")
    j = rax - (node.ndim - x.ndim)
    if ax is None and j >= 0 and x.shape[j] != 1:
        raise _refuse(node, "it broadcasts a small array of more than one row to the chunks")
    return rax


def _take_role(node: Node, in_axes: Sequence[int | None]) -> int:
    idx = node.inputs[1]
    ax, iax = in_axes
    axis = node.attrs["axis"]
    if ax is not None and iax is None and axis != ax:
        return ax if ax < axis else ax + idx.ndim - 1
    if ax is None and iax is not None:
        return axis + iax
    raise _refuse(node, "it gathers along the batch axis")


def assign_roles(
    results: Sequence[Node], chunked: Sequence[Node], rows_known: bool = True
) -> Roles:
    """Split the graph of ``results`` whose placeholders ``chunked`` are split into chunks of
    rows along axis 0. With ``rows_known`` a size_of counting rows is read from the chunk sizes
    (no pass over the data); else it is a contraction too."""
    chunked_ids = {id(x) for x in chunked}
    axis: dict[Node, int | None] = {}
    contractions: dict[Node, Contraction] = {}
    pass_of: dict[Node, int] = {}
    known_after: dict[Node, int] = {}
    sizes: dict[Node, tuple[int, bool]] = {}
    for n in ir.toposort(results):
        if not n.inputs:
            if n.op is PLACEHOLDER and id(n) in chunked_ids:
                axis[n], pass_of[n] = 0, 0
            elif n.op in (PLACEHOLDER, CONSTANT, VARIABLE):
                axis[n], known_after[n] = None, 0
            else:
                raise _refuse(n, "it is a leaf of an unknown kind")
            continue
        in_axes = [axis[x] for x in n.inputs]
        if all(a is None for a in in_axes):
            axis[n], known_after[n] = None, max(known_after[x] for x in n.inputs)
            continue
        # the pass a node can run in: after every small input is known and in the latest pass
        # of its chunked inputs (their values are recomputed there)
        runs_in = max(
            known_after[x] if a is None else pass_of[x] for x, a in zip(n.inputs, in_axes)
        )
        role = _row_role(n, in_axes)
        if role is None:  # size_of over axes other than the batch axis: a static number
            if not _static_size(n, in_axes[0]):
                raise _refuse(n, "the size it counts is not known from the input shapes")
            axis[n], known_after[n] = None, 0
            sizes[n] = (_size_factor(n, in_axes[0]), False)
            continue
        if isinstance(role, Contraction):
            if n.op.name == "size_of" and rows_known and _static_size(n, in_axes[0]):
                axis[n], known_after[n] = None, 0
                sizes[n] = (_size_factor(n, in_axes[0]), True)
                continue
            axis[n], contractions[n] = None, role
            pass_of[n], known_after[n] = runs_in, runs_in + 1
            continue
        if not 0 <= role < n.ndim:
            raise _refuse(n, "its batch axis could not be placed")
        axis[n], pass_of[n] = role, runs_in
    return Roles(axis, contractions, pass_of, known_after, sizes)


def _static_size(node: Node, batch_axis: int | None) -> bool:
    """True when every counted axis but the batch axis has a size known now."""
    x = node.inputs[0]
    return all(isinstance(x.shape[a], int) for a in node.attrs["axes"] if a != batch_axis)


def _size_factor(node: Node, batch_axis: int | None) -> int:
    x = node.inputs[0]
    dims = [x.shape[a] for a in node.attrs["axes"] if a != batch_axis]
    return math.prod(d for d in dims if isinstance(d, int))
