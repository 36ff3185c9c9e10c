# %% [markdown] id="title"
# # Notebook 04: im2col, Cython and fast layers
#
# Your loop layers are correct and slow: Python runs every multiply-add of the convolution one window at
# a time. The standard fix, used by Caffe and early PyTorch on CPUs, is **im2col**: copy every receptive
# field of the input into a column of a matrix, so that the whole convolution becomes **one matrix
# product**, which BLAS runs at close to the machine's peak. This notebook does it in NumPy first, then
# you write the copying loops in Cython (a compiled superset of Python), build them, and use them in the
# fast layers. Then you time naive against fast and look at what im2col costs in memory.
#
# | task | function | file |
# | --- | --- | --- |
# | 4.1 | `im2col_kernel` (behind `im2col_cython`) | `cs_conv/im2col_cython.pyx` |
# | 4.2 | `col2im_kernel` (behind `col2im_cython`) | `cs_conv/im2col_cython.pyx` |
# | 4.3 | `conv_forward_fast` | `cs_conv/fast_layers.py` |
# | 4.4 | `conv_backward_fast` | `cs_conv/fast_layers.py` |
# | 4.5 | `max_pool_forward_fast` | `cs_conv/fast_layers.py` |
# | 4.6 | `max_pool_backward_fast` | `cs_conv/fast_layers.py` |
# | 4.7 | `avg_pool_forward_fast` | `cs_conv/fast_layers.py` |
# | 4.8 | `avg_pool_backward_fast` | `cs_conv/fast_layers.py` |
#
# You need a C compiler for this notebook (see the README).

# %% [markdown] include="how_to_work" join=true
# **How to work.** You write code only in the `cs_conv/` folder next to this notebook (each task names
# its file and function; the function's docstring gives exact shapes). This notebook explains the ideas,
# then runs *visible checks*: cells that `assert` and stop with a message that says what is wrong.
# Until you complete a task its checks stop with `NotImplementedError` naming the task: that is expected.
# Cells marked *Autograded* are scored after you submit by the course's autograder, which runs its own,
# more thorough tests on your `cs_conv` in a sandbox; the visible checks are a preview, not the grade.
# *Question* cells are read by a person: answer in the cell below each one.
#
# **Time.** The autograder gives each of its cases at least 20 seconds, or 20 times what its own plain
# seven-loop version of the layer takes on the same machine at that moment, whichever is longer: a
# correct loop, however naive, passes even on a busy machine; only code that runs away times out.

# %% id="setup" include="setup"
# Run this cell first. It makes `import cs_conv` load YOUR copy: the cs_conv/ folder next to this
# notebook, which is the copy that gets graded. Edits to cs_conv/*.py are picked up without a
# restart (autoreload); after rebuilding the Cython extension, restart the kernel.
# %load_ext autoreload
# %autoreload 2
import sys
from pathlib import Path

import matplotlib.pyplot as plt  # noqa: F401 - for the figures, and your own
import numpy as np

if (Path.cwd() / "cs_conv").is_dir():
    sys.path.insert(0, str(Path.cwd()))
try:
    import cs_conv
except ModuleNotFoundError:
    raise ModuleNotFoundError(
        "cannot import cs_conv: open this notebook from your assignment folder, the one that "
        "holds the cs_conv/ folder (start JupyterLab there)") from None
from cs_conv.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array  # noqa: F401

np.set_printoptions(precision=4, suppress=True, linewidth=110)
print("cs_conv is imported from", Path(cs_conv.__file__).parent)


# %% id="check_helper" include="check_helper"
def check_close(got, expected, what, tol=1e-7, hint=""):
    """Assert that `got` matches `expected` to a relative error below `tol`, and say which check passed.

    An entry much smaller than the array's largest is measured against the largest: the centred
    difference of a gradient that is exactly 0 comes out near 1e-10, not 0.
    """
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    assert got.shape == expected.shape, f"{what}: got shape {got.shape}, expected {expected.shape}. {hint}"
    scale = max(float(np.abs(expected).max(initial=0.0)), 1e-12)
    error = float(np.max(np.abs(got - expected) / np.maximum(np.abs(got) + np.abs(expected), scale),
                         initial=0.0))
    assert error < tol, f"{what}: relative error {error:.1e} is above {tol:.0e}. {hint}"
    print(f"ok  {what} (relative error {error:.1e})")


