#!/usr/bin/env bash
# Regenerate the Python modules of the paraseek.v1 API from the .proto files (needs grpcio-tools).
set -euo pipefail
cd "$(dirname "$0")"
python -m grpc_tools.protoc -I. --python_out=. --grpc_python_out=. --pyi_out=. paraseek/v1/*.proto
