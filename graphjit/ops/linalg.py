"""Array products: matmul and einsum are the two ops; dot, outer and tensordot are built on them.

``matmul`` follows numpy exactly: 1-D operands are promoted to a row (left) or a column (right) and
the added dim is dropped from the result, leading (batch) dims broadcast, and the contracted dims
must agree (they never broadcast). ``einsum`` takes numpy's subscripts, explicit (``'ij,jk->ik'``)
or implicit (``'ij,jk'``), with ``...`` for leading dims (broadcast between operands), or numpy's
interleaved form ``einsum(a, [0, 1], b, [1, 2], [0, 2])``. An index repeated inside one operand (a
diagonal or trace, ``'ii->i'``, ``'ii'``) takes that operand's diagonal first (the ``diagonal`` op),
so the einsum op itself sees distinct indices per operand. The public ``einsum`` relabels indices
in order of first appearance, so ``'ij,jk->ik'`` and ``'ab,bc->ac'`` build the same node.

Both are multilinear, so their jvp is the op applied with one input replaced by its tangent, and
their vjp is the op again: ``g @ b^T`` and ``a^T @ g`` for matmul (batch dims the operand lacks are
summed by autodiff's ``unbroadcast``), and for einsum the operand's subscripts become the output.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any

import numpy as np

from graphjit.ir import Dim, Node, TensorType, format_shape
from graphjit.ops.dispatch import ArrayLike, Value, apply, is_tensor, lift, write_out
from graphjit.ops.prims import (
    broadcast_like,
    diagonal,
    expand_dims,
    multiply,
    reshape,
    squeeze,
    swapaxes,
)
from graphjit.ops.registry import DimBuilder, OpDef, binds, defop, sum_tangents
from graphjit.ops.shape_rules import broadcast_dims, broadcast_shapes, normalize_axis, same_dim

__all__ = ["matmul", "dot", "outer", "tensordot", "einsum"]

_LETTERS = string.ascii_letters


def _no_bool(op: str, *types: TensorType) -> None:
    if any(t.dtype == "bool" for t in types):
        raise TypeError(f"{op}: not defined for bool inputs; cast with .astype first")


# --------------------------------------------------------------------------------------------------
# matmul


def _matmul_infer(a: TensorType, b: TensorType) -> TensorType:
    for i, t in enumerate((a, b)):
        if t.ndim == 0:
            raise ValueError(
                f"matmul: operand {i} is a scalar (shape ()); use multiply (*) to scale an array"
            )
    _no_bool("matmul", a, b)
    shown = f"shapes {format_shape(a.shape)} and {format_shape(b.shape)}"
    ash = a.shape if a.ndim >= 2 else (1, *a.shape)
    bsh = b.shape if b.ndim >= 2 else (*b.shape, 1)
    if not same_dim(ash[-1], bsh[-2]):
        raise ValueError(f"matmul: {shown} do not align: {ash[-1]} != {bsh[-2]}")
    try:
        batch = broadcast_shapes(ash[:-2], bsh[:-2], op="matmul")
    except ValueError:
        raise ValueError(
            f"matmul: the batch dims of {shown} do not broadcast: {format_shape(ash[:-2])} vs "
            f"{format_shape(bsh[:-2])}"
        ) from None
    rows: tuple[Dim, ...] = (ash[-2],) if a.ndim >= 2 else ()
    cols: tuple[Dim, ...] = (bsh[-1],) if b.ndim >= 2 else ()
    return TensorType(batch + rows + cols, a.dtype)


def _matmul_impl(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # ndarray.dot is matmul for operands of 1 or 2 dims (the same BLAS calls, the same bits) and
    # costs a third of np.matmul's call on small ones: the eager `m @ m` spends its time there
    out = a.dot(b) if 1 <= a.ndim <= 2 and 1 <= b.ndim <= 2 else np.matmul(a, b)
    return out if type(out) is np.ndarray else np.asarray(out)  # two vectors: a numpy scalar


def _as_matrices(g: Any, a: Any, b: Any) -> tuple[Any, Any, Any]:
    """``g``, ``a`` and ``b`` with the dims that matmul adds to 1-D operands put back."""
    if b.ndim == 1:
        g, b = expand_dims(g, -1), expand_dims(b, -1)
    if a.ndim == 1:
        g, a = expand_dims(g, -2), expand_dims(a, 0)
    return g, a, b


def _matmul_vjp_a(g: Any, out: Any, a: Any, b: Any) -> Any:
    if a.ndim == 1 and b.ndim == 1:
        return g * b
    g2, _, b2 = _as_matrices(g, a, b)
    da = matmul(g2, swapaxes(b2, -1, -2))
    return squeeze(da, -2) if a.ndim == 1 else da


def _matmul_vjp_b(g: Any, out: Any, a: Any, b: Any) -> Any:
    if a.ndim == 1 and b.ndim == 1:
        return g * a
    g2, a2, _ = _as_matrices(g, a, b)
    db = matmul(swapaxes(a2, -1, -2), g2)
    return squeeze(db, -1) if b.ndim == 1 else db


def _matmul_jvp(tangents: Any, out: Any, a: Any, b: Any) -> Any:
    ta, tb = tangents
    return sum_tangents(
        None if ta is None else matmul(ta, b), None if tb is None else matmul(a, tb)
    )


def _matmul_call_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    a, b = node.inputs
    ad, bd = ins
    k_a = ad[-1]
    k_b = bd[0] if b.ndim == 1 else bd[-2]
    table.require_equal(k_a, k_b, "matmul: the contracted dims differ at run time")
    if a.ndim <= 2 and b.ndim <= 2:
        batch: list[str] = []
    else:
        ab, bb = a.shape[:-2], b.shape[:-2]
        r = len(node.shape) - (a.ndim >= 2) - (b.ndim >= 2)
        batch = []
        for j in range(r):
            cands = []
            for x, d in ((ab, ad[:-2]), (bb, bd[:-2])):
                i = j - (r - len(x))
                if i >= 0 and not (x[i] == 1 and node.shape[j] != 1):
                    cands.append(d[i])
            sd = node.shape[j]
            e = str(sd) if isinstance(sd, int) else (cands[0] if cands else "1")
            for c in cands:
                table.require_equal(c, e, "matmul: the batch dims do not broadcast at run time")
            batch.append(e)
    rows = [ad[-2]] if a.ndim >= 2 else []
    cols = [bd[-1]] if b.ndim >= 2 else []
    return batch + rows + cols


MATMUL: OpDef = defop(
    "matmul",
    infer=_matmul_infer,
    impl=_matmul_impl,
    vjps=(_matmul_vjp_a, _matmul_vjp_b),
    jvp=_matmul_jvp,
    kind="linalg",
    call_dims=_matmul_call_dims,
    doc="matrix product with numpy's rules: 1-D promotion, broadcast batch dims",
)


def matmul(a: ArrayLike, b: ArrayLike, *, out: Any = None) -> Value:
    """Matrix product ``a @ b`` as numpy.matmul: 1-D x 1-D is the inner product, a 1-D operand is
    a row (left) or column (right) vector, leading dims broadcast. Int inputs give int results.
    ``out=`` (eager tensors only) writes the result into an existing tensor."""
    result = apply(MATMUL, a, b)
    return result if out is None else write_out(result, out, "matmul")


# --------------------------------------------------------------------------------------------------
# einsum


def _ndim(x: Any) -> int:
    if isinstance(x, Node) or is_tensor(x):
        return int(x.ndim)
    return int(np.ndim(x))


def _split_subscripts(subscripts: str) -> tuple[list[str], str | None]:
    s = subscripts.replace(" ", "")
    if s.count("->") > 1:
        raise ValueError(f"einsum: subscripts {subscripts!r} have more than one '->'")
    lhs, arrow, rhs = s.partition("->")
    terms = lhs.split(",")
    for part in [*terms, rhs]:
        rest = part.replace("...", "")
        bad = [c for c in rest if c not in _LETTERS]
        if bad:
            raise ValueError(
                f"einsum: invalid character {bad[0]!r} in subscripts {subscripts!r}; use letters, "
                "',', '->' and '...'"
            )
        if part.count("...") > 1:
            raise ValueError(f"einsum: more than one '...' in {part!r} of {subscripts!r}")
    return terms, (rhs if arrow else None)


def normalize_subscripts(subscripts: str, ndims: Sequence[int]) -> str:
    """``subscripts`` in explicit form with ``...`` expanded to letters and indices relabelled
    a, b, c, ... in order of first appearance: the canonical attribute of an einsum node."""
    if not isinstance(subscripts, str):
        raise TypeError(f"einsum: subscripts must be a str, got {type(subscripts).__name__}")
    terms, rhs = _split_subscripts(subscripts)
    if len(terms) != len(ndims):
        raise ValueError(
            f"einsum: subscripts {subscripts!r} name {len(terms)} operand(s) but {len(ndims)} "
            "were given"
        )
    named = [t.replace("...", "") for t in terms]
    for i, (term, ndim) in enumerate(zip(terms, ndims)):
        if ("..." in term and len(named[i]) > ndim) or ("..." not in term and len(term) != ndim):
            raise ValueError(
                f"einsum: operand {i} has {ndim} dims but its subscripts {term!r} name "
                f"{len(named[i])}"
            )
    used = set("".join(named)) | set((rhs or "").replace("...", ""))
    free = [c for c in _LETTERS if c not in used]
    n_ell = max((nd - len(nm) for t, nm, nd in zip(terms, named, ndims) if "..." in t), default=0)
    if n_ell > len(free):
        raise ValueError(f"einsum: too many dims for {subscripts!r}")
    ell = "".join(free[:n_ell])
    full = [
        t.replace("...", ell[n_ell - (nd - len(nm)) :]) for t, nm, nd in zip(terms, named, ndims)
    ]
    if rhs is None:
        counts = "".join(named)
        rhs = ell + "".join(sorted(c for c in set(counts) if counts.count(c) == 1))
    else:
        rhs = rhs.replace("...", ell)
        for c in rhs:
            if rhs.count(c) > 1:
                raise ValueError(f"einsum: output index {c!r} appears twice in {subscripts!r}")
            if not any(c in t for t in full):
                raise ValueError(
                    f"einsum: output index {c!r} of {subscripts!r} is not in any operand"
                )
    relabel: dict[str, str] = {}
    for c in "".join(full):
        relabel.setdefault(c, _LETTERS[len(relabel)])
    return (
        ",".join("".join(relabel[c] for c in t) for t in full)
        + "->"
        + "".join(relabel[c] for c in rhs)
    )


def _parse(subscripts: str) -> tuple[list[str], str]:
    lhs, _, rhs = subscripts.partition("->")
    return lhs.split(","), rhs


def _einsum_infer(*types: TensorType, subscripts: str) -> TensorType:
    terms, rhs = _parse(subscripts)
    if len(terms) != len(types):
        raise ValueError(f"einsum: {subscripts!r} names {len(terms)} operands, got {len(types)}")
    _no_bool("einsum", *types)
    sizes: dict[str, Dim] = {}
    first: dict[str, int] = {}
    for i, (term, t) in enumerate(zip(terms, types)):
        if len(set(term)) != len(term):
            raise ValueError(
                f"einsum: operand {i} repeats an index in {subscripts!r}; the einsum op needs "
                "distinct indices per operand (the public einsum takes diagonals first)"
            )
        if len(term) != t.ndim:
            raise ValueError(
                f"einsum: operand {i} has shape {format_shape(t.shape)} but {subscripts!r} names "
                f"{len(term)} dims for it"
            )
        for c, d in zip(term, t.shape):
            if c not in sizes:
                sizes[c], first[c] = d, i
                continue
            try:
                sizes[c] = broadcast_dims(sizes[c], d)
            except ValueError:
                raise ValueError(
                    f"einsum: operands {first[c]} and {i} disagree on the size of index {c!r} in "
                    f"{subscripts!r}: {sizes[c]} != {d} (shapes "
                    f"{', '.join(format_shape(u.shape) for u in types)})"
                ) from None
    dtypes = {t.dtype for t in types}
    if len(dtypes) > 1:
        raise TypeError(f"einsum: operands must share a dtype, got {sorted(dtypes)}")
    return TensorType(tuple(sizes[c] for c in rhs), types[0].dtype)


def _einsum_impl(*arrays: np.ndarray, subscripts: str) -> np.ndarray:
    out = np.einsum(subscripts, *arrays, optimize=len(arrays) > 1)
    return np.asarray(out, dtype=arrays[0].dtype)


def _einsum_term(terms: Sequence[str], operands: Sequence[Any], out: str) -> Any:
    """einsum of ``operands`` (labelled by ``terms``) to ``out``, skipping a no-op."""
    if len(operands) == 1 and terms[0] == out:
        return operands[0]
    return apply(
        EINSUM,
        *operands,
        subscripts=normalize_subscripts(",".join(terms) + "->" + out, [len(t) for t in terms]),
    )


def _einsum_vjp(g: Any, out: Any, *operands: Any, subscripts: str) -> tuple[Any, ...]:
    terms, rhs = _parse(subscripts)
    grads = []
    for i, x in enumerate(operands):
        others = [j for j in range(len(operands)) if j != i]
        present = set(rhs).union(*(terms[j] for j in others))
        kept = "".join(c for c in terms[i] if c in present)
        d = _einsum_term(
            [rhs, *(terms[j] for j in others)], [g, *(operands[j] for j in others)], kept
        )
        if kept != terms[i]:
            # indices only this operand has were summed away: the gradient is constant along them
            for pos, c in enumerate(terms[i]):
                if c not in present:
                    d = expand_dims(d, pos)
            d = broadcast_like(d, x)
        grads.append(d)
    return tuple(grads)


def _einsum_jvp(tangents: Any, out: Any, *operands: Any, subscripts: str) -> Any:
    terms = []
    for i, t in enumerate(tangents):
        if t is not None:
            args = list(operands)
            args[i] = t
            terms.append(apply(EINSUM, *args, subscripts=subscripts))
    return sum_tangents(*terms)


def _einsum_call_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    lhs, rhs = node.attrs["subscripts"].split("->")
    sizes: dict[str, str] = {}
    for k, (term, x, d) in enumerate(zip(lhs.split(","), node.inputs, ins)):
        for c, sd, e in zip(term, x.shape, d):
            if sd == 1:
                sizes.setdefault(c, "1")
                continue
            if c in sizes and sizes[c] != "1":
                table.require_equal(
                    e,
                    sizes[c],
                    f"einsum: operand {k} disagrees on the size of index {c} at run time",
                )
            else:
                sizes[c] = e
    return [sizes[c] for c in rhs]


EINSUM: OpDef = defop(
    "einsum",
    infer=_einsum_infer,
    impl=_einsum_impl,
    vjp=_einsum_vjp,
    jvp=_einsum_jvp,
    kind="linalg",
    call_dims=_einsum_call_dims,
    doc="Einstein summation; subscripts are explicit, relabelled a, b, c, ...",
)


@binds(EINSUM)
def einsum(subscripts: str, *operands: Any) -> Value:
    """Einstein summation as numpy.einsum: ``'ij,jk->ik'``, implicit ``'ij,jk'``, ``'...ij->...ji'``

    Also accepts PyTorch's ``einsum(eq, [a, b])`` and numpy's interleaved
    ``einsum(a, [0, 1], b, [1, 2], [0, 2])`` (ints for indices, ``...`` for the ellipsis). A
    size-1 dim broadcasts against the same index in another operand, as numpy does. An index
    repeated within one operand takes a diagonal (``'ii->i'``; ``'ii'`` is the trace); its dims
    must have one size."""
    if not isinstance(subscripts, str):
        subscripts, operands = _interleaved(subscripts, operands)
    if (
        len(operands) == 1
        and isinstance(operands[0], (list, tuple))
        and isinstance(subscripts, str)
        and subscripts.count(",") + 1 == len(operands[0]) > 1
    ):
        operands = tuple(operands[0])
    if not operands:
        raise TypeError("einsum: no operands given")
    subs = normalize_subscripts(subscripts, [_ndim(x) for x in operands])
    terms, rhs = _parse(subs)
    if any(len(set(t)) != len(t) for t in terms):
        terms, diagonals = _take_diagonals(terms, operands, subscripts)
        operands = tuple(diagonals)
        subs = normalize_subscripts(",".join(terms) + "->" + rhs, [len(t) for t in terms])
        terms, rhs = _parse(subs)
    if len(operands) == 1 and terms[0] == rhs:
        return lift(operands[0])
    return apply(EINSUM, *operands, subscripts=subs)


def _interleaved(first: Any, rest: Sequence[Any]) -> tuple[str, tuple[Any, ...]]:
    """numpy's ``einsum(op0, sublist0, op1, sublist1, ..., [sublistout])`` as subscripts and
    operands: the ints of a sublist are indices (0..51), ``...`` (Ellipsis) the ellipsis."""
    args = [first, *rest]

    def letters(sub: Any) -> str:
        if not isinstance(sub, (list, tuple)):
            raise TypeError(
                f"einsum: expected subscripts (a str) or operand, sublist pairs; got {sub!r} "
                "where a sublist should be"
            )
        out = []
        for s in sub:
            if s is Ellipsis:
                out.append("...")
            elif isinstance(s, (int, np.integer)) and not isinstance(s, bool) and 0 <= s < 52:
                out.append(_LETTERS[int(s)])
            else:
                raise ValueError(f"einsum: sublist items must be ints in [0, 52) or ..., got {s!r}")
        return "".join(out)

    operands = tuple(args[0::2][: len(args) // 2])
    terms = [letters(s) for s in args[1::2][: len(args) // 2]]
    out = "->" + letters(args[-1]) if len(args) % 2 else ""
    return ",".join(terms) + out, operands


def _take_diagonals(
    terms: list[str], operands: Sequence[Any], subscripts: str
) -> tuple[list[str], list[Any]]:
    """Each operand whose term repeats an index replaced by its diagonal over the repeated dims
    (the index then labels the diagonal, the diagonal op's last axis)."""
    new_terms, new_ops = [], []
    for i, (term, x) in enumerate(zip(terms, operands)):
        x = lift(x)
        while len(set(term)) != len(term):
            c = next(c for c in term if term.count(c) > 1)
            p = term.index(c)
            q = term.index(c, p + 1)
            if not same_dim(x.shape[p], x.shape[q]):
                raise ValueError(
                    f"einsum: operand {i} repeats index {c!r} of {subscripts!r} on dims of "
                    f"different sizes ({x.shape[p]} and {x.shape[q]}, shape "
                    f"{format_shape(x.shape)})"
                )
            x = diagonal(x, 0, p, q)
            term = "".join(t for k, t in enumerate(term) if k not in (p, q)) + c
        new_terms.append(term)
        new_ops.append(x)
    return new_terms, new_ops


# --------------------------------------------------------------------------------------------------
# compositions


def dot(a: ArrayLike, b: ArrayLike) -> Value:
    """numpy.dot: a product for scalars, matmul for 1-D/2-D operands and for an N-D ``a`` with a
    1-D or 2-D ``b``, and otherwise the sum over ``a``'s last axis and ``b``'s second-to-last."""
    na, nb = _ndim(a), _ndim(b)
    if na == 0 or nb == 0:
        return multiply(a, b)
    if nb <= 2:
        return matmul(a, b)
    return tensordot(a, b, axes=([na - 1], [nb - 2]))


def outer(a: ArrayLike, b: ArrayLike) -> Value:
    """Outer product of the flattened inputs, as numpy.outer: ``out[i, j] = a[i] * b[j]``."""
    a, b = lift(a), lift(b)
    a = a if a.ndim == 1 else reshape(a, (-1,))
    b = b if b.ndim == 1 else reshape(b, (-1,))
    return multiply(expand_dims(a, 1), expand_dims(b, 0))


def _tensordot_axes(axes: Any, na: int, nb: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    if isinstance(axes, (int, np.integer)) and not isinstance(axes, bool):
        n = int(axes)
        if n < 0 or n > min(na, nb):
            raise ValueError(
                f"tensordot: axes={n} needs 0 <= axes <= the operands' dims ({na} and {nb})"
            )
        return tuple(range(na - n, na)), tuple(range(n))
    if not (isinstance(axes, (tuple, list)) and len(axes) == 2):
        raise TypeError(f"tensordot: axes must be an int or a pair of axis lists, got {axes!r}")
    pair = []
    for ax, nd in zip(axes, (na, nb)):
        ax = list(ax) if isinstance(ax, (tuple, list)) else [ax]
        norm = tuple(normalize_axis(x, nd, "tensordot") for x in ax)
        if len(set(norm)) != len(norm):
            raise ValueError(f"tensordot: repeated axis in {tuple(ax)!r}")
        pair.append(norm)
    if len(pair[0]) != len(pair[1]):
        raise ValueError(
            f"tensordot: axes {tuple(axes[0])!r} and {tuple(axes[1])!r} have different lengths"
        )
    return pair[0], pair[1]


def tensordot(a: ArrayLike, b: ArrayLike, axes: Any = 2, *, dims: Any = None) -> Value:
    """Sum of products over ``axes`` as numpy.tensordot: an int n pairs ``a``'s last n axes with
    ``b``'s first n; a pair of sequences names the axes. The result has ``a``'s free axes, then
    ``b``'s. (PyTorch's ``dims=`` is accepted.)"""
    if dims is not None:
        axes = dims
    a, b = lift(a), lift(b)
    ax_a, ax_b = _tensordot_axes(axes, a.ndim, b.ndim)
    for i, j in zip(ax_a, ax_b):
        if not same_dim(a.shape[i], b.shape[j]):
            raise ValueError(
                f"tensordot: shapes {format_shape(a.shape)} and {format_shape(b.shape)} do not "
                f"align on axes {i} and {j}: {a.shape[i]} != {b.shape[j]}"
            )
    la = _LETTERS[: a.ndim]
    rest = iter(_LETTERS[a.ndim :])
    lb = "".join(la[ax_a[ax_b.index(j)]] if j in ax_b else next(rest) for j in range(b.ndim))
    out = "".join(c for i, c in enumerate(la) if i not in ax_a) + "".join(
        c for j, c in enumerate(lb) if j not in ax_b
    )
    subscripts = normalize_subscripts(f"{la},{lb}->{out}", [a.ndim, b.ndim])
    return apply(EINSUM, a, b, subscripts=subscripts)