def check_not_like(got, wrong, mistake):
    """Stop with `mistake` when `got` is exactly what that mistake gives (`wrong`)."""
    got, wrong = np.asarray(got, dtype=float), np.asarray(wrong, dtype=float)
    assert not (got.shape == wrong.shape and np.allclose(got, wrong, rtol=1e-9, atol=1e-12)), mistake


# %% [markdown] id="im2col_convolution_as_one"
# ## 1. im2col: a convolution as one matrix product
#
# Take the lecture's exercise again: the 3x3 input 0..8 and the 2x2 kernel 0..3. The kernel fits in four
# positions. Copy the four input values under each position into a column:

# %% id="im2col_convolution_as_code"
from cs_conv.im2col import col2im, im2col

x = np.arange(9.0).reshape(1, 1, 3, 3)
cols = im2col(x, 2, 2, pad=0, stride=1)          # (N, C*HH*WW, H_out*W_out) = (1, 4, 4)
print("columns, one per output position:\n", cols[0])
w_row = np.arange(4.0).reshape(1, 4)              # the kernel as a row, in (kh, kw) order
print("w_row @ cols =", w_row @ cols[0])
check_close((w_row @ cols[0]).reshape(2, 2), [[19, 25], [37, 43]], "the exercise as one matrix product")

# %% [markdown] id="general_cs_conv_im2col_given"
# In general, `cs_conv.im2col` (given, in NumPy) lays the columns out as
#
# $$\text{cols}[n,\ (c \cdot HH + k_h) \cdot WW + k_w,\ i \cdot W_{out} + j] = x_{pad}[n,\ c,\ iS + k_h D,\ jS + k_w D]:$$
#
# one **row per kernel tap** $(c, k_h, k_w)$, in the order of `w[f].ravel()`, and one **column per output
# position** $(i, j)$. So with `w2d = w.reshape(F, C*HH*WW)`,
#
# $$\text{out}[n] = \texttt{w2d} \; @ \; \text{cols}[n] + b \quad \text{of shape } (F,\ H_{out} W_{out}),$$
#
# already in the order of `out[n]`: no transpose needed. The backward pass is two more products:
# $\partial L / \partial w_{2d} = \sum_n \text{dout}[n] \; \text{cols}[n]^T$, and the gradient of the
# columns, $w_{2d}^T\, \text{dout}[n]$, folded back onto the input by **col2im**. col2im is the transpose
# (the *adjoint*) of im2col: each column entry goes back to the input cell it was copied from, and where
# windows overlap the entries **add up**, exactly like `+=` in your `conv_backward_naive`. The adjoint
# property, $\langle \text{im2col}(x), c\rangle = \langle x, \text{col2im}(c)\rangle$, is a handy test:

# %% id="im2col_convolution_as_code_2"
x = np.sin(np.arange(2 * 3 * 6 * 5.0)).reshape(2, 3, 6, 5)
cols = im2col(x, 3, 2, pad=1, stride=1)                       # a 3x2 kernel: not square
c = np.cos(np.arange(cols.size)).reshape(cols.shape)
back = col2im(c, 2, 3, 6, 5, 3, 2, pad=1, stride=1)
check_close(np.sum(cols * c), np.sum(x * back), "<im2col(x), c> = <x, col2im(c)>")
coverage = col2im(np.ones_like(im2col(np.ones((1, 1, 5, 5)), 3, 3, 0, 2)), 1, 1, 5, 5, 3, 3, 0, 2)
print("col2im of ones: how many windows cover each cell (3x3, stride 2)\n", coverage[0, 0])

