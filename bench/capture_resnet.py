"""Capturing every leaf module of torchvision's ResNet-18 (random weights, 128 images of 3×64×64 in passes
of 32, no gradients: 60 intermediates, 313 MB of float32 in 240 batches) through python/mistique's
capture into a fresh store, against the bare forward passes in the same process. One JSON line.
Usage: python3 bench/capture_resnet.py [python-package-dir] [cli-bin.js] [label]  (Debian's python3-torch
and python3-torchvision); the defaults are this repository's python/ and dist/. Run it alternately
against two builds (a git worktree's) for an A/B, as bench/README.md did."""
import json
import os
import shutil
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
pkg = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "python")
cli = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "dist", "src", "cli", "bin.js")
label = sys.argv[3] if len(sys.argv) > 3 else "this build"
sys.path.insert(0, pkg)
import torch  # noqa: E402
import torchvision  # noqa: E402
import mistique  # noqa: E402

torch.manual_seed(0)
model = torchvision.models.resnet18(num_classes=10).eval()
x = torch.randn(128, 3, 64, 64)
with torch.no_grad():
    for b in range(4):
        model(x[b * 32:(b + 1) * 32])  # warm
    t = time.time()
    for b in range(4):
        model(x[b * 32:(b + 1) * 32])
    bare = time.time() - t
store = tempfile.mkdtemp(prefix="mistique-capture-")
try:
    t = time.time()
    with torch.no_grad():
        with mistique.capture(model, store=store, key="p.m", cli=["node", cli]) as cap:
            for b in range(4):
                model(x[b * 32:(b + 1) * 32])
    took = time.time() - t
finally:
    shutil.rmtree(store, ignore_errors=True)
print(json.dumps({"build": label, "capture_s": round(took, 3), "bare_forward_s": round(bare, 3),
                  "cli_logstream_ms": cap.summary["ms"], "mb": round(cap.summary["bytes"] / 1e6, 1)}))
