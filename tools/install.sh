#!/usr/bin/env bash
# Creates .venv from the lock files and installs carelora into it (editable). Idempotent.
#   tools/install.sh            the runtime + test stack (requirements.lock)
#   tools/install.sh --parity   also torch (CPU) + transformers for the parity tests (requirements-parity.lock)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
PARITY=0
for arg in "$@"; do
  case "$arg" in
    --parity) PARITY=1 ;;
    *) echo "usage: tools/install.sh [--parity]" >&2; exit 2 ;;
  esac
done
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.lock
# tf-agents' own metadata pins stale versions; its real runtime needs are in requirements.lock.
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -r requirements-nodeps.lock
if [ "$PARITY" = 1 ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-parity.lock
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
