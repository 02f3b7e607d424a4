"""Call-time shape rules of every op, as dim expressions plus checks (see ``lower.DimTable``).

Each rule mirrors the op's build-time ``infer`` but on source expressions: it returns the output's
dims and asks the table to check the equalities the build-time rule could only assume. The checks
raise ``ValueError`` naming the op, so generated kernels never read out of bounds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from graphjit.codegen.lower import DimTable, product
from graphjit.ir import Node

Rule = Callable[[DimTable, Node, list[list[str]]], list[str]]
RULES: dict[str, Rule] = {}


def rule(*names: str) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        for n in names:
            RULES[n] = fn
        return fn

    return register


def infer_dims(table: DimTable, node: Node) -> list[str]:
    ins = [table.dims[x] for x in node.inputs]
    if node.op.kind == "elementwise":
        return broadcast(table, node, list(node.inputs), ins)
    try:
        fn = RULES[node.op.name]
    except KeyError:
        raise NotImplementedError(f"cpu backend: no shape rule for op {node.op.name!r}") from None
    return fn(table, node, ins)


def _static_one(node: Node, axis: int) -> bool:
    return node.shape[axis] == 1


def broadcast(
    table: DimTable, node: Node, inputs: Sequence[Node], ins: list[list[str]]
) -> list[str]:
    """numpy broadcasting where only static 1s stretch: every other aligned dim must agree."""
    r = node.ndim
    out = []
    for j in range(r):
        cands = []
        for k, (x, d) in enumerate(zip(inputs, ins)):
            a = j - (r - x.ndim)
            if a < 0 or (_static_one(x, a) and node.shape[j] != 1):
                continue
            cands.append((k, a, d[a]))
        sd = node.shape[j]
        e = str(sd) if isinstance(sd, int) else (cands[0][2] if cands else "1")
        for k, a, c in cands:
            table.require_equal(
                c,
                e,
                f"{node.op.name}: input {k} has the wrong size on axis {a} at run time "
                "(the operands' shapes do not broadcast)",
            )
        out.append(e)
    return out


@rule("sum", "prod", "max", "min", "logsumexp")
def _reduce(table: DimTable, node: Node, ins: list[list[str]]) -> list[str]:
    axes, keep = node.attrs["axes"], node.attrs["keepdims"]
    return ["1" if i in axes else d for i, d in enumerate(ins[0]) if keep or i not in axes]


@rule("softmax", "log_softmax")
def _same(table: DimTable, node: Node, ins: list[list[str]]) -> list[str]:
    return list(ins[0])


@rule("argmax", "argmin")
def _arg(table: DimTable, node: Node, ins: list[list[str]]) -> list[str]:
    axis, keep = node.attrs["axis"], node.attrs["keepdims"]
    if axis is None:
        return ["1"] * len(ins[0]) if keep else []
    return ["1" if i == axis else d for i, d in enumerate(ins[0]) if keep or i != axis]


@rule("size_of")
def _size_of(table: DimTable, node: Node, ins: list[list[str]]) -> list[str]:
    return []


@rule("full_like")
def _full_like(table: DimTable, node: Node, ins: list[list[str]]) -> list[str]:
    return list(ins[0])


@rule("transpose")
def _transpose(table: DimTable, node: Node, ins: list[list[str]]) -> list[str]:
    return [ins[0][a] for a in node.attrs["axes"]]


@rule("expand_dims")
def _expand_dims(table: DimTable, node: Node, ins: list[list[str]]) -> list[str]:
    axes = node.attrs["axes"]
    it = iter(ins[0])
    return ["1" if i in axes else next(it) for i in range(node.ndim)]


@rule("squeeze")
def _squeeze(table: DimTable, node: Node, ins: list[list[str]]) -> list[str]:
    axes = node.attrs["axes"]
    for a in axes:
        table.require_equal(ins[0][a], "1", f"squeeze: axis {a} does not have size 1 at run time")
    return [d for i, d in enumerate(ins[0]) if i not in axes]


@rule("reshape")
def _reshape(table: DimTable, node: Node, ins: list[list[str]]) -> list[str]:
    total = table.let(product(ins[0]))
    shape = node.attrs["shape"]
    known = product([str(d) for d in shape if d != -1])
    msg = f"reshape: the input's size at run time does not fit the shape {tuple(shape)}"
    out = []
    for sd in node.shape:
        if isinstance(sd, int):
            out.append(str(sd))
        else:
            out.append(table.let(f"{total} // {known}"))
    table.require_equal(total, table.let(product(out)), msg)
    return out


@rule("reshape_like")
def _reshape_like(table: DimTable, node: Node, ins: list[list[str]]) -> list[str]:
    a, b = table.let(product(ins[0])), table.let(product(ins[1]))
    table.require_equal(
        a, b, "reshape_like: the input's size differs from the reference's at run time"
    )
    return list(ins[1])


def _stretch(table: DimTable, node: Node, x: Node, xd: list[str], target: list[str]) -> None:
    lead = len(target) - len(xd)
    for i, d in enumerate(xd):
        if x.shape[i] != 1:
            table.require_equal(
                d,
                target[lead + i],
                f"{node.op.name}: axis {i} of the input has the wrong size at run time",
                allow_one=True,
            )


@rule("broadcast_to")
def _broadcast_to(table: DimTable, node: Node, ins: list[list[str]]) -> list[str]:
    shape, xd = node.attrs["shape"], ins[0]
    lead = len(shape) - len(xd)
    out = [str(t) if isinstance(t, int) else xd[i - lead] for i, t in enumerate(shape)]
    _stretch(table, node, node.inputs[0], xd, out)
    return out


@rule("broadcast_like")
def _broadcast_like(table: DimTable, node: Node, ins: list[list[str]]) -> list[str]:
    _stretch(table, node, node.inputs[0], ins[0], ins[1])
    return list(ins[1])


def slice_dims(table: DimTable, node: Node, xd: list[str], slices: Sequence[tuple]) -> list[str]:
    out = []
    for d, s in zip(xd, slices):
        if tuple(s) == (None, None, 1):
            out.append(d)
        elif d.isdigit():
            out.append(str(len(range(*slice(*s).indices(int(d))))))
        else:
            start, stop, step = (("NONE" if v is None else str(v)) for v in s)
            out.append(table.let(f"slice_length({d}, {start}, {stop}, {step})"))
    return out


@rule("slice_axes")
def _slice_axes(table: DimTable, node: Node, ins: list[list[str]]) -> list[str]:
    return slice_dims(table, node, ins[0], node.attrs["slices"])


@rule("slice_axes_grad")
def _slice_grad(table: DimTable, node: Node, ins: list[list[str]]) -> list[str]:
    want = slice_dims(table, node, ins[1], node.attrs["slices"])
    for i, (g, w) in enumerate(zip(ins[0], want)):
        table.require_equal(g, w, f"slice_axes_grad: the cotangent's axis {i} has the wrong size")
    return list(ins[1])


@rule("concatenate")
def _concatenate(table: DimTable, node: Node, ins: list[list[str]]) -> list[str]:
    axis = node.attrs["axis"]
    out = list(ins[0])
    for k, d in enumerate(ins[1:], start=1):
        for i, (a, b) in enumerate(zip(out, d)):
            if i != axis:
                table.require_equal(b, a, f"concatenate: input {k} has the wrong size on axis {i}")
    out[axis] = (
        table.let(" + ".join(d[axis] for d in ins))
        if not isinstance(node.shape[axis], int)
        else str(node.shape[axis])
    )
    return out


@rule("concatenate_part")
def _concatenate_part(table: DimTable, node: Node, ins: list[list[str]]) -> list[str]:
    axis, index = node.attrs["axis"], node.attrs["index"]
    total = table.let(" + ".join(d[axis] for d in ins[1:]))
    table.require_equal(
        ins[0][axis],
        total,
        "concatenate_part: the sizes of the parts do not add up to the concatenation's",
    )
    out = list(ins[0])
    out[axis] = ins[1 + index][axis]
    return out


@rule("pad")
def _pad(table: DimTable, node: Node, ins: list[list[str]]) -> list[str]:
    out = []
    for d, (b, a), sd in zip(ins[0], node.attrs["pad_width"], node.shape):
        out.append(str(sd) if isinstance(sd, int) else table.let(f"{d} + {b + a}"))
    return out


@rule("take")
def _take(table: DimTable, node: Node, ins: list[list[str]]) -> list[str]:
    axis = node.attrs["axis"]
    return ins[0][:axis] + ins[1] + ins[0][axis + 1 :]


def _fits(table: DimTable, node: Node, v: Node, vd: list[str], want: list[str]) -> None:
    lead = len(want) - len(vd)
    for i, d in enumerate(vd):
        if v.shape[i] != 1:
            table.require_equal(
                d,
                want[lead + i],
                f"{node.op.name}: the values' axis {i} has the wrong size at run time",
            )


@rule("add_at")
def _add_at(table: DimTable, node: Node, ins: list[list[str]]) -> list[str]:
    axis = node.attrs["axis"]
    _fits(table, node, node.inputs[2], ins[2], ins[0][:axis] + ins[1] + ins[0][axis + 1 :])
    return list(ins[0])


def _along(table: DimTable, node: Node, ins: list[list[str]]) -> list[str]:
    axis = node.attrs["axis"]
    idx = node.inputs[1]
    out = []
    for k, (xd, idd) in enumerate(zip(ins[0], ins[1])):
        if k == axis:
            out.append(idd)
        else:
            if idx.shape[k] != 1:
                table.require_equal(
                    idd, xd, f"{node.op.name}: the indices' axis {k} has the wrong size at run time"
                )
            out.append(xd)
    return out


@rule("take_along_axis")
def _take_along(table: DimTable, node: Node, ins: list[list[str]]) -> list[str]:
    return _along(table, node, ins)


@rule("add_along_axis")
def _add_along(table: DimTable, node: Node, ins: list[list[str]]) -> list[str]:
    _fits(table, node, node.inputs[2], ins[2], _along(table, node, ins))
    return list(ins[0])


@rule("matmul")
def _matmul(table: DimTable, node: Node, ins: list[list[str]]) -> list[str]:
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


@rule("einsum")
def _einsum(table: DimTable, node: Node, ins: list[list[str]]) -> list[str]:
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