# %% [markdown] id="tasks_4_1_4_2_cython"
# ## 2. Tasks 4.1 and 4.2: the Cython kernels
#
# `cs_conv/im2col.py` builds the columns with NumPy slicing, one kernel tap at a time. That is fine, but
# it allocates the padded input and the full 6-D array on every call, and col2im in NumPy needs `np.add.at`
# or a Python loop. In `cs_conv/im2col_cython.pyx` you write both as plain loops that Cython compiles to C.
#
# How the file is built (read it first; the comments walk you through it):
#
# * each `def` wrapper (`im2col_cython`, `col2im_cython`) checks its arguments with the same shape checks as
#   the NumPy version, allocates the result, and calls a `cdef ... noexcept nogil` **kernel** that runs
#   without the Python interpreter lock, on **typed memoryviews** (`floating[:, :, ::1]`: C-contiguous arrays
#   whose element type is Cython's fused `floating`, so each kernel is compiled for float32 and float64);
# * a kernel cannot raise, so it **returns 1 when done**; a blank kernel returns 0 and the wrapper raises
#   `NotImplementedError`;
# * the helper `inside(offset, stride, size, n_out)` tells you which output positions of a tap read real
#   input rather than padding, so your copy loop needs no `if` per entry;
# * bounds checking is off for speed (set in `setup.py`). While you debug, build with `CS_CONV_DEBUG=1`
#   in the environment (`CS_CONV_DEBUG=1 python setup.py build_ext --inplace`) to turn it back on: an
#   out-of-range index then raises instead of silently corrupting memory.
#
# **A trap to avoid.** CS231n's well-known `im2col_cython.pyx` computes the row of tap $(c, k_h, k_w)$ with
# the field **height** where the **width** belongs: `(c * HH + kh) * HH + kw`. For square kernels the two
# are equal, so every square test passes. The checks below use a 2x3 kernel.
#
# ### Building
#
# The next cell compiles the `.pyx` of the `cs_conv` you imported (`python setup.py build_ext --inplace` in
# its folder). If the compiler fails, the cell raises and shows the compiler's error lines. After a
# successful rebuild of a module you had already imported, **restart the kernel**: Python cannot reload a
# compiled module.

# %% id="build_extension" include="build_extension"
import subprocess
import time


def build_extension():
    """Compile cs_conv/im2col_cython.pyx in the folder that holds the cs_conv you import.

    Skipped when the compiled module is newer than the .pyx. On failure, raises with the compiler's
    own error lines, so the reason is right here in the notebook.
    """
    folder = Path(cs_conv.__file__).resolve().parent.parent
    pyx = folder / "cs_conv" / "im2col_cython.pyx"
    built = [p for p in (folder / "cs_conv").glob("im2col_cython*") if p.suffix in (".so", ".pyd")]
    if built and all(so.stat().st_mtime > pyx.stat().st_mtime for so in built):
        print(f"up to date: {built[0].name}")
        return
    if not (folder / "setup.py").is_file():
        raise FileNotFoundError(f"no setup.py in {folder}: open this notebook from your assignment folder")
    print(f"compiling {pyx.name}: Cython writes C, then the C compiler builds it; this cell says when it is done",
          flush=True)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"], cwd=folder,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        log = (proc.stdout + proc.stderr).splitlines()
        reasons = [line for line in log if ".pyx:" in line or "error" in line.lower()] or log[-25:]
        raise RuntimeError("building cs_conv/im2col_cython.pyx failed (run `python setup.py build_ext "
                           "--inplace` in a terminal for the whole log):\n" + "\n".join(reasons[:40]))
    print(f"built in {time.perf_counter() - started:.0f} s:",
          ", ".join(p.name for p in (folder / "cs_conv").glob("im2col_cython*.so")))


# %% join=true
build_extension()

# %% id="building_code"
from cs_conv.im2col_cython import col2im_cython, im2col_cython

cases = [
    ("the exercise: 3x3 input, 2x2 kernel", (1, 1, 3, 3), (2, 2), 0, 1, 1),
    ("a 2x3 kernel (not square)", (2, 3, 5, 6), (2, 3), 0, 1, 1),
    ("a 3x2 kernel, pad 1, stride 2", (2, 2, 7, 6), (3, 2), 1, 2, 1),
    ("pad (2, 1), stride (1, 2)", (1, 3, 5, 7), (3, 3), (2, 1), (1, 2), 1),
    ("dilation 2", (2, 2, 7, 7), (3, 3), 1, 1, 2),
]
for name, shape, (HH, WW), pad, stride, dilation in cases:
    x = np.sin(np.arange(np.prod(shape)) * 0.37).reshape(shape)
    expected = im2col(x, HH, WW, pad, stride, dilation)
    check_close(im2col_cython(x, HH, WW, pad, stride, dilation), expected, f"im2col_cython, {name}",
                tol=1e-12, hint="row (c*HH + kh)*WW + kw, column i*W_out + j; padding reads 0")
