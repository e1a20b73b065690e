"""`make bench`: run every benchmark module in tests/bench and print its table.

Each module named ``bench_*.py`` exposes ``run(scale: float) -> None`` that prints its own
figures beside the reference it is compared with in the same run. ``--scale`` shrinks
the data for quick runs (1.0 = the full size named in the issue).

    python -m tests.bench.run                 # everything, full scale
    python -m tests.bench.run --scale 0.01    # quick
    python -m tests.bench.run --only import   # modules whose name contains "import"
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time

import tests.bench as package


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--only", default="")
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 1:
        parser.error("--scale: must be in (0, 1]")
    names = sorted(
        m.name
        for m in pkgutil.iter_modules(package.__path__)
        if m.name.startswith("bench_") and args.only in m.name
    )
    if not names:
        print(f"no benchmark matches '{args.only}'", file=sys.stderr)
        return 1
    for name in names:
        module = importlib.import_module(f"tests.bench.{name}")
        print(f"\n== {name} (scale {args.scale}) ==", flush=True)
        started = time.perf_counter()
        module.run(args.scale)
        print(f"-- {name} took {time.perf_counter() - started:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
