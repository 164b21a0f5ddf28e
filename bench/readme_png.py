"""The README's chart images, from a real run, and the time that run took.

    python bench/readme_png.py [REPORTS_DIR] [NAME=INDEX ...]

Uses the executed notebooks of REPORTS_DIR (default `reports/`, as `make report` writes them); when there are
none, builds the report first on the demo in data/demo (generated if missing) exactly as `make report` does,
and prints the seconds per notebook. Then writes notebooks/images/<NAME>.png (vl-convert, 2x) for chart INDEX of
each named notebook (default: 02_endpoints=0 04_batch_review-trips-read=1 05_progress=0).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from strangler import report

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = {"02_endpoints": 0, "04_batch_review-trips-read": 1, "05_progress": 0}


def build_demo_report(out: Path) -> None:
    from strangler import demo

    data = ROOT / "data" / "demo"
    if not (data / "truth.json").exists():
        t0 = time.perf_counter()
        print(demo.generate(data), f"({time.perf_counter() - t0:.1f} s)")
    dbf = data / "demo.duckdb"
    dbf.unlink(missing_ok=True)
    t0 = time.perf_counter()
    report.build(
        dbf,
        data / "migration.toml",
        out,
        logs=[data / "logs"],
        apps=["strangler.demo.flask_app:app", "strangler.demo.fastapi_app:app"],
        source=ROOT / "lib" / "strangler" / "demo",
        progress=True,
    )
    print(f"report.build: {time.perf_counter() - t0:.1f} s")


def main(argv: list[str]) -> int:
    args = [a for a in argv if "=" not in a]
    which = {k: int(v) for k, v in (a.split("=", 1) for a in argv if "=" in a)} or DEFAULT
    out = Path(args[0]) if args else ROOT / "reports"
    if not list((out / report.EXECUTED).glob("*.ipynb")):
        build_demo_report(out)
    for path in report.chart_pngs(out / report.EXECUTED, ROOT / "notebooks" / "images", which):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
