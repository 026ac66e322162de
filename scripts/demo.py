"""End-to-end demo on the embedded default: synthesise a styled-speech corpus, index it, serve it,
and run example searches through the thin client. Run with ``make demo``."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PARASEEK = [sys.executable, "-m", "paraseek.cli.main"]

FIELDS = "gender,duration,speaker"
QUERIES = [
    ("a deep, low-pitched male voice", ""),
    ("a high-pitched woman speaking fast", ""),
    ("whispered speech", ""),
    ("a loud voice in an echoey room", ""),
    ("someone speaking slowly over a muffled telephone line", ""),
    ("a female voice", "duration<4"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def step(title: str) -> None:
    print(f"\n=== {title}", flush=True)


def run(*args: str) -> str:
    result = subprocess.run([*PARASEEK, *args], check=True, stdout=subprocess.PIPE, text=True)
    return result.stdout


def wait_until_serving(address: str, server: subprocess.Popen[bytes], timeout: float = 300.0) -> None:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise SystemExit(f"the server exited with code {server.returncode}")
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.5)
    raise SystemExit(f"the server did not become ready within {timeout:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", type=Path, default=ROOT / "demo-data")
    parser.add_argument("--clips", type=int, default=300)
    parser.add_argument("--fresh", action="store_true", help="delete the work folder first")
    args = parser.parse_args()
    if args.fresh and args.workdir.exists():
        shutil.rmtree(args.workdir)
    corpus, data_dir = args.workdir / "corpus", args.workdir / "index"
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

    step(f"1/4 synthesising {args.clips} styled-speech clips into {corpus}")
    run("synth", str(corpus), "--clips", str(args.clips), "--seed", "7")

    step("2/4 indexing them with the default model into the embedded store")
    summary = json.loads(run("index", str(corpus / "manifest.jsonl"), "--collection", "demo",
                             "--data-dir", str(data_dir), "--json").strip().splitlines()[-1])
    print(f"indexed {summary['indexed']}, skipped {summary['skipped']}, failed {summary['failed']}")

    address = f"127.0.0.1:{free_port()}"
    step(f"3/4 starting the server on {address}")
    log_path = args.workdir / "server.log"
    print(f"server log: {log_path}")
    log = log_path.open("w")
    server = subprocess.Popen([*PARASEEK, "serve", "--data-dir", str(data_dir), "--address", address],
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_serving(address, server)
        step("4/4 searching through the client")
        for text, where in QUERIES:
            extra = ["--where", where] if where else []
            print(f'\n$ paraseek search "{text}"' + (f' --where "{where}"' if where else "") + " --top-k 3")
            print(run("search", text, "--server", address, "--collection", "demo", "--top-k", "3",
                      "--fields", FIELDS, *extra), end="")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
    print("\nDone. The index stays in", data_dir)


if __name__ == "__main__":
    main()
