"""README.md: its set-up commands come first, and every ``python`` block in it runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
TEXT = README.read_text()
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)


def test_readme_starts_with_the_demo_and_test_commands() -> None:
    lines = TEXT.splitlines()
    assert lines[0].startswith("# ")
    first = BLOCK.search(TEXT)
    assert first is not None
    assert TEXT[: first.start()].strip() == lines[0]  # nothing between the title and the block
    assert first.group(2).splitlines() == ["bash scripts/demo", "bash scripts/test"]
    root = README.parent
    for script in ("scripts/demo", "scripts/test", "scripts/venv", ".ci/run"):
        assert (root / script).is_file(), script


def test_python_blocks_run_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The blocks form one session, as a reader would type them."""
    blocks = [code for lang, code in BLOCK.findall(TEXT) if lang == "python"]
    assert len(blocks) >= 5
    monkeypatch.chdir(tmp_path)  # a block that writes files writes them here
    namespace: dict[str, object] = {"__name__": "readme"}
    for i, code in enumerate(blocks):
        try:
            exec(compile(code, f"README.md python block {i}", "exec"), namespace)
        except Exception as exc:
            raise AssertionError(f"README python block {i} failed:\n{code}") from exc
    # the listing the README shows for the tour's graph is the one gj.pprint prints
    from graphjit.viz import pprint_str

    listing = next(code for lang, code in BLOCK.findall(TEXT) if lang == "text")
    assert listing.strip() == pprint_str([namespace["y"]])
