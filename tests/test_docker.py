"""Deployment files checked without a Docker engine: compose schema and wiring, entrypoint, health check."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from concurrent import futures
from pathlib import Path

import grpc
import jsonschema
import pytest
import yaml
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

DOCKER = Path(__file__).resolve().parents[1] / "docker"
COMPOSE_FILES = [DOCKER / "compose.yaml", DOCKER / "compose.cluster.yaml"]
ENTRYPOINT_VARIABLES = set(re.findall(r"\$\{?(PARASEEK_[A-Z_]+)", (DOCKER / "entrypoint.sh").read_text()))
# read by paraseek itself from the environment (click envvar), not by the entrypoint
PROGRAM_VARIABLES = {"PARASEEK_QDRANT_API_KEY", "PARASEEK_READ_TOKEN", "PARASEEK_ADMIN_TOKEN"}


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads((DOCKER / "compose-spec.schema.json").read_text())


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
def test_compose_file_follows_the_compose_specification(path: Path, schema: dict) -> None:
    jsonschema.Draft201909Validator(schema).validate(yaml.safe_load(path.read_text()))


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
def test_compose_wiring(path: Path) -> None:
    document = yaml.safe_load(path.read_text())
    services = document["services"]
    declared_volumes = set(document.get("volumes", {}))
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown service {dependency}"
            assert "healthcheck" in services[dependency], f"{dependency} needs a healthcheck for service_healthy"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith(("/", ".", "$")):
                assert source in declared_volumes, f"{name} mounts undeclared volume {source}"
        for variable in service.get("environment", {}):
            if variable.startswith("PARASEEK_"):
                assert variable in ENTRYPOINT_VARIABLES | PROGRAM_VARIABLES, f"{variable} is read by nothing"
        if service.get("image", "").startswith("paraseek"):
            assert "healthcheck" in service or service.get("profiles"), f"{name} has no healthcheck"


def entrypoint(*args: str, **env: str) -> list[str]:
    environment = {"PATH": os.environ["PATH"], "PARASEEK_ENTRYPOINT_DRY_RUN": "1", **env}
    result = subprocess.run(["sh", str(DOCKER / "entrypoint.sh"), *args], env=environment,
                            capture_output=True, text=True, check=True)
    return result.stdout.splitlines()


def test_entrypoint_serves_the_embedded_store_by_default() -> None:
    assert entrypoint() == ["paraseek", "serve", "--address", "0.0.0.0:50051", "--metrics-port", "9090",
                            "--data-dir", "/data"]


def test_entrypoint_maps_environment_to_serve_options() -> None:
    argv = entrypoint("serve", PARASEEK_QDRANT_URL="http://qdrant:6333", PARASEEK_ADDRESS="0.0.0.0:7000",
                      PARASEEK_MODEL="paraspeechclap-combined", PARASEEK_TLS_CERT="/c.pem", PARASEEK_TLS_KEY="/k.pem",
                      PARASEEK_READ_TOKEN="secret")
    assert argv[:4] == ["paraseek", "serve", "--address", "0.0.0.0:7000"]
    assert argv[argv.index("--model") + 1] == "paraspeechclap-combined"
    assert argv[argv.index("--tls-key") + 1] == "/k.pem"
    assert argv[-2:] == ["--qdrant-url", "http://qdrant:6333"] and "--data-dir" not in argv
    assert "secret" not in argv  # tokens stay in the environment


def test_entrypoint_index_and_pass_through() -> None:
    argv = entrypoint("index", "/corpus", "--collection", "voices", PARASEEK_DATA_DIR="/srv/data")
    assert argv == ["paraseek", "index", "/corpus", "--collection", "voices", "--data-dir", "/srv/data"]
    assert entrypoint("collections", "--json") == ["paraseek", "collections", "--json"]


def test_entrypoint_requires_a_key_with_a_certificate() -> None:
    result = subprocess.run(["sh", str(DOCKER / "entrypoint.sh"), "serve"],
                            env={"PATH": os.environ["PATH"], "PARASEEK_ENTRYPOINT_DRY_RUN": "1", "PARASEEK_TLS_CERT": "/c"},
                            capture_output=True, text=True)
    assert result.returncode != 0 and "PARASEEK_TLS_KEY" in result.stderr


def _healthcheck(address: str) -> int:
    return subprocess.run([sys.executable, str(DOCKER / "healthcheck.py"), address], capture_output=True,
                          timeout=30).returncode


def test_healthcheck_follows_the_health_service() -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
        assert _healthcheck(f"127.0.0.1:{port}") == 1
        servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        assert _healthcheck(f"127.0.0.1:{port}") == 0
    finally:
        server.stop(None)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        unused = sock.getsockname()[1]
    assert _healthcheck(f"127.0.0.1:{unused}") == 1
