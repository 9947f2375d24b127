"""SVCCA with numpy alone: the reference mistique's SVCCA is tested and benchmarked against.

Usage: python3 svcca.py a.npy b.npy [variance] [runs] -> one JSON line: mean, kept directions, ms per run.
Each set is centred and reduced by SVD to the directions that hold `variance` (0.99) of its variance;
the canonical correlations are the singular values of Qa^T Qb (Q: orthonormal bases of the reduced
sets, the left singular vectors); their mean over min(ka, kb) is the score (Raghu et al. 2017).
"""
import json
import sys
import time

import numpy as np


def basis(x, variance):
    x = x - x.mean(axis=0)
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    e = s ** 2
    e = e[e > e[0] * 1e-12]  # directions below the rank tolerance are rounding noise
    cum = np.cumsum(e)
    k = int(np.argmax(cum >= variance * e.sum() * (1 - 1e-12))) + 1 if variance < 1 else len(e)
    return u[:, :k]


def svcca(a, b, variance):
    qa, qb = basis(a, variance), basis(b, variance)
    c = np.linalg.svd(qa.T @ qb, compute_uv=False)
    return float(np.clip(c, 0, 1).mean()), qa.shape[1], qb.shape[1]


if __name__ == "__main__":
    a, b = np.load(sys.argv[1]).astype(np.float64), np.load(sys.argv[2]).astype(np.float64)
    variance = float(sys.argv[3]) if len(sys.argv) > 3 else 0.99
    runs = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        mean, ka, kb = svcca(a, b, variance)
        times.append((time.perf_counter() - t) * 1000)
    print(json.dumps({"mean": mean, "ka": ka, "kb": kb, "ms": times}))
