#!/usr/bin/env bash
# Re-run every notebook in full mode (the committed outputs and results/<notebook>.json), or the ones
# named: scripts/reproduce.sh [NAME ...]. A notebook whose asserted outcome no longer holds stops with
# its cell's error, and the script exits non-zero after running the others.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
export TF_CPP_MIN_LOG_LEVEL=3 PYTHONUNBUFFERED=1 ZOO_NOTEBOOK_MODE=full
# the kernels start in notebooks/: this checkout's zoo, not another one installed in the venv
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
names=("$@")
[ ${#names[@]} -gt 0 ] || names=($(ls notebooks/*.ipynb | xargs -n1 basename | sed 's/\.ipynb$//'))
failed=()
for name in "${names[@]}"; do
  nb="notebooks/$name.ipynb"
  [ -f "$nb" ] || { echo "reproduce: no notebook $nb" >&2; failed+=("$name"); continue; }
  echo "reproduce: $nb (full mode)"
  export ZOO_NOTEBOOK_COMMAND="scripts/reproduce.sh $name"
  if ! .venv/bin/jupyter execute --inplace --timeout=-1 "$nb"; then
    failed+=("$name")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "reproduce: failed: ${failed[*]}" >&2
  exit 1
fi
echo "reproduce: all ${#names[@]} notebook(s) ran and their asserted outcomes hold"
