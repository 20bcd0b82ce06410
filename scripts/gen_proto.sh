#!/usr/bin/env bash
# Regenerates the checked-in gRPC code (verirl/v1/reward_pb2*.py) from proto/.
# tests/test_proto.py fails when the checked-in code is not what this produces.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.}
"${PYTHON:-.venv/bin/python}" -m grpc_tools.protoc -Iproto --python_out="$out" --grpc_python_out="$out" \
  --pyi_out="$out" proto/verirl/v1/reward.proto
