#!/usr/bin/env bash
# The committed CPU benchmark (results/benchmark-*.csv, the README's Performance section): run it on an
# otherwise idle machine (every configuration runs in a fresh process; see zoo/bench/__init__.py); --record
# appends each row to results/ as well as to the user's cache (`zoo bench` alone leaves results/ alone), then
#   python scripts/perf_table.py
# About 60 minutes on 2 cores. Needs the benchmark extra for the PyTorch columns: pip install -e '.[bench]'.
set -euo pipefail
cd "$(dirname "$0")/.."
export TF_CPP_MIN_LOG_LEVEL=3
zoo=".venv/bin/zoo"
# Classification nets beside torchvision's: training step and inference at batch 8, latency at batch 1.
$zoo bench --record vgg16 resnet50 --mode both --batch 8 --compare-torch --warmup 1 --repeats 5
# FCN-8s at the paper's 500x500 beside a PyTorch FCN-8s: one image per step as the reference trains.
$zoo bench --record fcn8s --input-shape 500,500 --mode both --batch 1 --compare-torch --warmup 1 --repeats 3
# Making FCN inference fast: generic transposed convolutions (before) vs the separable bilinear path (after),
# then XLA, then the exported runtimes.
$zoo bench --record fcn8s --input-shape 500,500 --set upsampling=learned --warmup 1 --repeats 3
$zoo bench --record fcn8s --input-shape 500,500 --xla --warmup 1 --repeats 3
for runtime in savedmodel tflite-fp32 tflite-fp16 tflite-int8; do
  $zoo bench --record fcn8s --input-shape 500,500 --runtime "$runtime" --warmup 1 --repeats 3
done
# Other dtype and backend: bfloat16 on TensorFlow, and Keras on JAX (XLA CPU).
$zoo bench --record resnet50 --batch 8 --dtype mixed_bfloat16 --warmup 1 --repeats 5
$zoo bench --record resnet50 --batch 8 --backend jax --warmup 1 --repeats 5
# The FCN recipe's input pipeline alone, on an SBD-format archive of VOC-sized synthetic photos.
fixture="${TMPDIR:-/tmp}/zoo_sbd_bench"
[ -f "$fixture/benchmark.tgz" ] || .venv/bin/python scripts/input_pipeline_fixture.py "$fixture" --images 400
$zoo bench-input --record fcn8s_voc --set data.manual_dir="$fixture" --set data.data_dir="$fixture/tfds" --batches 300
$zoo bench-input --record fcn8s_voc --set data.manual_dir="$fixture" --set data.data_dir="$fixture/tfds" --batches 50 \
  --set data.global_batch_size=20 --set "data.pad_to=[500, 500]"   # 20 whole images per step, padded
# This round's heaviest models: the detectors per image (R-CNN's 13 s/image on a GPU, Fast R-CNN), the
# pairwise region network at a COCO-sized 480x640 image (Long Table 4.3: 281 ms on a Titan X), C3D on one
# 16-frame clip, the BiGAN transfer net (the exported encoder) and the DCGAN generator.
$zoo bench --record rcnn_caffenet fast_rcnn_caffenet --mode detect --warmup 1 --repeats 3
$zoo bench --record region_pairwise_vgg16 --input-shape 480,640 --warmup 1 --repeats 3
$zoo bench --record c3d bigan_alexnet_transfer dcgan_generator --batch 8 --warmup 1 --repeats 5
# ONNX Runtime as a peer of the Keras rows above (the same models exported with zoo export --format onnx).
$zoo bench --record vgg16 resnet50 --runtime onnxruntime --batch 8 --warmup 1 --repeats 5
$zoo bench --record fcn8s --input-shape 500,500 --runtime onnxruntime --warmup 1 --repeats 3
