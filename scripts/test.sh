#!/usr/bin/env bash
# The default test tier (what CI runs). Extra arguments go to pytest, e.g. --run-slow or -k fcn.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export TF_CPP_MIN_LOG_LEVEL=3 PYTHONUNBUFFERED=1
set +e
.venv/bin/python -m pytest -q --durations=40 "$@"  # the 40 slowest tests, for keeping the tier in budget
rc=$?
set -e
if [ "$rc" -eq 5 ]; then echo "test: pytest collected no tests" >&2; exit 1; fi
exit "$rc"