got32 = im2col_cython(x.astype(np.float32), 3, 3, 1, 1, 2)
assert got32.dtype == np.float32, f"float32 input should give float32 columns, got {got32.dtype}"

# %% autograde="im2col_kernel"

# %% id="building_code_2"
for name, shape, (HH, WW), pad, stride, dilation in cases:
    N, C, H, W = shape
    shape_cols = im2col(np.zeros(shape), HH, WW, pad, stride, dilation).shape
    cols = np.cos(np.arange(np.prod(shape_cols)) * 0.53).reshape(shape_cols)
    check_close(col2im_cython(cols, N, C, H, W, HH, WW, pad, stride, dilation),
                col2im(cols, N, C, H, W, HH, WW, pad, stride, dilation), f"col2im_cython, {name}",
                tol=1e-12, hint="add (+=) each entry back onto its input cell; drop entries from padding")

# %% autograde="col2im_kernel"

# %% [markdown] id="tasks_4_3_4_4_fast"
# ## 3. Tasks 4.3 and 4.4: fast convolution
#
# Complete `conv_forward_fast` and `conv_backward_fast` in `cs_conv/fast_layers.py`, with the formulas of
# section 1 and the module's docstring. Two things beyond the formulas:
#
# * **Chunks.** Unfold a few images at a time (`images_per_chunk` says how many), so the columns of the
#   whole batch never exist at once (section 6). The cache holds only the inputs; backward unfolds again.
# * **Groups.** With `groups = G` the rows of the columns are $G$ blocks (channels come first in the row
#   order), and filter block $g$ multiplies only block $g$: one product per group.
#
# The checks compare with your naive layers, which notebook 02 checked.

# %% id="tasks_4_3_4_4_code"
from cs_conv.fast_layers import conv_backward_fast, conv_forward_fast
from cs_conv.layers import conv_backward_naive, conv_forward_naive

conv_cases = [
    ("stride 1, pad 1", (2, 3, 8, 8), (4, 3, 3, 3), {"stride": 1, "pad": 1}),
    ("stride 2, 2x3 kernel", (3, 2, 7, 9), (3, 2, 2, 3), {"stride": 2, "pad": 0}),
    ("stride (1, 2), pad 1", (2, 2, 5, 8), (2, 2, 3, 3), {"stride": (1, 2), "pad": 1}),
    ("dilation 2, pad (1, 2)", (1, 2, 9, 8), (2, 2, 3, 3), {"stride": 1, "pad": (1, 2), "dilation": 2}),
    ("groups 2", (2, 4, 6, 6), (6, 2, 3, 3), {"stride": 1, "pad": 1, "groups": 2}),
]
for k, (name, x_shape, w_shape, conv_param) in enumerate(conv_cases):
    x = np.sin(np.arange(np.prod(x_shape)) * 0.7 + k).reshape(x_shape)
    w = np.sin(np.arange(np.prod(w_shape)) * 1.3 + k).reshape(w_shape)
    b = np.linspace(-1, 1, w_shape[0])
    out_fast, _ = conv_forward_fast(x, w, b, conv_param)
    out_naive, _ = conv_forward_naive(x, w, b, conv_param)
    check_close(out_fast, out_naive, f"conv_forward_fast = naive, {name}", tol=1e-10)
out32, _ = conv_forward_fast(x.astype(np.float32), w.astype(np.float32), b.astype(np.float32), conv_param)
assert out32.dtype == np.float32, f"float32 inputs should give float32 outputs, got {out32.dtype}"

# %% autograde="conv_forward_fast"

