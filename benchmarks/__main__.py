"""Run the benchmarks: ``python -m benchmarks [--quick] [NAME ...]``.

Discovers ``benchmarks/bench_*.py``; each module exposes ``main(quick: bool = False) -> None`` and
prints a table of times and ratios against peers measured in the same run. NAME filters modules
(``core`` runs bench_core.py).
"""

from __future__ import annotations

import argparse
import importlib
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
    parser.add_argument("names", nargs="*", help="run only these (e.g. core eager)")
    args = parser.parse_args(list(argv) if argv is not None else None)
    names = discover()
    if args.names:
        wanted = {n if n.startswith("bench_") else f"bench_{n}" for n in args.names}
        unknown = wanted - set(names)
        if unknown:
            parser.error(f"no benchmark module(s) {sorted(unknown)}; have {names}")
        names = [n for n in names if n in wanted]
    for name in names:
        print(f"\n## {name}")
        start = time.perf_counter()
        module = importlib.import_module(f"benchmarks.{name}")
        module.main(quick=args.quick)
        print(f"({name}: {time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
