"""Benchmark `strangler demo`: time and peak memory to write the default 2 M-request demo (target: < 30 s).

Run: .venv/bin/python bench/demo.py [REQUESTS]   (writes into a temporary folder, deleted afterwards)
"""

from __future__ import annotations

import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

from strangler import demo


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        info = demo.generate(Path(tmp) / "demo", requests=n, seed=7)
        seconds = time.perf_counter() - t0
        sizes = {p.name: p.stat().st_size for p in sorted((Path(tmp) / "demo" / "logs").iterdir())}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"demo: {n:,} requests, {info.lines:,} lines in {seconds:.1f} s "
        f"({n / seconds / 1e6:.2f} M requests/s), peak RSS {peak:.0f} MiB"
    )
    print("files: " + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in sizes.items()))
    print(f"python {platform.python_version()}, {platform.machine()}")


if __name__ == "__main__":
    main()
