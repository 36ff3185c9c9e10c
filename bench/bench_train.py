"""Benchmark: train ThreeLayerConvNet on the shipped digits, and time a CIFAR-10-sized epoch.

    .venv/bin/python bench/bench_train.py            # or: make bench (once wired in)

Targets (course issue "Data, the ConvNet, training and pictures"): on the shipped digits,
held-out validation accuracy of at least 97% in under 60 seconds of training on 2 cores,
for every seed tried. The script exits with status 1 if a run misses them. It also reports
the test accuracy, the time of one epoch on 1000 random 3x32x32 images with CS231n's
default ThreeLayerConvNet, and, for comparison, the loop-based layers' estimated epoch times.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a clone without installing

from cs_conv import layer_utils, layers  # noqa: E402
from cs_conv.classifiers.cnn import ThreeLayerConvNet  # noqa: E402
from cs_conv.data import load_digits  # noqa: E402
from cs_conv.solver import Solver  # noqa: E402

TARGET_ACCURACY = 0.97
TARGET_SECONDS = 60.0

# The digits recipe: 3x3 filters with padding 1 keep the 8x8 image, the pool halves it to 4x4.
DIGITS_MODEL = dict(input_dim=(1, 8, 8), num_filters=32, filter_size=3, hidden_dim=100, num_classes=10,
                    weight_scale=0.1, reg=1e-3)
DIGITS_SOLVER = dict(update_rule="sgd_momentum", optim_config={"learning_rate": 0.05, "momentum": 0.9},
                     lr_decay=0.95, num_epochs=20, batch_size=32, num_train_samples=None)


def train_digits(seed: int) -> dict:
    data = load_digits()
    model = ThreeLayerConvNet(**DIGITS_MODEL, seed=seed)
    solver = Solver(model, data, **DIGITS_SOLVER, seed=seed, verbose=False)
    start = time.perf_counter()
    solver.train()
    seconds = time.perf_counter() - start
    return {
        "seed": seed, "seconds": seconds, "epochs": solver.epoch,
        "best_val": solver.best_val_acc,
        "val": solver.check_accuracy(data["X_val"], data["y_val"]),
        "test": solver.check_accuracy(data["X_test"], data["y_test"]),
        "train": solver.check_accuracy(data["X_train"], data["y_train"]),
    }


def cifar_sized_epoch(num_images: int = 1000, batch_size: int = 100, repeats: int = 3) -> dict:
    """Seconds per epoch (num_images / batch_size steps) of CS231n's default model on random images."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((num_images, 3, 32, 32)).astype(np.float32)
    y = rng.integers(0, 10, num_images)
    data = {"X_train": X, "y_train": y, "X_val": X[:batch_size], "y_val": y[:batch_size]}
    model = ThreeLayerConvNet(seed=0)  # (3, 32, 32), 32 filters of 7x7, hidden 100, float32
    epochs = []
    for _ in range(repeats):
        solver = Solver(model, data, update_rule="adam", num_epochs=1, batch_size=batch_size,
                        num_train_samples=batch_size, seed=0, verbose=False)
        start = time.perf_counter()
        for t in range(num_images // batch_size):
            solver._step(solver._next_batch(t, num_images // batch_size))
        epochs.append(time.perf_counter() - start)
    start = time.perf_counter()
    scores = [model.loss(X[i:i + batch_size]) for i in range(0, num_images, batch_size)]
    forward = time.perf_counter() - start
    assert len(scores) == num_images // batch_size
    return {"epoch": min(epochs), "epochs": epochs, "forward": forward}


def naive_step_seconds(input_dim, filter_size, num_filters, n):
    """Seconds for one forward+backward of the conv-relu-pool stage with the loop-based layers on n images."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, *input_dim)).astype(np.float32)
    w = (1e-2 * rng.standard_normal((num_filters, input_dim[0], filter_size, filter_size))).astype(np.float32)
    b = np.zeros(num_filters, np.float32)
    conv_param = {"stride": 1, "pad": (filter_size - 1) // 2}
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    start = time.perf_counter()
    a, conv_cache = layers.conv_forward_naive(x, w, b, conv_param)
    s, pool_cache = layers.max_pool_forward_naive(np.maximum(a, 0), pool_param)
    ds = layers.max_pool_backward_naive(np.ones_like(s), pool_cache)
    layers.conv_backward_naive(ds * (a > 0), conv_cache)
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="digits runs (default 0 1 2)")
    parser.add_argument("--skip-naive", action="store_true", help="skip the loop-based layers' estimates")
    args = parser.parse_args(argv)

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"python {platform.python_version()}, numpy {np.__version__}, {cores} cores available")
    print(f"conv/pool layers: {layer_utils.BACKEND} ({layer_utils.BACKEND_REASON})")
    if layer_utils.BACKEND != "fast":
        print("WARNING: the fast layers are not in use; build them with `make build`")

    print("\nDigits (1797 8x8 images; 1197 train / 300 val / 300 test, split seed 0)")
    print(f"  model  {DIGITS_MODEL}")
    print(f"  solver {DIGITS_SOLVER}")
    ok = True
    runs = [train_digits(seed) for seed in args.seeds]
    for run in runs:
        met = run["val"] >= TARGET_ACCURACY and run["seconds"] < TARGET_SECONDS
        ok &= met
        print(f"  seed {run['seed']}: {run['seconds']:5.2f} s for {run['epochs']} epochs, "
              f"val {run['val']:.3f} (best during training {run['best_val']:.3f}), test {run['test']:.3f}, "
              f"train {run['train']:.3f}  {'meets' if met else 'MISSES'} target")
    mean = {key: float(np.mean([run[key] for run in runs])) for key in ("seconds", "val", "test")}
    print(f"  mean:   {mean['seconds']:5.2f} s, val {mean['val']:.3f}, test {mean['test']:.3f}   "
          f"(target: val >= {TARGET_ACCURACY:.2f} in < {TARGET_SECONDS:.0f} s)")

    print("\nCIFAR-10-sized epoch (1000 random 3x32x32 images, batches of 100, CS231n default model: "
          "32 7x7 filters, hidden 100, float32, adam)")
    cifar = cifar_sized_epoch()
    print(f"  epoch: {cifar['epoch']:.2f} s (best of {', '.join(f'{s:.2f}' for s in cifar['epochs'])}); "
          f"forward pass over the 1000 images: {cifar['forward']:.2f} s")
    print(f"  so an epoch of CIFAR-10's 49000 training images takes about {cifar['epoch'] * 49:.0f} s")

    if not args.skip_naive:
        print("\nLoop-based layers (cs_conv.layers), conv-relu-pool forward+backward only, estimated")
        digits_s = naive_step_seconds((1, 8, 8), 3, 32, 20) / 20
        cifar_s = naive_step_seconds((3, 32, 32), 7, 32, 2) / 2
        print(f"  digits: {digits_s * 1e3:.1f} ms per image -> about {digits_s * 1197:.0f} s per epoch")
        print(f"  CIFAR-sized: {cifar_s:.2f} s per image -> about {cifar_s * 1000 / 60:.0f} min per "
              f"1000-image epoch")

    print(f"\nresult: {'targets met' if ok else 'TARGET MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
