"""Container health check: exit 0 when the gRPC health service reports SERVING, else 1.

Usage: healthcheck.py [HOST:PORT] (default: 127.0.0.1 and the port of $PARASEEK_ADDRESS).
"""

from __future__ import annotations

import os
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def target() -> str:
    if len(sys.argv) > 1:
        return sys.argv[1]
    port = os.environ.get("PARASEEK_ADDRESS", "0.0.0.0:50051").rsplit(":", 1)[-1]
    return f"127.0.0.1:{port}"


def main() -> int:
    try:
        with grpc.insecure_channel(target()) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=3)
    except grpc.RpcError as error:
        print(f"unhealthy: {error.code().name}", file=sys.stderr)
        return 1
    serving = reply.status == health_pb2.HealthCheckResponse.SERVING
    print("serving" if serving else f"unhealthy: {health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)}")
    return 0 if serving else 1


if __name__ == "__main__":
    sys.exit(main())
