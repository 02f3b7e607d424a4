"""Looking at graphs: a text listing (``pprint``) and Graphviz DOT (``to_dot``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from graphjit import ir
from graphjit.ir import Node
from graphjit.ops.dispatch import as_node, is_tensor


def _as_nodes(outputs: Any) -> list[Node]:
    items = [outputs] if isinstance(outputs, Node) or is_tensor(outputs) else list(outputs)
    # an eager tensor shows the graph its tape recorded (a constant when it has no tape)
    items = [as_node(x) if is_tensor(x) else x for x in items]
    for i, x in enumerate(items):
        if not isinstance(x, Node):
            raise TypeError(f"outputs[{i}] is a {type(x).__name__}, expected a graph node")
    return items


def _attr_text(node: Node) -> str:
    parts = []
    for k, v in node.attrs.items():
        if k in ("uid", "storage", "value"):
            continue
        parts.append(f"{k}={v!r}")
    return ", ".join(parts)


def describe(node: Node, names: dict[int, str]) -> str:
    """One line: ``%3 = mul(%1, %2) : float64[?, 3]``."""
    if node.op.name == "constant":
        value = node.attrs["value"].array
        text = np.array2string(value, threshold=6, precision=6, separator=", ")
        body = f"constant({' '.join(text.split())})"
    elif not node.inputs:
        body = f"{node.op.name}({node.name!r})" if node.name else node.op.name
    else:
        args = [names[id(x)] for x in node.inputs]
        extra = _attr_text(node)
        body = f"{node.op.name}({', '.join(args + ([extra] if extra else []))})"
    return f"{names[id(node)]} = {body} : {node.type}"


def pprint_str(outputs: Any) -> str:
    outs = _as_nodes(outputs)
    order = ir.toposort(outs)
    names = {id(n): f"%{i}" for i, n in enumerate(order)}
    lines = [describe(n, names) for n in order]
    lines.append("return " + ", ".join(names[id(o)] for o in outs))
    return "\n".join(lines)


def pprint(outputs: Any) -> None:
    """Print a graph, one node per line, inputs before users."""
    print(pprint_str(outputs))


def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def to_dot(outputs: Any, name: str = "graphjit") -> str:
    """Graphviz DOT text for the graph (render with ``dot -Tpng``)."""
    outs = _as_nodes(outputs)
    order = ir.toposort(outs)
    ids = {id(n): f"n{i}" for i, n in enumerate(order)}
    out_ids = {id(o) for o in outs}
    lines = [f'digraph "{_dot_escape(name)}" {{', "  rankdir=TB;", '  node [fontname="monospace"];']
    for n in order:
        if n.op.name == "constant":
            arr = n.attrs["value"].array
            parts = [f"const {' '.join(np.array2string(arr, threshold=4).split())}"]
            shape = "box"
        elif not n.inputs:
            parts = [f"{n.op.name} {n.name or ''}"]
            shape = "box" if n.op.name == "variable" else "invhouse"
        else:
            extra = _attr_text(n)
            parts = [n.op.name] + ([extra] if extra else [])
            shape = "ellipse"
        label = "\\n".join(_dot_escape(p) for p in [*parts, str(n.type)])
        style = ", peripheries=2" if id(n) in out_ids else ""
        lines.append(f'  {ids[id(n)]} [label="{label}", shape={shape}{style}];')
        for x in n.inputs:
            lines.append(f"  {ids[id(x)]} -> {ids[id(n)]};")
    lines.append("}")
    return "\n".join(lines)


def count_nodes(outputs: Sequence[Node]) -> int:
    return len(ir.toposort(_as_nodes(outputs)))
