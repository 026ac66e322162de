"""``paraseek serve`` as a process: serves a data directory, logs JSON lines, stops cleanly on SIGTERM."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys

from paraseek.client import Client
from paraseek.server.testing import build_collection, demo_clips
from paraseek.storage import open_store
from paraseek.testing import tiny_paraspeechclap, tiny_paraspeechclap_config


def test_serve_until_sigterm(tmp_path):
    model = tiny_paraspeechclap()
    clips = demo_clips(tmp_path / "clips", count=4)
    with open_store(tmp_path / "data") as store:
        build_collection(store, model, clips, "voices")
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(tiny_paraspeechclap_config().to_dict()))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PARASEEK_DATA_DIR": str(tmp_path / "data"), "PARASEEK_COLLECTION": "voices",
           "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "paraseek.cli.main", "serve", "--address", f"127.0.0.1:{port}", "--model", str(config),
         "--random-init", "--threads", "1", "--grace", "1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with Client(f"127.0.0.1:{port}", retries=10, backoff=0.2) as client:
            info = client.wait_ready(timeout=60)
            assert info.model == model.name and info.model_fingerprint == model.fingerprint
            result = client.search("a calm voice", top_k=2)
            assert result.collection == "voices" and len(result) == 2
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    records = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    events = [r["message"] for r in records]
    assert "listening" in events and "serving" in events and events[-1] == "stopped"
    assert any(r["message"] == "rpc" and r["rpc"] == "Search" and r["code"] == "OK" for r in records)


def test_serve_options_default_to_the_server_config():
    """The CLI states its defaults itself (the thin client's CLI must not import the server); they stay the config's."""
    from paraseek.cli.serving import serve
    from paraseek.server import ServerConfig

    defaults = ServerConfig()
    fields = {field.name for field in dataclasses.fields(ServerConfig)}
    options = {param.name: param.default for param in serve.params}
    shared = fields & set(options)
    assert {"max_workers", "max_concurrent_rpcs", "max_audio_calls", "cache_size", "dtype"} <= shared
    assert {name: options[name] for name in shared} == {name: getattr(defaults, name) for name in shared}
    assert options["grace"] == defaults.grace_seconds
