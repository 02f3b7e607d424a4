"""A small, safe writer of Python source for the code generators.

Everything that reaches generated source goes through here: identifiers are generated (never taken
from user names), literals are rendered from typed values, and user text (node names) appears only
in comments after :func:`comment_text` has reduced it to a harmless single line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

# the names the generated module binds to numba scalar types (see numba_cpu.MODULE_HEADER)
TYPE_NAMES = {
    "float64": "f64",
    "float32": "f32",
    "int64": "i64",
    "int32": "i32",
    "int16": "i16",
    "int8": "i8",
    "uint8": "u8",
    "bool": "bool_",
}

_UNSAFE = re.compile(r"[^A-Za-z0-9_ .,:;=+\-*/()\[\]{}<>%?'\"!@#&|^~]")


def comment_text(text: str, limit: int = 200) -> str:
    """``text`` made safe for a ``#`` comment: one line, printable ASCII, bounded length."""
    clean = _UNSAFE.sub("?", str(text))
    return clean if len(clean) <= limit else clean[: limit - 3] + "..."


def literal(value: Any, dtype: str) -> str:
    """A source expression for one scalar of ``dtype`` (typed, so numba keeps the dtype)."""
    if dtype == "bool":
        return "True" if bool(value) else "False"
    if dtype in ("uint8", "int8", "int16", "int32", "int64"):
        text = str(int(value))
        if dtype != "int64":
            return f"{TYPE_NAMES[dtype]}({text})"
        return f"({text})" if text[0] == "-" else text
    x = float(np.asarray(value, dtype=dtype))
    if math.isnan(x):
        text = "np.nan"
    elif math.isinf(x):
        text = "np.inf" if x > 0 else "(-np.inf)"
    else:
        text = repr(x)
        if text[0] == "-":
            text = f"({text})"
    return f"f32({text})" if dtype == "float32" else text


def int_tuple(items: list[str] | tuple[str, ...]) -> str:
    """A tuple expression of dim expressions (``(n0, 3)``, ``(n0,)``, ``()``)."""
    if not items:
        return "()"
    if len(items) == 1:
        return f"({items[0]},)"
    return "(" + ", ".join(items) + ")"


def loop_range(n: str, reverse: bool = False) -> str:
    """The ``range`` over ``n`` steps, from the end when ``reverse`` (a scan's loop)."""
    return f"range({n} - 1, -1, -1)" if reverse else f"range({n})"


def index_expr(indices: list[str]) -> str:
    """The subscript for an array read/write: ``a[i0, i1]``, or ``a[()]`` for 0-d."""
    return ", ".join(indices) if indices else "()"


class SourceWriter:
    """Lines of Python with indentation managed by ``with writer.block(header):``."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._depth = 0

    def line(self, text: str = "") -> None:
        self.lines.append(("    " * self._depth + text) if text else "")

    def comment(self, text: str) -> None:
        self.line("# " + comment_text(text))

    @contextmanager
    def block(self, header: str) -> Iterator[None]:
        self.line(header)
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1

    @contextmanager
    def indented(self) -> Iterator[None]:
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1

    def extend(self, other: SourceWriter) -> None:
        for text in other.lines:
            self.line(text) if text else self.line()

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"
