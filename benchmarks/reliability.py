"""Run the reliability suite (tests/reliability) and print its figures as JSON lines.

    python benchmarks/reliability.py            # the full set (PARASEEK_RELIABILITY=full)
    python benchmarks/reliability.py --fast     # the subset the normal test suite runs

Exit status: pytest's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

SUITE = Path(__file__).resolve().parents[1] / "tests" / "reliability"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="only the subset the normal test suite runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "reliability.jsonl"
        env = {**os.environ, "PARASEEK_RELIABILITY": "fast" if args.fast else "full",
               "PARASEEK_RELIABILITY_REPORT": str(report), "OMP_NUM_THREADS": "1"}
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(SUITE)],
                                env=env, stdout=sys.stderr)
        if report.exists():
            sys.stdout.write(report.read_text())
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
