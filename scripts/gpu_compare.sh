#!/usr/bin/env bash
# zoo on JAX against the same networks in PyTorch with torch.compile, on one GPU, in under 8 minutes:
#   resnet50 training at batch 256 in mixed bfloat16; fcn8s inference at 500x500 in float32 and mixed bfloat16.
# Each pair runs in the same invocation, on the same GPU, with the same synthetic inputs (zoo bench --compare-torch).
#
# The GPU machines lent to this project have PyTorch and JAX but no TensorFlow; zoo's models are Keras 3 and run
# there on JAX. Keras and the two small packages it needs that those machines lack travel as wheels:
#   scripts/gpu_compare.sh --fetch-wheels   here, where pip reaches PyPI: writes .whl/ (ignored by git, ~2 MB)
#   scripts/gpu_compare.sh                  there: installs .whl/ into /tmp/site when present, then measures;
#                                           CSVs go to $OUT (the device tool's folder) or ./gpu-bench
# Nothing here needs TensorFlow: `zoo bench --backend jax` imports Keras, JAX, NumPy and (for the peer) torch only.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--fetch-wheels" ]; then
  keras_version=$(.venv/bin/python -c "import keras; print(keras.__version__)")
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d .whl "keras==$keras_version" namex optree
  grep -qx "/.whl/" .git/info/exclude 2>/dev/null || echo "/.whl/" >> .git/info/exclude
  ls .whl
  exit 0
fi
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH="/tmp/site:$PWD"
else
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
out=${OUT:-$PWD/gpu-bench}
mkdir -p "$out"
python3 -c "import jax, torch; print('jax', jax.__version__, jax.devices()); print('torch', torch.__version__, torch.cuda.get_device_name(0))"
bench() { timeout "$1" python3 -m zoo bench "${@:2}" --backend jax --compare-torch compile --out "$out" --warmup 3 --repeats 10; }
status=0
bench 240 resnet50 --mode train --batch 256 --dtype mixed_bfloat16 || status=1
bench 120 fcn8s --mode infer --input-shape 500,500 --dtype float32 || status=1
bench 120 fcn8s --mode infer --input-shape 500,500 --dtype mixed_bfloat16 || status=1
ls -l "$out"
exit $status
