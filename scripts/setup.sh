#!/usr/bin/env bash
# Create .venv and install zoo with its [dev] extras; idempotent (reinstalls only when setup.cfg or
# pyproject.toml changed). Needs Python >= 3.11; set PYTHON to choose the interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for c in python3.11 python3.12 python3.13 python3; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then PY=$c; break; fi
  done
fi
[ -n "$PY" ] || { echo "setup: Python >= 3.11 is needed (set PYTHON=/path/to/python3.11)" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
stamp=.venv/.zoo-installed
want=$(cat setup.cfg pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing zoo[dev] into .venv (first time: a few minutes)"
  .venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -m pip install -q -e ".[dev]" 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -c "import zoo, tensorflow, keras, ai_edge_litert" >/dev/null 2>&1 \
    || { echo "setup: installation failed; rerun with output: .venv/bin/pip install -e '.[dev]'" >&2; exit 1; }
  echo "$want" > "$stamp"
fi
# The Tübingen cause-effect pairs (notebooks/generative.ipynb, zoo.data.generative.tuebingen) are read as CSV files
# from the CausalDiscoveryToolbox wheel; --no-deps keeps its heavy dependencies out (nothing of it is imported).
if ! .venv/bin/python -c "import importlib.metadata as m; m.distribution('cdt')" >/dev/null 2>&1; then
  .venv/bin/python -m pip install -q --no-deps "cdt==0.6.0" 2>&1 | grep -v "^WARNING: Location" || true
fi
# tests/test_docs_site.py renders the docs site in Debian's headless chromium (skipped without it): installed
# here when running as root with apt-get (CI containers), never fatal; ZOO_NO_CHROMIUM=1 skips it.
if [ -z "${ZOO_NO_CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] \
    && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing Debian's chromium for the docs test (about 100 MB; ZOO_NO_CHROMIUM=1 skips it)"
  { apt-get install -y -q chromium >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; }; } \
    || echo "setup: could not install chromium; tests/test_docs_site.py will skip its Chromium check" >&2
fi