# %% id="tasks_4_3_4_4_code_2"
for k, (name, x_shape, w_shape, conv_param) in enumerate(conv_cases):
    x = np.sin(np.arange(np.prod(x_shape)) * 0.7 + k).reshape(x_shape)
    w = np.sin(np.arange(np.prod(w_shape)) * 1.3 + k).reshape(w_shape)
    b = np.linspace(-1, 1, w_shape[0])
    out, cache = conv_forward_fast(x, w, b, conv_param)
    dout = np.cos(np.arange(out.size) * 0.9).reshape(out.shape)
    fast = conv_backward_fast(dout, cache)
    naive = conv_backward_naive(dout, conv_forward_naive(x, w, b, conv_param)[1])
    for label, got, expected in zip(("dx", "dw", "db"), fast, naive, strict=True):
        check_close(got, expected, f"conv_backward_fast {label} = naive, {name}", tol=1e-10)

# %% autograde="conv_backward_fast"

# %% [markdown] id="tasks_4_5_4_8_fast"
# ## 4. Tasks 4.5 to 4.8: fast pooling
#
# Pooling reuses im2col: unfold each channel as a one-channel image with a `pool_height x pool_width`
# "kernel", and every window becomes a column (`pool_columns` in `fast_layers.py` does this, chunk by
# chunk, and pads with $-\infty$ for max or 0 for average). Then
#
# * max pooling is the maximum of each column, and its backward pass puts each window's gradient at the
#   column's `argmax` (the first maximum, as in notebook 03), adding where windows overlap;
# * average pooling is each column's sum divided by `pool_divisor`, and its backward pass spreads the
#   gradient evenly and folds the columns back (`fold_pool_columns`).
#
# **Another trap.** CS231n's fast max pool has a shortcut for non-overlapping square windows and falls
# back to im2col otherwise, and that fallback refers to a name that does not exist: it only fails on
# overlapping windows. The checks below include overlapping windows ($f = 3$, $s = 2$) and `ceil_mode`.

# %% id="tasks_4_5_4_8_code"
from cs_conv.fast_layers import (
    avg_pool_backward_fast,
    avg_pool_forward_fast,
    max_pool_backward_fast,
    max_pool_forward_fast,
)
from cs_conv.layers import (
    avg_pool_backward_naive,
    avg_pool_forward_naive,
    max_pool_backward_naive,
    max_pool_forward_naive,
)

pool_cases = [
    ("2x2 stride 2", (2, 3, 8, 8), {"pool_height": 2, "pool_width": 2, "stride": 2}),
    ("overlapping 3x3 stride 2", (2, 2, 9, 9), {"pool_height": 3, "pool_width": 3, "stride": 2}),
    ("3x2 stride (2, 1), pad 1", (1, 2, 7, 6), {"pool_height": 3, "pool_width": 2, "stride": (2, 1), "pad": 1}),
    ("2x2 stride 2, ceil_mode on 7x7", (2, 3, 7, 7), {"pool_height": 2, "pool_width": 2, "stride": 2,
                                                      "ceil_mode": True}),
]
pool_inputs = [np.sin(np.arange(np.prod(shape)) * 1.7 + k).reshape(shape) for k, (_, shape, _) in enumerate(pool_cases)]

def compare_pool(fast_forward, fast_backward, naive_forward, naive_backward, label, backward):
    for (name, _, pool_param), x in zip(pool_cases, pool_inputs, strict=True):
        out, cache = fast_forward(x, pool_param)
        naive_out, naive_cache = naive_forward(x, pool_param)
        if not backward:
            check_close(out, naive_out, f"{label}_forward_fast = naive, {name}", tol=1e-12)
            continue
        dout = np.cos(np.arange(out.size) * 0.9).reshape(out.shape)
        check_close(fast_backward(dout, cache), naive_backward(dout, naive_cache),
                    f"{label}_backward_fast = naive, {name}", tol=1e-12)

compare_pool(max_pool_forward_fast, max_pool_backward_fast, max_pool_forward_naive, max_pool_backward_naive,
             "max_pool", backward=False)

# %% autograde="max_pool_forward_fast"

# %% id="tasks_4_5_4_8_code_2"
compare_pool(max_pool_forward_fast, max_pool_backward_fast, max_pool_forward_naive, max_pool_backward_naive,
             "max_pool", backward=True)
