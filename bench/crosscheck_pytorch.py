"""One-off cross-check of the naive layers against PyTorch (not a project dependency).

PyTorch is not installed by the kit; run this with an interpreter that has it, e.g.

    python3 -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install torch numpy
    /tmp/torchenv/bin/python bench/crosscheck_pytorch.py

It compares forward outputs and every gradient over a grid of pool windows, strides,
pads and ceil_mode (inputs rounded to one decimal, so tied maxima occur) and of conv
strides, pads, dilations, rectangular kernels and groups, and prints the mismatches.
"""

import itertools
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as tf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from cs_conv import layers  # noqa: E402

POOLS = [
    (layers.max_pool_forward_naive, layers.max_pool_backward_naive, tf.max_pool2d),
    (layers.avg_pool_forward_naive, layers.avg_pool_backward_naive, tf.avg_pool2d),
]


def pool_mismatches(rng):
    found = []
    for k, s, p, ceil, H, W in itertools.product([1, 2, 3, 4], [1, 2, 3], [0, 1, 2], [False, True],
                                                 [4, 5, 6, 7, 9], [5, 8]):
        if p > k // 2:
            continue
        x = np.round(rng.standard_normal((2, 2, H, W)), 1)
        pool_param = {"pool_height": k, "pool_width": k, "stride": s, "pad": p, "ceil_mode": ceil}
        for forward, backward, torch_pool in POOLS:
            out, cache = forward(x, pool_param)
            tx = torch.tensor(x, requires_grad=True)
            tout = torch_pool(tx, k, s, p, ceil_mode=ceil)
            dout = rng.standard_normal(out.shape)
            tout.backward(torch.tensor(dout))
            if out.shape != tuple(tout.shape) or not np.allclose(out, tout.detach().numpy()):
                found.append(f"{forward.__name__} {pool_param} on {H}x{W}")
            elif not np.allclose(backward(dout, cache), tx.grad.numpy()):
                found.append(f"{backward.__name__} {pool_param} on {H}x{W}")
    return found


def conv_mismatches(rng):
    found = []
    for s, p, d, HH, WW, g in itertools.product([1, 2, 3], [0, 1, (2, 1)], [1, 2], [1, 3], [2, 3], [1, 2]):
        x, w, b = rng.standard_normal((2, 4, 8, 7)), rng.standard_normal((4, 4 // g, HH, WW)), rng.standard_normal(4)
        conv_param = {"stride": s, "pad": p, "dilation": d, "groups": g}
        out, cache = layers.conv_forward_naive(x, w, b, conv_param)
        dout = rng.standard_normal(out.shape)
        dx, dw, db = layers.conv_backward_naive(dout, cache)
        tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
        tout = tf.conv2d(tx, tw, tb, s, p, d, g)
        tout.backward(torch.tensor(dout))
        pairs = [(out, tout.detach()), (dx, tx.grad), (dw, tw.grad), (db, tb.grad)]
        if not all(np.allclose(ours, theirs.numpy()) for ours, theirs in pairs):
            found.append(f"conv {conv_param} kernel {HH}x{WW}")
    return found


if __name__ == "__main__":
    generator = np.random.default_rng(0)
    mismatches = pool_mismatches(generator) + conv_mismatches(generator)
    print("\n".join(mismatches))
    print(f"mismatches against PyTorch {torch.__version__}: {len(mismatches)}")
