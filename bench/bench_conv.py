"""Benchmark the fast layers against the naive loops, NumPy's matmul and their own memory.

Run ``make bench`` (or ``python bench/bench_conv.py`` from the repository root, after
``make build``). Everything is float64. Four tables, the figures next to their targets:

1. speedup of ``cs_conv.fast_layers`` over ``cs_conv.layers`` (medians of repeats;
   the naive conv runs fewer times, it takes seconds);
2. GFLOP/s of conv forward and backward (dx, dw, db together, counted as twice the
   forward's FLOPs) next to NumPy's own float64 matmul measured in the same run: each must
   reach 45% of the all-core matmul; the one-thread matmul rate is printed beside it;
3. where conv forward's time goes, per image (no target: it explains table 2);
4. peak extra memory of conv forward and backward, each in a fresh process, read
   from the kernel's RSS counters so that C and BLAS allocations count too.

The machine may be shared, so timings are medians and the load average is printed;
the exit status is 0 whatever the figures (tests make no timing assertions).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cs_conv import fast_layers, layers  # noqa: E402
from cs_conv import im2col_cython as compiled  # noqa: E402
from cs_conv.parallel import split_batch, workers_for  # noqa: E402
from cs_conv.shapes import conv_geometry  # noqa: E402

SPEEDUP_TARGET = {"conv": 300.0, "pool": 100.0}
# Of NumPy's all-core matmul GFLOP/s measured in the same run (issue 15: issue 3's 85-100 GFLOP/s
# was this machine's one-thread matmul rate, which table 2 prints beside it for context).
SHARE_TARGET = 0.45  # forward and backward alike
MEMORY_TARGET = 1.0           # extra bytes / (input + output bytes)

# label -> (x shape, w shape, conv_param), for the throughput and memory tables.
THROUGHPUT_CASES = {
    "A": ((64, 64, 32, 32), (64, 64, 3, 3), {"stride": 1, "pad": 1}),
    "B": ((256, 32, 32, 32), (64, 32, 3, 3), {"stride": 1, "pad": 1}),
}


def time_runs(fn, repeats: int, warmup: int = 1) -> list[float]:
    """Wall times of ``repeats`` runs of ``fn()``, after ``warmup`` untimed runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def median_seconds(fn, repeats: int, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` over ``repeats`` runs, after ``warmup`` untimed runs."""
    return float(np.median(time_runs(fn, repeats, warmup)))


def fmt_time(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds >= 1 else f"{seconds * 1e3:.2f} ms"


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def conv_flops(x_shape, w_shape, conv_param) -> int:
    """Multiply-adds times 2 of one forward pass: 2 * N * F * (C/groups * HH * WW) * H_out * W_out."""
    x, w = np.empty(x_shape, dtype=np.uint8), np.empty(w_shape, dtype=np.uint8)
    g = conv_geometry(x, w, None, conv_param)
    return 2 * g.N * g.F * (w_shape[1] * g.HH * g.WW) * g.H_out * g.W_out


def shape_text(x_shape, w_shape=None, param=None) -> str:
    text = "x" + str(tuple(x_shape)).replace(" ", "")
    if w_shape is not None:
        text += " w" + str(tuple(w_shape)).replace(" ", "")
    if param is not None:
        text += " " + param
    return text


# --------------------------------------------------------------------------- speedups
def speedup_table(rng, fast_repeats: int, naive_conv_repeats: int, naive_pool_repeats: int):
    rows, misses = [], []
    x = rng.standard_normal((100, 3, 31, 31))
    w = rng.standard_normal((25, 3, 3, 3))
    b = rng.standard_normal(25)
    conv_param = {"stride": 2, "pad": 1}
    out, cache = layers.conv_forward_naive(x, w, b, conv_param)
    dout = rng.standard_normal(out.shape)
    case = shape_text(x.shape, w.shape, "stride 2 pad 1")
    jobs = [
        ("conv forward", case, "conv", naive_conv_repeats,
         lambda: layers.conv_forward_naive(x, w, b, conv_param),
         lambda: fast_layers.conv_forward_fast(x, w, b, conv_param)),
        ("conv backward", case, "conv", naive_conv_repeats,
         lambda: layers.conv_backward_naive(dout, cache),
         lambda: fast_layers.conv_backward_fast(dout, cache)),
    ]
    xp = rng.standard_normal((100, 3, 32, 32))
    for size in (2, 3):
        pool_param = {"pool_height": size, "pool_width": size, "stride": 2}
        pool_out, pool_cache = layers.max_pool_forward_naive(xp, pool_param)
        pool_dout = rng.standard_normal(pool_out.shape)
        label = shape_text(xp.shape, param=f"max pool {size}x{size} stride 2")
        jobs += [
            ("max pool forward", label, "pool", naive_pool_repeats,
             lambda p=pool_param: layers.max_pool_forward_naive(xp, p),
             lambda p=pool_param: fast_layers.max_pool_forward_fast(xp, p)),
            ("max pool backward", label, "pool", naive_pool_repeats,
             lambda d=pool_dout, c=pool_cache: layers.max_pool_backward_naive(d, c),
             lambda d=pool_dout, c=pool_cache: fast_layers.max_pool_backward_fast(d, c)),
        ]
    for name, label, kind, naive_repeats, naive, fast in jobs:
        naive_s = median_seconds(naive, naive_repeats, warmup=0)
        fast_s = median_seconds(fast, fast_repeats, warmup=2)
        speedup = naive_s / fast_s
        ok = speedup >= SPEEDUP_TARGET[kind]
        if not ok:
            misses.append(f"{name} {label}: {speedup:.0f}x < {SPEEDUP_TARGET[kind]:.0f}x")
        rows.append((name, label, fmt_time(naive_s), fmt_time(fast_s), f"{speedup:,.0f}x",
                     f">= {SPEEDUP_TARGET[kind]:.0f}x", verdict(ok)))
    return rows, misses


# -------------------------------------------------------------------------- throughput
def matmul_gflops(rng, n: int, repeats: int) -> float:
    a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    c = np.empty((n, n))
    seconds = median_seconds(lambda: np.matmul(a, b, out=c), repeats, warmup=2)
    return 2 * n**3 / seconds / 1e9


def conv_gemm_gflops(rng, x_shape, w_shape, repeats: int) -> float:
    """The conv's own product, w2d @ cols for 4 images, on ready-made columns, run as the layer
    runs it: on as many worker threads as ``cs_conv.parallel`` gives the whole batch."""
    F, K, P = w_shape[0], int(np.prod(w_shape[1:])), x_shape[2] * x_shape[3]
    workers = workers_for(x_shape[0], flops_per_item=2 * F * K * P)
    w2d = rng.standard_normal((F, K))
    cols = [rng.standard_normal((4, K, P)) for _ in range(workers)]
    outs = [np.empty((4, F, P)) for _ in range(workers)]

    def multiply(lo, hi):
        for k in range(lo, hi):
            np.matmul(w2d, cols[k], out=outs[k])

    seconds = median_seconds(lambda: split_batch(multiply, workers, workers), repeats, warmup=2)
    return 2 * 4 * workers * F * K * P / seconds / 1e9


def time_conv(rng, x_shape, w_shape, conv_param, repeats: int) -> tuple[float, float, float, float]:
    """Median and best seconds of fast conv forward and backward on random data."""
    x, w, b = rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])
    out, cache = fast_layers.conv_forward_fast(x, w, b, conv_param)
    dout = rng.standard_normal(out.shape)
    forward = time_runs(lambda: fast_layers.conv_forward_fast(x, w, b, conv_param), repeats)
    backward = time_runs(lambda: fast_layers.conv_backward_fast(dout, cache), repeats)
    return float(np.median(forward)), min(forward), float(np.median(backward)), min(backward)


def throughput_runs(rng, repeats: int) -> list[dict]:
    """Time fast conv forward and backward on each throughput case, with the conv's own GEMM."""
    runs = []
    for key, (x_shape, w_shape, conv_param) in THROUGHPUT_CASES.items():
        flops = conv_flops(x_shape, w_shape, conv_param)
        forward_s, forward_best, backward_s, backward_best = time_conv(rng, x_shape, w_shape, conv_param,
                                                                       repeats)
        gemm = conv_gemm_gflops(rng, x_shape, w_shape, repeats)
        label = f"{key}: " + shape_text(x_shape, w_shape, "stride 1 pad 1")
        runs.append({"label": label, "pass": "forward", "seconds": forward_s, "flops": flops,
                     "best": forward_best, "gemm": gemm, "target": SHARE_TARGET})
        runs.append({"label": "", "pass": "backward", "seconds": backward_s, "flops": 2 * flops,
                     "best": backward_best, "gemm": gemm, "target": SHARE_TARGET})
        gc.collect()
    return runs


def forward_breakdown(rng, x_shape, w_shape, conv_param, repeats: int) -> dict:
    """Where conv forward's time goes, per image: its unfolding (im2col), its product
    (w2d @ cols) and its bias pass, timed while the layer's worker threads sweep the whole
    batch one image at a time (so both cores compete for cache and memory, as in the layer),
    and its share of the output's fresh pages (first touch of a new array, minus the same
    writes to memory already touched). The sum, times the images each worker does, is what
    im2col + matmul could reach with no other cost at all."""
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    g = conv_geometry(x, w, None, conv_param)
    N, F, K, P = x_shape[0], w_shape[0], int(np.prod(w_shape[1:])), g.H_out * g.W_out
    w2d, b_col = w.reshape(F, K), rng.standard_normal((F, 1))
    out = np.ones((N, F, P))  # touched: fresh pages are measured on their own
    workers = workers_for(N, flops_per_item=2 * F * K * P)

    def sweep(lo, hi):
        cols, spent = np.empty((1, K, P)), np.zeros(3)
        for n in range(lo, hi):
            start = time.perf_counter()
            compiled.im2col_cython(x[n:n + 1], g.HH, g.WW, g.pad, g.stride, g.dilation, out=cols)
            unfolded = time.perf_counter()
            np.matmul(w2d, cols[0], out=out[n])
            multiplied = time.perf_counter()
            np.add(out[n], b_col, out=out[n])
            spent += (unfolded - start, multiplied - unfolded, time.perf_counter() - multiplied)
        return spent

    split_batch(sweep, N, workers)  # warm-up
    per_image = np.median([sum(split_batch(sweep, N, workers)) for _ in range(repeats)], axis=0) / N
    pages = (median_seconds(lambda: np.empty_like(out).fill(1.0), repeats)
             - median_seconds(lambda: out.fill(1.0), repeats)) / N
    seconds = {"unfold": per_image[0], "product": per_image[1], "bias": per_image[2], "pages": pages}
    seconds["ceiling"] = -(-N // workers) * sum(seconds.values())
    return seconds


def breakdown_rows(rng, repeats: int, matmul_rate: float) -> list[tuple]:
    rows = []
    for key, (x_shape, w_shape, conv_param) in THROUGHPUT_CASES.items():
        seconds = forward_breakdown(rng, x_shape, w_shape, conv_param, repeats)
        flops = conv_flops(x_shape, w_shape, conv_param)
        ceiling_rate = flops / seconds["ceiling"] / 1e9
        rows.append((f"{key}: " + shape_text(x_shape, w_shape), *(fmt_time(seconds[part]) for part in
                     ("unfold", "product", "bias", "pages")),
                     f"{flops / x_shape[0] / seconds['product'] / 1e9:.1f}", fmt_time(seconds["ceiling"]),
                     f"{ceiling_rate / matmul_rate:.0%}"))
    return rows


def throughput_table(runs: list[dict], matmul_rate: float):
    rows, misses = [], []
    for run in runs:
        rate = run["flops"] / run["seconds"] / 1e9
        share = rate / matmul_rate
        ok = share >= run["target"]
        if not ok:
            misses.append(f"conv {run['pass']} {run['label'] or rows[-1][0]}: {share:.0%} of matmul "
                          f"< {run['target']:.0%}")
        rows.append((run["label"], run["pass"], fmt_time(run["seconds"]), f"{rate:.1f}",
                     f"{run['flops'] / run['best'] / 1e9:.1f}", f"{share:.0%}", f"{rate / run['gemm']:.0%}",
                     f">= {run['target']:.0%}", verdict(ok)))
    return rows, misses


# ------------------------------------------------------------------------------ memory
def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def memory_child(case: str, which: str) -> dict:
    """Runs in a fresh process: RSS before and peak RSS during one fast conv call."""
    import resource

    rng = np.random.default_rng(0)
    x_shape, w_shape, conv_param = THROUGHPUT_CASES[case]
    x = rng.standard_normal(x_shape)  # filled, so every page is touched
    w = rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    g = conv_geometry(x, w, b, conv_param)
    dout = rng.standard_normal(g.out_shape) if which == "backward" else None
    # Warm up on one image: imports, BLAS threads and their buffers are not the call's cost.
    if which == "forward":
        fast_layers.conv_forward_fast(x[:1], w, b, conv_param)
    else:
        fast_layers.conv_backward_fast(dout[:1], (x[:1], w, b, conv_param))
    gc.collect()
    reset = True
    try:  # "5" resets the peak RSS (VmHWM) to the current RSS (Linux >= 4.0)
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        reset = False
    baseline_kb = _status_kb("VmRSS")
    if baseline_kb is None:  # no /proc (macOS): ru_maxrss, in bytes there
        baseline_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    if which == "forward":
        result = fast_layers.conv_forward_fast(x, w, b, conv_param)[:1]
        io_bytes = x.nbytes + w.nbytes + b.nbytes + result[0].nbytes
    else:
        result = fast_layers.conv_backward_fast(dout, (x, w, b, conv_param))
        io_bytes = dout.nbytes + x.nbytes + w.nbytes + b.nbytes + sum(r.nbytes for r in result)
    peak_kb = _status_kb("VmHWM")
    if peak_kb is None:
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    return {"baseline_kb": baseline_kb, "peak_kb": peak_kb, "io_bytes": io_bytes, "peak_reset": reset}


def memory_table():
    rows, misses, notes = [], [], set()
    for case, (x_shape, w_shape, _) in THROUGHPUT_CASES.items():
        for which in ("forward", "backward"):
            child = subprocess.run(
                [sys.executable, __file__, "--memory-child", case, which],
                capture_output=True, text=True, check=True, cwd=ROOT,
            )
            report = json.loads(child.stdout.strip().splitlines()[-1])
            if not report["peak_reset"]:
                notes.add("could not reset the peak RSS: the baseline includes the warm-up's peak")
            extra = max(0, report["peak_kb"] - report["baseline_kb"]) * 1024
            ratio = extra / report["io_bytes"]
            ok = ratio <= MEMORY_TARGET
            label = f"{case}: " + shape_text(x_shape, w_shape)
            if not ok:
                misses.append(f"conv {which} {label}: extra {ratio:.2f}x > {MEMORY_TARGET:.0f}x")
            rows.append((label if which == "forward" else "", which, f"{report['io_bytes'] / 2**20:.1f}",
                         f"{extra / 2**20:.1f}", f"{ratio:.2f}x", f"<= {MEMORY_TARGET:.0f}x", verdict(ok)))
    return rows, misses, sorted(notes)


# ------------------------------------------------------------------------------ output
def print_table(title: str, header: tuple, rows: list, notes: list[str] = ()) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}")
    line = "  ".join(str(h).ljust(wd) for h, wd in zip(header, widths, strict=True))
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(str(c).ljust(wd) for c, wd in zip(row, widths, strict=True)))
    for note in notes:
        print(f"  note: {note}")


def machine_state() -> str:
    """Load average and, where Linux reports it, how often tasks waited for a CPU (PSI)."""
    load = f"load average {os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "load average n/a"
    try:
        with open("/proc/pressure/cpu") as pressure:
            some = pressure.readline().split()[1]  # "avg10=..."
        return f"{load}, CPU pressure {some.replace('avg10=', '')}% (last 10 s)"
    except (OSError, IndexError):
        return load


def single_thread_matmul_gflops(n: int) -> float | None:
    """NumPy's matmul rate with one BLAS thread, measured in a child process (for context)."""
    code = textwrap.dedent(f"""
        import time
        import numpy as np
        a = np.random.default_rng(0).standard_normal(({n}, {n}))
        a @ a
        times = []
        for _ in range(3):
            start = time.perf_counter()
            a @ a
            times.append(time.perf_counter() - start)
        print(2 * {n}**3 / min(times) / 1e9)
    """)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    return float(child.stdout) if child.returncode == 0 else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (noisier)")
    parser.add_argument("--memory-child", nargs=2, metavar=("CASE", "PASS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        print(json.dumps(memory_child(*args.memory_child)))
        return 0

    rng = np.random.default_rng(0)
    print(f"cs-conv benchmark, float64. numpy {np.__version__}, {os.cpu_count()} CPUs. "
          f"At start: {machine_state()}.")
    fast_repeats, slow_repeats = (5, 3) if args.quick else (21, 7)

    rows, misses = speedup_table(rng, fast_repeats, naive_conv_repeats=1, naive_pool_repeats=3)
    print_table("1. Speedup of fast_layers over the naive loops (median times; naive conv timed once)",
                ("layer", "case", "naive", "fast", "speedup", "target", ""), rows)

    # The reference is measured before and after the conv runs; their mean is used.
    matmul_before = matmul_gflops(rng, 2048, slow_repeats)
    runs = throughput_runs(rng, slow_repeats)
    matmul_after = matmul_gflops(rng, 2048, slow_repeats)
    matmul_rate = (matmul_before + matmul_after) / 2
    rows, more = throughput_table(runs, matmul_rate)
    misses += more
    one_thread = single_thread_matmul_gflops(2048)
    print_table("2. Conv throughput, GFLOP/s (backward = dx, dw, db, counted as 2x the forward FLOPs)",
                ("case", "pass", "median", "GFLOP/s", "best-of", "of matmul", "of conv GEMM", "target", ""),
                rows,
                [f"numpy float64 matmul 2048x2048 @ 2048x2048 (all BLAS threads), same run: "
                 f"{matmul_before:.1f} before and {matmul_after:.1f} after the conv runs; 'of matmul' "
                 f"is against their mean, {matmul_rate:.1f} GFLOP/s",
                 "the same matmul with one BLAS thread: "
                 + (f"{one_thread:.1f} GFLOP/s (best of 3)" if one_thread else "not measured"),
                 "GFLOP/s from the median time; best-of from the fastest run; percentages use the median",
                 "'of conv GEMM': against the conv's own product w2d @ cols on ready-made columns, "
                 "one per worker thread as the layer runs it (the ceiling for the product alone; "
                 "table 3 adds the unfolding)"])

    print_table("3. Where conv forward's time goes, per image and worker thread (one BLAS thread each)",
                ("case", "unfold", "product", "bias", "pages", "product GFLOP/s", "ceiling", "of matmul"),
                breakdown_rows(rng, slow_repeats, matmul_rate),
                ["pages: the image's share of the output's first touch (fresh memory from the kernel)",
                 "unfold, product, bias: timed while the workers sweep the batch an image at a time",
                 "ceiling: the sum of the four, times the images each worker does: what im2col + matmul "
                 "reaches with no other cost (Python calls, chunk bookkeeping)",
                 "compare 'product GFLOP/s' with the one-thread matmul above: a product with only F rows "
                 "runs below a square one"])

    rows, more, notes = memory_table()
    misses += more
    print_table("4. Peak extra memory of fast conv, one fresh process per row (RSS: C and BLAS count)",
                ("case", "pass", "in+out MB", "extra MB", "extra/(in+out)", "target", ""), rows,
                ["extra = peak RSS during the call - RSS just before it; it includes the returned arrays",
                 "in+out: forward x, w, b, out; backward dout, x, w, b (the cache), dx, dw, db", *notes])

    print(f"\nAt the end: {machine_state()} (other jobs on the machine make timings noisy).")
    if misses:
        print("Targets missed:\n  " + "\n  ".join(misses))
    else:
        print("All targets met.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
