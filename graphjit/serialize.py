"""Graphs as plain data: pickling nodes (and compiled functions) by structure.

A graph is encoded as a flat list of entries in topological order, one per node, each naming its
op by its registry name with the indices of its inputs in the list and its attributes (plain
python values only). Leaves carry what defines them: a placeholder its name and type, a constant
its array, a variable its current value. Decoding rebuilds every node through the registry
(:func:`graphjit.ir.make_node`, so shapes are checked again and equal nodes are hash-consed); an
unknown op name or an attribute that is not plain data raises :class:`GraphFormatError`. Nothing in
an encoded graph is code: no user callable is ever pickled, and unpickling a node runs only
:func:`decode_graph` on lists, strings, numbers and numpy arrays.

What that guarantees: :func:`decode_graph` may be given untrusted data; whatever the entries
hold, it builds registered ops or raises :class:`GraphFormatError`, and calls nothing the data
names. It does not make ``pickle.loads`` of untrusted bytes safe: pickle itself can call any
function a payload names, before graphjit sees anything. Take graphs from untrusted sources as
plain data (an :class:`EncodedGraph` read from a safe format), never as a pickle.

Encoding and decoding are iterative, so graphs of any depth pickle. The encoding is deterministic:
:func:`structural_digest` hashes it (variables by type only) to key caches of compiled graphs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from graphjit import ir
from graphjit.ir import Node
from graphjit.ops.leaves import (
    CONSTANT,
    PLACEHOLDER,
    VARIABLE,
    Variable,
    constant,
    constant_value,
    placeholder,
    variable,
)
from graphjit.ops.registry import OPS

__all__ = ["GraphFormatError", "EncodedGraph", "encode_graph", "decode_graph", "structural_digest"]

FORMAT_VERSION = 1
_PLAIN = (bool, int, float, str, type(None))


class GraphFormatError(ValueError):
    """An encoded graph that cannot be rebuilt (an unknown op, attributes that are not data)."""


class EncodedGraph(NamedTuple):
    """A graph as plain data: ``entries[i]`` is one node, ``roots`` the indices of the encoded
    nodes, in the order they were given."""

    version: int
    entries: tuple[tuple[Any, ...], ...]
    roots: tuple[int, ...]


def _plain_attr(value: Any, op: str, key: str) -> Any:
    if type(value) in _PLAIN:
        return value
    if isinstance(value, tuple):
        return tuple(_plain_attr(v, op, key) for v in value)
    raise GraphFormatError(
        f"{op}: attribute {key!r} is a {type(value).__name__}, which is not plain data (bool, int, "
        "float, str, None or tuples of them), so the graph cannot be serialised"
    )


def _encode_leaf(node: Node) -> tuple[Any, ...]:
    if node.op is PLACEHOLDER:
        return ("placeholder", node.name, node.type.shape, node.type.dtype)
    if node.op is CONSTANT:
        return ("constant", node.name, constant_value(node))
    if node.op is VARIABLE:
        assert isinstance(node, Variable)
        return ("variable", node.name, node.get_value())
    raise GraphFormatError(f"{node!r} is a leaf of an unknown kind")


def encode_graph(roots: Sequence[Node]) -> EncodedGraph:
    """The graph of ``roots`` as plain data (variables with their current values)."""
    order = ir.toposort(roots)
    index = {id(n): i for i, n in enumerate(order)}
    entries: list[tuple[Any, ...]] = []
    for n in order:
        if not n.inputs and n.op.name in ("placeholder", "constant", "variable"):
            entries.append(_encode_leaf(n))
            continue
        attrs = tuple((k, _plain_attr(v, n.op.name, k)) for k, v in n.attrs.items())
        entries.append(("op", n.op.name, tuple(index[id(x)] for x in n.inputs), attrs))
    return EncodedGraph(FORMAT_VERSION, tuple(entries), tuple(index[id(r)] for r in roots))


def _decode_leaf(entry: tuple[Any, ...], i: int) -> Node:
    kind = entry[0]
    if kind == "placeholder":
        _, name, shape, dtype = entry
        if not isinstance(shape, tuple):
            raise GraphFormatError(f"entry {i}: a placeholder's shape must be a tuple")
        return placeholder(name, shape=shape, dtype=dtype)
    if kind in ("constant", "variable"):
        _, name, value = entry
        if not isinstance(value, np.ndarray) or value.dtype == object:
            raise GraphFormatError(f"entry {i}: a {kind} must hold a numeric numpy array")
        return constant(value, name=name) if kind == "constant" else variable(value, name=name)
    raise GraphFormatError(f"entry {i}: unknown entry kind {kind!r}")


def decode_graph(encoded: Any) -> list[Node]:
    """Rebuild the roots of an :class:`EncodedGraph` (new placeholders and variables; constants and
    other nodes hash-consed with any equal ones already built)."""
    try:
        version, entries, roots = encoded
    except (TypeError, ValueError):
        raise GraphFormatError("not an encoded graph (expected version, entries, roots)") from None
    if type(version) is not int or version != FORMAT_VERSION:
        raise GraphFormatError(
            f"encoded graph has format version {version!r}; this graphjit reads {FORMAT_VERSION}"
        )
    if not isinstance(entries, (tuple, list)) or not isinstance(roots, (tuple, list)):
        raise GraphFormatError("an encoded graph's entries and roots must be tuples")
    nodes: list[Node] = []
    for i, entry in enumerate(entries):
        try:
            nodes.append(_decode_entry(entry, i, nodes))
        except GraphFormatError:
            raise
        except (TypeError, ValueError, IndexError, KeyError) as exc:
            # a malformed entry (wrong length, a shape that is not a tuple, bad attributes)
            raise GraphFormatError(f"entry {i} cannot be rebuilt: {exc}") from None
    if any(type(r) is not int or not 0 <= r < len(nodes) for r in roots):
        raise GraphFormatError(f"roots {roots!r} must be indices of the {len(nodes)} entries")
    return [nodes[r] for r in roots]


def _decode_entry(entry: Any, i: int, nodes: list[Node]) -> Node:
    """Rebuild entry ``i`` from the nodes rebuilt before it."""
    if isinstance(entry, Node) and entry.is_leaf:  # a leaf pickled on its own (see reduce_node)
        return entry
    if not isinstance(entry, tuple) or not entry:
        raise GraphFormatError(f"entry {i} is not a tuple")
    if entry[0] != "op":
        return _decode_leaf(entry, i)
    _, name, inputs, attrs = entry
    op = OPS.get(name) if isinstance(name, str) else None
    if op is None or name in ("placeholder", "constant", "variable"):
        raise GraphFormatError(
            f"entry {i}: unknown op {name!r}; this graphjit has no op of that name (was the "
            "graph made by another version?)"
        )
    if not isinstance(inputs, tuple) or any(type(j) is not int or not 0 <= j < i for j in inputs):
        raise GraphFormatError(f"entry {i} ({name}): input indices must point to earlier nodes")
    plain = {str(k): _plain_attr(v, name, str(k)) for k, v in attrs}
    return ir.make_node(op, [nodes[j] for j in inputs], plain)


def structural_digest(roots: Sequence[Node]) -> str:
    """A hash of the graph's structure: ops, attributes, leaf types, constants' contents and
    placeholders' names (variables by type only, not value). Equal graphs built in different
    processes have equal digests."""
    h = hashlib.blake2b(digest_size=20)
    encoded = encode_graph(roots)
    for entry in encoded.entries:
        if entry[0] in ("constant", "variable"):
            arr = entry[2]
            h.update(repr((entry[0], entry[1], arr.dtype.str, arr.shape)).encode())
            if entry[0] == "constant":
                h.update(np.ascontiguousarray(arr).tobytes())
        else:
            h.update(repr(entry).encode())
    h.update(repr(encoded.roots).encode())
    return h.hexdigest()


def rebuild_node(encoded: Any) -> Node:
    """Unpickle one node (what :meth:`Node.__reduce__` names)."""
    (node,) = decode_graph(encoded)
    return node


def reduce_node(node: Node) -> tuple[Any, tuple[Any, ...]]:
    """``Node.__reduce__``: pickle a node as its encoded graph. The leaves of an inner node's graph
    are pickled as nodes of their own, so that pickle's memo keeps one variable (or placeholder)
    one object across everything pickled together (``pickle.dumps([loss, grad])``)."""
    encoded = encode_graph([node])
    if node.is_leaf:
        return (rebuild_node, (encoded,))
    order = ir.toposort([node])
    entries = tuple(n if n.is_leaf else e for n, e in zip(order, encoded.entries))
    return (rebuild_node, (encoded._replace(entries=entries),))


def describe(node: Node) -> str:
    """A short name for a node in messages: its op, attributes and type."""
    attrs = ", ".join(f"{k}={v!r}" for k, v in node.attrs.items() if k != "uid")
    label = f" {node.name!r}" if node.name else ""
    return f"{node.op.name}{label}({attrs}) : {node.type}"
