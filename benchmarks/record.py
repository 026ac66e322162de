"""Run one benchmark and append its final JSON line to a results file, with the machine it ran on.

    python benchmarks/record.py benchmarks/results.jsonl index_throughput -- \\
        python benchmarks/index_throughput.py --clips 200 --json

The benchmark's output is shown as it runs; its last line must be one JSON object. Each record is
``{"benchmark", "command", "machine", "date", "seconds", "result"}`` on one line.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    """What the numbers depend on: CPU model, cores, memory, torch build."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {"cpu": cpu, "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                            else os.cpu_count(), "system": platform.platform(), "python": platform.python_version()}
    try:
        info["memory_gib"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
        info["load_average_1m"] = round(os.getloadavg()[0], 2)
    except (ValueError, OSError, AttributeError):
        pass
    try:
        import torch

        info["torch"] = torch.__version__
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return info


def main() -> None:
    if len(sys.argv) < 5 or sys.argv[3] != "--":
        sys.exit("usage: record.py RESULTS_FILE NAME -- COMMAND ...")
    results, name, command = Path(sys.argv[1]), sys.argv[2], sys.argv[4:]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    last = ""
    for line in process.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        if line.strip():
            last = line
    if process.wait() != 0:
        sys.exit(f"{name}: {shlex.join(command)} exited with status {process.returncode}")
    try:
        result = json.loads(last)
    except ValueError:
        sys.exit(f"{name}: the last line of output is not JSON: {last.strip()[:200]!r}")
    record = {"benchmark": name, "command": shlex.join(command), "machine": machine(),
              "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
              "seconds": round(time.perf_counter() - started, 1), "result": result}
    results.parent.mkdir(parents=True, exist_ok=True)
    with open(results, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
