"""Run the benchmarks: ``python -m benchmarks [--quick] [--json PATH] [NAME ...]``.

Discovers ``benchmarks/bench_*.py``; each module exposes ``main(quick: bool = False)`` that prints
a table of times and ratios against peers measured in the same run and may return its rows (dicts)
for ``--json``. NAME filters modules (``core`` runs bench_core.py).
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path


def discover() -> list[str]:
    here = Path(__file__).resolve().parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON to PATH")
    parser.add_argument("names", nargs="*", help="run only these (e.g. core eager)")
    args = parser.parse_args(list(argv) if argv is not None else None)
    names = discover()
    if args.names:
        wanted = {n if n.startswith("bench_") else f"bench_{n}" for n in args.names}
        unknown = wanted - set(names)
        if unknown:
            parser.error(f"no benchmark module(s) {sorted(unknown)}; have {names}")
        names = [n for n in names if n in wanted]
    report: dict[str, object] = {"quick": args.quick, "modules": {}}
    for name in names:
        print(f"\n## {name}")
        start = time.perf_counter()
        module = importlib.import_module(f"benchmarks.{name}")
        rows = module.main(quick=args.quick)
        elapsed = time.perf_counter() - start
        print(f"({name}: {elapsed:.1f} s)")
        report["modules"][name] = {"rows": rows or [], "seconds": elapsed}  # type: ignore[index]
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