ties = np.ones((1, 1, 4, 4))
out, cache = max_pool_forward_fast(ties, {"pool_height": 2, "pool_width": 2, "stride": 2})
check_close(max_pool_backward_fast(np.ones_like(out), cache)[0, 0],
            [[1, 0, 1, 0], [0, 0, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]],
            "ties: each window's gradient goes to its first maximum", hint="np.argmax gives the first")

# %% autograde="max_pool_backward_fast"

# %% id="tasks_4_5_4_8_code_3"
compare_pool(avg_pool_forward_fast, avg_pool_backward_fast, avg_pool_forward_naive, avg_pool_backward_naive,
             "avg_pool", backward=False)

# %% autograde="avg_pool_forward_fast"

# %% id="tasks_4_5_4_8_code_4"
compare_pool(avg_pool_forward_fast, avg_pool_backward_fast, avg_pool_forward_naive, avg_pool_backward_naive,
             "avg_pool", backward=True)

# %% autograde="avg_pool_backward_fast"

# %% [markdown] id="how_much_faster"
# ## 5. How much faster?
#
# Time both versions of each layer on the same inputs, with `timeit.repeat`: each measurement repeats the
# call a few times and we keep the **minimum** of several repeats (the minimum is the run least disturbed
# by everything else the computer does; the mean mostly measures the disturbances). The sizes grow along
# the x axis; both axes are logarithmic.

# %% id="how_much_faster_code"
import os
import timeit

quick = bool(os.environ.get("NBGRADER_EXECUTION"))   # the grader runs this notebook too: keep it short
sizes = [8, 16] if quick else [8, 16, 32]
repeats = 2 if quick else 3

def best_time(fn, repeats=repeats):
    calls = 1
    while timeit.timeit(fn, number=calls) < 0.05 and calls < 1000:
        calls *= 2
    return min(timeit.repeat(fn, number=calls, repeat=repeats)) / calls

timings = {"conv naive": [], "conv fast": [], "max pool naive": [], "max pool fast": []}
for size in sizes:
    x = np.sin(np.arange(4 * 3 * size * size, dtype=float)).reshape(4, 3, size, size)
    w = np.sin(np.arange(8 * 3 * 3 * 3.0)).reshape(8, 3, 3, 3)
    b = np.zeros(8)
    conv_param = {"stride": 1, "pad": 1}
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    timings["conv naive"].append(best_time(lambda: conv_forward_naive(x, w, b, conv_param)))
    timings["conv fast"].append(best_time(lambda: conv_forward_fast(x, w, b, conv_param)))
    timings["max pool naive"].append(best_time(lambda: max_pool_forward_naive(x, pool_param)))
    timings["max pool fast"].append(best_time(lambda: max_pool_forward_fast(x, pool_param)))

fig, ax = plt.subplots(figsize=(6, 4))
for name, values in timings.items():
    ax.loglog(sizes, values, "o-" if "fast" in name else "s--", label=name)
ax.set_xlabel("image size H = W (N = 4, C = 3, 8 filters of 3x3)")
ax.set_ylabel("seconds per forward call")
ax.legend()
plt.show()
for name in ("conv", "max pool"):
    speedup = timings[f"{name} naive"][-1] / timings[f"{name} fast"][-1]
    print(f"{name}: fast is {speedup:.0f}x faster at {sizes[-1]}x{sizes[-1]}")
assert timings["conv naive"][-1] > 3 * timings["conv fast"][-1], "conv_forward_fast should be much faster"

# %% [markdown] id="what_im2col_costs_memory"
# ## 6. What im2col costs: memory
#
# Every input pixel is copied once per kernel tap that reads it: the columns are about $HH \cdot WW$ times
# the input (times $(H_{out} W_{out})/(H W)$, which is about 1 at stride 1 with "same" padding). For a
# realistic layer, a batch of 128 images with 64 channels of 32x32 and 3x3 filters:

# %% id="what_im2col_costs_code"
N, C, H, W, HH, WW = 128, 64, 32, 32, 3, 3
input_bytes = N * C * H * W * 8
cols_bytes = N * (C * HH * WW) * (H * W) * 8        # stride 1, pad 1: H_out = H
print(f"input {input_bytes / 2**20:.0f} MiB, columns of the whole batch {cols_bytes / 2**20:.0f} MiB "
      f"({cols_bytes / input_bytes:.0f}x)")
