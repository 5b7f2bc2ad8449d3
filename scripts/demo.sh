#!/usr/bin/env bash
# The main job on built-in data: train FCN-8s (1/16 width) on the generated `shapes` scenes,
# evaluate it, export SavedModel + TFLite (fp32, fp16, int8) under saved_models/demo/, and draw
# predictions to saved_models/demo/predictions.png. Rerunning resumes or reuses the finished run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export TF_CPP_MIN_LOG_LEVEL=3 PYTHONUNBUFFERED=1
ZOO=".venv/bin/python -m zoo"
RUN=runs/fcn8s_shapes_demo
OUT=saved_models/demo
start=$(date +%s)
mkdir -p "$OUT"

$ZOO train fcn8s_shapes_demo --workdir "$RUN"
$ZOO eval fcn8s_shapes_demo --weights "$RUN/final.weights.h5" --out "$OUT/eval.json"
$ZOO export fcn8s --weights "$RUN/final.weights.h5" --format savedmodel --out "$OUT/fcn8s_savedmodel" --overwrite
$ZOO export fcn8s --weights "$RUN/final.weights.h5" --format tflite --input-shape 64,64 --out "$OUT/fcn8s.tflite" --overwrite
$ZOO export fcn8s --weights "$RUN/final.weights.h5" --format tflite --quantize fp16 --input-shape 64,64 \
  --out "$OUT/fcn8s-fp16.tflite" --overwrite
$ZOO export fcn8s --weights "$RUN/final.weights.h5" --format tflite --quantize int8 --input-shape 64,64 \
  --out "$OUT/fcn8s-int8.tflite" --overwrite
.venv/bin/python - "$OUT" <<'PY'
import sys
from pathlib import Path
from PIL import Image
from zoo.data.standins.shapes import render_example
out = Path(sys.argv[1]) / "inputs"
out.mkdir(exist_ok=True)
for i in range(3):  # validation scenes the model never trained on
    Image.fromarray(render_example(0, "validation", i, 64)["image"]).save(out / f"shapes_val_{i}.png")
PY
$ZOO predict fcn8s "$OUT"/inputs/shapes_val_*.png --weights "$RUN/final.weights.h5" --out "$OUT/predictions.png"
echo "demo: done in $(( $(date +%s) - start ))s; exports and predictions.png are in $OUT/"
