#!/usr/bin/env bash
# npm run datasets:dnn — installs what the DNN workload needs from Debian (Fashion-MNIST and PyTorch),
# then trains `cnn` and `vgg` and writes their 10 ONNX checkpoints each to datasets/models/
# (with --zoo instead: resnet18, mobilenet_v2 and text_transformer, for bench:dnn --only zoo).
# Extra arguments go to train.py (e.g. --epochs 2, --log-store ./fmnist-store to log every checkpoint).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
[ -d /usr/share/datasets/fashion-mnist ] || need+=(dataset-fashion-mnist)
/usr/bin/python3 -c 'import torch' 2>/dev/null || need+=(python3-torch)
/usr/bin/python3 -c 'import torchvision' 2>/dev/null || need+=(python3-torchvision)  # the zoo (--zoo)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]} with apt-get" >&2
  apt-get install -y -q "${need[@]}"
fi
exec /usr/bin/python3 datasets/train.py "$@"