assert cols_bytes == HH * WW * input_bytes

# %% [markdown] id="nine_times_input_only"
# Nine times the input, only to be multiplied once and thrown away. That is why `conv_forward_fast`
# unfolds a **chunk** of images at a time: the extra memory is one chunk's columns (`images_per_chunk`
# caps it at `CHUNK_BYTES` and at a fraction of the call's own arrays), while each matrix product is still
# big enough to keep BLAS efficient. Python's `tracemalloc` sees NumPy's allocations, so we can measure the
# peak extra memory of one call against unfolding the whole batch at once:

# %% id="what_im2col_costs_code_2"
import tracemalloc

from cs_conv import fast_layers

x = np.sin(np.arange(32 * 16 * 32 * 32, dtype=float)).reshape(32, 16, 32, 32)    # 4 MiB
w = np.sin(np.arange(16 * 16 * 3 * 3.0)).reshape(16, 16, 3, 3)
b = np.zeros(16)

def peak_mib(fn):
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20

whole = peak_mib(lambda: im2col(x, 3, 3, 1, 1))
chunked = peak_mib(lambda: conv_forward_fast(x, w, b, {"stride": 1, "pad": 1}))
print(f"input {x.nbytes / 2**20:.0f} MiB; unfolding the whole batch peaks at {whole:.0f} MiB; "
      f"conv_forward_fast (output included) peaks at {chunked:.0f} MiB")
print("images per chunk here:", fast_layers.images_per_chunk(32, 16 * 9 * 32 * 32 * 8, x.nbytes * 2))
assert chunked < whole, "conv_forward_fast should unfold a chunk at a time, not the whole batch"

# %% [markdown] id="why_fast_question"
# **Question (2 points, graded by hand).** im2col copies every input pixel about $HH \cdot WW$ times, yet `conv_forward_fast` is far faster than
# `conv_forward_naive`. Where does the time go in the naive version, and why does one big matrix product
# win despite the extra copying? Use your timing plot.

# %% [markdown] id="why_fast" answer=2
# *Model answer (for graders).* The naive version spends its time in the Python interpreter: four nested
# loops run $N \cdot F \cdot H_{out} \cdot W_{out}$ iterations, each slicing a window and calling NumPy on
# a tiny array, so overhead (object creation, dispatch) dominates the arithmetic. im2col does the copying in
# compiled loops (memory-bound, linear in the columns' size) and then hands all the multiply-adds to one
# BLAS matrix product, which uses blocking for the caches, SIMD and several cores, running near peak
# FLOP/s. The copy costs $O(C\,HH\,WW\,H_{out} W_{out})$ per image, the same order as the product itself
# divided by $F$, so it is cheap in comparison. The plot shows the gap (tens to hundreds of times) growing
# with the image size. Credit the interpreter-overhead point and the BLAS point.

# %% [markdown] id="memory_question"
# **Question (2 points, graded by hand).** Compute the size of the columns for one 224x224 RGB image with a first layer of 7x7 filters, stride 2,
# pad 3 (as in ResNet), in float32. Then explain what chunking trades: what goes wrong with chunks that are
# too large, and with chunks that are too small?

# %% [markdown] id="memory" answer=2
# *Model answer (for graders).* $H_{out} = (224 + 6 - 7)/2 + 1 = 112$ (floor), so the columns are
# $(3 \cdot 7 \cdot 7) \times 112^2 = 147 \times 12544 \approx 1.84$M entries, about 7.4 MB per image in
# float32, against 0.6 MB for the image itself (about 12x). Too-large chunks bring back the memory peak (a
# batch of 256 would need about 1.9 GB just for columns) and fall out of the caches; too-small chunks make
# many small matrix products, so Python and BLAS call overhead and poor BLAS efficiency return (the limit
# of one image or one window per call is the naive loop again). A chunk of a few to tens of MB balances
# the two.

# %% [markdown] id="done"
# ## Done
#
# Restart the kernel and run all cells: every check should print `ok`. Next: `05_convnet.ipynb`, which
# puts your layers together into a network that learns.
