"""Files written whole or not at all: what ``gj.save``, ``gj.onnx.export`` and ``gj.export`` write.

Each file goes to a temporary file of its own beside its target (threads writing one path at
once each write their own; ``open(..., "xb")``, not ``mkstemp``, so it gets the usual
permissions), and replaces the target only once it is complete. A failure while writing (a full
disk, Ctrl-C) removes the temporary file and leaves the target as it was, never partial.
:class:`StagedFiles` does the same for several files that belong together: all are written
before any is replaced.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

Content = bytes | Callable[[BinaryIO], None]  # the bytes, or a function writing them


class StagedFiles:
    """Files written beside their targets (:meth:`write`), then replaced into place together
    (:meth:`commit`), or removed (:meth:`discard`)."""

    def __init__(self) -> None:
        self.staged: list[tuple[Path, Path]] = []  # (temporary file, target)

    def write(self, target: str | os.PathLike[str], content: Content) -> None:
        target = Path(target)
        tmp = target.with_name(f"{target.name}.{uuid.uuid4().hex[:12]}.tmp")
        self.staged.append((tmp, target))
        with open(tmp, "xb") as fh:
            if isinstance(content, bytes):
                fh.write(content)
            else:
                content(fh)

    def commit(self) -> None:
        for tmp, target in self.staged:
            os.replace(tmp, target)
        self.staged = []

    def discard(self) -> None:
        for tmp, _ in self.staged:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        self.staged = []


def write_file(target: str, content: Content, who: str) -> None:
    """Write one file whole or not at all (see the module docstring). A missing folder or a
    directory at ``target`` is refused first, the error naming ``who``."""
    folder = os.path.dirname(target) or "."
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{who}: the folder of {target!r} does not exist")
    if os.path.isdir(target):
        raise IsADirectoryError(f"{who}: {target!r} is a directory, not a file path")
    files = StagedFiles()
    try:
        files.write(target, content)
        files.commit()
    except BaseException:
        files.discard()
        raise
