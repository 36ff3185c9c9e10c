# %% [markdown] id="title"
# # Notebook 03: Pooling
#
# After a convolution and a ReLU, a ConvNet usually **pools**: it shrinks each activation map by
# summarising small windows with one number, their maximum or their mean. Pooling has no parameters to
# learn. It makes the representation smaller (less memory and computation, so the network can go
# deeper) and approximately invariant to small shifts of the input. This notebook works through the
# lecture's pooling tables, overlapping windows and their backward pass, and the X-and-O network's
# pooling step, then measures the invariance on shifted X's. You write:
#
# | task | function | file |
# | --- | --- | --- |
# | 3.1 | `max_pool_forward_naive` | `cs_conv/layers.py` |
# | 3.2 | `max_pool_backward_naive` | `cs_conv/layers.py` |
# | 3.3 | `avg_pool_forward_naive` | `cs_conv/layers.py` |
# | 3.4 | `avg_pool_backward_naive` | `cs_conv/layers.py` |

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


# %% build=true
# Run when the notebook is built, never released: each call of expected_pool below is replaced by
# the array it returns, computed by the solved kit.
import numpy as np
from cs_conv import layers


def expected_pool(kind, shape, pool_param, phase=0.0):
    """What the ``kind`` ("max" or "avg") pooling layer gives for x = sin(phase, phase + 1, ...)."""
    x = np.sin(np.arange(np.prod(shape), dtype=float) + phase).reshape(shape)
    return getattr(layers, f"{kind}_pool_forward_naive")(x, pool_param)[0]


# %% [markdown] id="pooling_by_hand"
# ## 1. Pooling, by hand
#
# A pooling layer has two hyperparameters: the window size $f$ and the stride $s$. It works on every
# activation map (every $n$ and every channel $c$) independently, so an input of shape $(N, C, H, W)$
# gives $(N, C, H_{out}, W_{out})$ with the lecture's
#
# $$H_{out} = \frac{H - f}{s} + 1$$
#
# (rounded down, as for convolution), and it has **zero parameters**. In `cs_conv` the window is
# `pool_param = {"pool_height": f, "pool_width": f, "stride": s}`.
#
# The lecture's example pools a 6x6 map with $f = 2$, $s = 2$ into 3x3. Reading the windows by hand:

# %% id="pooling_by_hand_code"
table = np.array([[3, 4, 5, 6, 5, 4],
                  [5, 4, 3, 3, 2, 1],
                  [1, 3, 2, 4, 6, 2],
                  [3, 7, 8, 5, 1, 2],
                  [0, 3, 7, 8, 1, 3],
                  [2, 7, 8, 3, 4, 0]], dtype=float)
windows = table.reshape(3, 2, 3, 2).transpose(0, 2, 1, 3).reshape(3, 3, 4)   # the nine 2x2 windows
print("max of each window:\n", windows.max(axis=2))
print("mean of each window:\n", windows.mean(axis=2))

# %% [markdown] id="lecture_tables_are"
# The lecture's tables are
#
# | max pooling | | | | average pooling | | |
# | --- | --- | --- | --- | --- | --- | --- |
# | 5 | 6 | 5 | | 4 | 4.25 | 3 |
# | 7 | 8 | **3** | | 3.5 | 4.75 | 2.75 |
# | 7 | 8 | 4 | | 3 | 6.5 | 2 |
#
# **An erratum.** The slide's max-pooling table has a 3 in the middle row, right column. That window is
# rows 2-3, columns 4-5 (counting from 0): $\begin{bmatrix} 6 & 2 \\ 1 & 2 \end{bmatrix}$, whose maximum is
# **6**, not 3. The average table is right (that window's mean is $11/4 = 2.75$). The checks use the
# corrected table.

# %% id="pooling_by_hand_code_2"
max_table = np.array([[5, 6, 5], [7, 8, 6], [7, 8, 4]], dtype=float)      # 6, not the slide's 3
avg_table = np.array([[4, 4.25, 3], [3.5, 4.75, 2.75], [3, 6.5, 2]])
check_close(windows.max(axis=2), max_table, "max pooling of the lecture's table (with the erratum fixed)")
check_close(windows.mean(axis=2), avg_table, "average pooling of the lecture's table")
assert table[2:4, 4:6].max() == 6

# %% [markdown] id="tasks_3_1_3_3_forward"
# ## 2. Tasks 3.1 and 3.3: the forward passes
#
# Complete `max_pool_forward_naive` and `avg_pool_forward_naive` in `cs_conv/layers.py` with loops over
# `n`, `c`, `i`, `j`. The geometry is done for you: `g = pool_geometry(x, pool_param)` checks the input
# and gives `g.H_out`, `g.W_out`, and `cs_conv.shapes.pool_window(g, i, j)` returns output cell
# $(i, j)$'s window as a pair of slices into the (padded) input, plus the divisor for the mean.
#
# Two options go beyond the lecture, as in PyTorch:
#
# * `pad`: a border around the input. For max pooling it must never win, so pad with $-\infty$; for
#   average pooling the border counts as zeros in the mean.
# * `ceil_mode=True` rounds the output size **up**, so a last, partial window covers the leftover
#   rows and columns (the X-and-O example below needs it). `pool_window` already clips such a window and
#   gives the divisor that PyTorch uses.
#
# The lecture's windows never overlap ($s = f$), but they may: $f = 3$, $s = 2$ is common. The loops
# do not care.

# %% id="tasks_3_1_3_3_code"
from cs_conv.layers import avg_pool_forward_naive, max_pool_forward_naive

pool = {"pool_height": 2, "pool_width": 2, "stride": 2}
out, _ = max_pool_forward_naive(table[None, None], pool)
check_close(out[0, 0], max_table, "max_pool_forward_naive on the lecture's table")

# A 3x2 window, stride 2, on an 8x6 input: H_out = (8 - 3) // 2 + 1 = 3 (rounded down), W_out = 3.
tall = np.sin(np.arange(2 * 8 * 6.0)).reshape(1, 2, 8, 6)
out, _ = max_pool_forward_naive(tall, {'pool_height': 3, 'pool_width': 2, 'stride': 2})
correct_out = expected_pool("max", (1, 2, 8, 6), {"pool_height": 3, "pool_width": 2, "stride": 2})
check_close(out, correct_out, "max_pool_forward_naive, 3x2 window, stride 2, on an 8x6 input",
            hint="the height uses pool_height and the width pool_width; sizes round down")

# Two images, two channels, a 3x2 window with strides (2, 1): expected values from the reference.
x = np.sin(np.arange(2 * 2 * 7 * 6.0)).reshape(2, 2, 7, 6)
x_before = x.copy()
out, _ = max_pool_forward_naive(x, {'pool_height': 3, 'pool_width': 2, 'stride': (2, 1)})
correct_out = expected_pool("max", (2, 2, 7, 6), {"pool_height": 3, "pool_width": 2, "stride": (2, 1)})
check_close(out, correct_out, "max_pool_forward_naive, 3x2 window, stride (2, 1)",
            hint="pool_height and pool_width may differ, and so may the two strides")
assert np.array_equal(x, x_before), "max_pool_forward_naive must not modify x"

out, _ = max_pool_forward_naive(-np.ones((1, 1, 4, 4)), {"pool_height": 2, "pool_width": 2, "stride": 2, "pad": 1})
check_close(out, -np.ones((1, 1, 3, 3)), "max pooling with pad 1: padding never wins",
            hint="pad with -np.inf for max pooling, not with 0")
out32, _ = max_pool_forward_naive(x.astype(np.float32), pool)
assert out32.dtype == np.float32, f"float32 input should give float32 output, got {out32.dtype}"
out_int, _ = max_pool_forward_naive(np.arange(16).reshape(1, 1, 4, 4), pool)
assert out_int.dtype == np.float64, f"an integer x should give a float64 output, got {out_int.dtype}"
check_close(out_int[0, 0], [[5, 7], [13, 15]], "max_pool_forward_naive on an integer x")

# %% autograde="max_pool_forward_naive"

# %% id="tasks_3_1_3_3_code_2"
out, _ = avg_pool_forward_naive(table[None, None], pool)
check_close(out[0, 0], avg_table, "avg_pool_forward_naive on the lecture's table")
out_int, _ = avg_pool_forward_naive(np.arange(16).reshape(1, 1, 4, 4), pool)   # an integer x: float64 means
check_close(out_int[0, 0], [[2.5, 4.5], [10.5, 12.5]], "avg_pool_forward_naive on an integer x")

a = (10 * np.arange(5)[:, None] + np.arange(5)[None, :]).astype(float)[None, None]   # a[i, j] = 10 i + j
out, _ = avg_pool_forward_naive(a, {"pool_height": 3, "pool_width": 3, "stride": 2})
check_close(out[0, 0], [[11, 13], [31, 33]], "avg_pool_forward_naive, overlapping 3x3 windows, stride 2",
            hint="z11 is the mean of a11 ... a33, z12 of a13 ... a35")

x = np.sin(np.arange(2 * 2 * 7 * 7.0) + 0.5).reshape(2, 2, 7, 7)
out, _ = avg_pool_forward_naive(x, {'pool_height': 2, 'pool_width': 2, 'stride': 2, 'ceil_mode': True})
correct_out = expected_pool("avg", (2, 2, 7, 7), {"pool_height": 2, "pool_width": 2, "stride": 2, "ceil_mode": True},
                            phase=0.5)
check_close(out, correct_out, "avg_pool_forward_naive, 2x2 stride 2 on 7x7 with ceil_mode",
            hint="the last, clipped window divides by the cells it covers: use pool_window's divisor")

out, _ = avg_pool_forward_naive(np.ones((1, 1, 4, 4)), {"pool_height": 2, "pool_width": 2, "stride": 2, "pad": 1})
check_close(out[0, 0], [[0.25, 0.5, 0.25], [0.5, 1, 0.5], [0.25, 0.5, 0.25]],
            "average pooling with pad 1 counts the padding as zeros")

# %% autograde="avg_pool_forward_naive"

# %% [markdown] id="x_o_network_pools"
# ## 3. The X-and-O network pools its maps
#
# In the toy ConvNet the three 7x7 feature maps of the X go through a ReLU and then a 2x2 max pool with
# stride 2. But $(7 - 2)/2 + 1 = 3.5$: rounded down, the last row and column would be dropped. The
# lecture keeps them: its pooled maps are 4x4, with the last windows only partly filled. That is
# `ceil_mode=True`. (The slide's ReLU tables print a few 0.33's as 0.35; a ReLU never changes a positive
# value, and the pooled tables, checked here, are right.)

# %% id="x_o_network_code"
# The lecture's 9x9 X (pixels +1 and -1) and its three 3x3 features, as in notebook 02.
x_picture = np.full((9, 9), -1.0)
for k in range(1, 8):
    x_picture[k, k] = x_picture[k, 8 - k] = 1.0
diagonal = np.array([[1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=float)
centre = np.array([[1, -1, 1], [-1, 1, -1], [1, -1, 1]], dtype=float)
features = np.stack([diagonal, centre, diagonal[:, ::-1]])[:, None] / 9     # (3, 1, 3, 3)

from cs_conv.layers import conv_forward_naive, relu_forward

maps, _ = conv_forward_naive(x_picture[None, None], features, np.zeros(3), {"stride": 1, "pad": 0})
rectified, _ = relu_forward(maps)
floor_pool = {"pool_height": 2, "pool_width": 2, "stride": 2}
ceil_pool = {**floor_pool, "ceil_mode": True}
print("rounding down:", max_pool_forward_naive(rectified, floor_pool)[0].shape[2:],
      " ceil_mode:", max_pool_forward_naive(rectified, ceil_pool)[0].shape[2:])
pooled, _ = max_pool_forward_naive(rectified, ceil_pool)

lecture_pooled = np.array([
    [[1.00, 0.33, 0.55, 0.33], [0.33, 1.00, 0.33, 0.55], [0.55, 0.33, 1.00, 0.11], [0.33, 0.55, 0.11, 0.77]],
    [[0.55, 0.33, 0.55, 0.33], [0.33, 1.00, 0.55, 0.11], [0.55, 0.55, 0.55, 0.11], [0.33, 0.11, 0.11, 0.33]],
    [[0.33, 0.55, 1.00, 0.77], [0.55, 0.55, 1.00, 0.33], [1.00, 1.00, 0.11, 0.55], [0.77, 0.33, 0.55, 0.33]],
])
check_close(np.trunc(pooled[0] * 100) / 100, lecture_pooled, "the lecture's three 4x4 pooled maps", tol=1e-9)

fig, axes = plt.subplots(2, 3, figsize=(9, 6))
for k in range(3):
    axes[0, k].imshow(rectified[0, k], cmap="gray", vmin=0, vmax=1)
    axes[0, k].set_title(f"feature {k}: ReLU (7x7)")
    axes[1, k].imshow(pooled[0, k], cmap="gray", vmin=0, vmax=1)
    axes[1, k].set_title(f"feature {k}: max pooled (4x4)")
for ax in axes.ravel():
    ax.axis("off")
plt.show()


# %% [markdown] id="local_invariance_measured"
# ## 4. Local invariance, measured
#
# Convolution is *equivariant* to translation: shift the input and the maps shift with it (the lecture's
# "filters give global invariance": a feature is found wherever it is). But a shifted map, compared
# cell by cell, is a different map. Pooling gives **local invariance**: a maximum over a window does not
# care where in the window the feature was.
#
# The cell shifts the X by one pixel in each direction and compares the features of the shifted X with
# those of the original by their cosine similarity (1 means the same up to scale), at four stages: the
# ReLU'd maps, the lecture's 2x2 stride-2 pooling, overlapping 3x3 stride-2 pooling, and one global
# maximum per map. Then it compares the X with an O the same way.

# %% id="local_invariance_measured_code"
def shifted(image, dr, dc):
    """`image` moved by dr rows and dc columns; the pixels that come in are background (-1)."""
    out = np.full_like(image, -1.0)
    H, W = image.shape
    out[max(dr, 0):H + min(dr, 0), max(dc, 0):W + min(dc, 0)] = \
        image[max(-dr, 0):H - max(dr, 0), max(-dc, 0):W - max(dc, 0)]
    return out

stages = {
    "ReLU maps 7x7": None,
    "max pool 2x2 / 2": {"pool_height": 2, "pool_width": 2, "stride": 2, "ceil_mode": True},
    "max pool 3x3 / 2": {"pool_height": 3, "pool_width": 3, "stride": 2},
    "global max 7x7": {"pool_height": 7, "pool_width": 7, "stride": 7},
}

def describe(image):
    maps, _ = conv_forward_naive(image[None, None], features, np.zeros(3), {"stride": 1, "pad": 0})
    rectified, _ = relu_forward(maps)
    return {name: rectified if p is None else max_pool_forward_naive(rectified, p)[0] for name, p in stages.items()}

def cosine(u, v):
    return float(u.ravel() @ v.ravel() / (np.linalg.norm(u) * np.linalg.norm(v)))

o_picture = np.full((9, 9), -1.0)
for r, c in [(1, 3), (1, 4), (1, 5), (2, 2), (2, 6), (3, 1), (4, 1), (5, 1), (3, 7), (4, 7), (5, 7),
             (6, 2), (6, 6), (7, 3), (7, 4), (7, 5)]:
    o_picture[r, c] = 1.0

original = describe(x_picture)
rows = {f"X shifted by {s}": describe(shifted(x_picture, *s)) for s in [(0, 1), (1, 0), (0, -1), (-1, 0)]}
rows["an O"] = describe(o_picture)
print(f"{'cosine similarity with the X':30s}" + "".join(f"{name:>18s}" for name in stages))
similarity = {}
for label, feats in rows.items():
    similarity[label] = [cosine(original[name], feats[name]) for name in stages]
    print(f"{label:30s}" + "".join(f"{value:18.2f}" for value in similarity[label]))

for label, values in similarity.items():
    if label.startswith("X shifted"):
        assert values[1] > values[0] + 0.5 and values[2] > values[1] and values[3] > 0.999, \
            f"{label}: pooling should make the features more alike, the more the wider the windows"
assert similarity["an O"][3] > 0.95 > similarity["an O"][1], "global pooling should nearly erase X versus O"

# %% [markdown] id="read_table_by_rows"
# Read the table by rows. A one-pixel shift makes the raw maps almost unrelated (about 0.1), the
# lecture's 2x2 pooling brings them to about 0.85, overlapping 3x3 windows to about 0.97, and a single
# global maximum per map is exactly invariant. But look at the last row: after global pooling an O looks
# almost exactly like an X (about 0.97), because "is there a diagonal stroke anywhere?" is true of both.
# Invariance is bought with information: pooling throws away *where*, and too much of it throws away
# *what*. Small windows, repeated, keep the balance.
#
# ## 5. Tasks 3.2 and 3.4: the backward passes
#
# **Max pooling.** Each output is one of its window's inputs, so the upstream gradient flows to that
# input only (the *argmax*), and every other input of the window gets zero. Where windows overlap, an
# input can win several windows and its gradients **add up**. When a window has ties, the course follows
# PyTorch: the gradient goes to the **first** maximum in row-major order (`np.argmax` of the flattened
# window gives exactly that). The lecture's table has such a tie: the bottom-middle window holds two 8's.
#
# **Average pooling.** The lecture's example has overlapping windows, $f = 3$, $s = 2$ on a 5x5 input:
#
# $$z_{11} = \tfrac{1}{9}(a_{11} + a_{12} + a_{13} + a_{21} + a_{22} + a_{23} + a_{31} + a_{32} + a_{33}), \quad
# z_{12} = \tfrac{1}{9}(a_{13} + a_{14} + a_{15} + \dots + a_{35}), \ \dots$$
#
# so $\dfrac{\partial L}{\partial a_{11}} = \dfrac{1}{9}\dfrac{\partial L}{\partial z_{11}}$ (one window),
# $\dfrac{\partial L}{\partial a_{23}} = \dfrac{1}{9}\left(\dfrac{\partial L}{\partial z_{11}} + \dfrac{\partial L}{\partial z_{12}}\right)$ (two),
# and $a_{33}$, in all four windows, collects all four. Each window shares its upstream gradient equally,
# divided by the same divisor as in the forward pass.

# %% id="tasks_3_2_3_4_code"
from cs_conv.layers import max_pool_backward_naive

out, cache = max_pool_forward_naive(table[None, None], pool)
dx = max_pool_backward_naive(np.ones_like(out), cache)
print("where the gradient of dL/dz = 1 lands:\n", dx[0, 0])
winners = np.zeros((6, 6))
for r, c in [(1, 0), (0, 3), (0, 4), (3, 1), (3, 2), (2, 4), (5, 1), (4, 3), (5, 4)]:
    winners[r, c] = 1
check_close(dx[0, 0], winners, "max_pool_backward_naive routes each window's gradient to its maximum",
            hint="the window with two 8's (rows 4-5, columns 2-3) sends it to the first 8 in row-major order")

ties = max_pool_backward_naive(np.array([[[[5.0]]]]), max_pool_forward_naive(np.ones((1, 1, 2, 2)), pool)[1])
check_close(ties[0, 0], [[5, 0], [0, 0]], "a window of equal values sends its gradient to the first")

a = (10 * np.arange(5)[:, None] + np.arange(5)[None, :]).astype(float)[None, None]
overlap = {"pool_height": 3, "pool_width": 3, "stride": 2}
out, cache = max_pool_forward_naive(a, overlap)
dx = max_pool_backward_naive(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), cache)
expected = np.zeros((5, 5))
expected[2, 2], expected[2, 4], expected[4, 2], expected[4, 4] = 1, 2, 3, 4
check_close(dx[0, 0], expected, "overlapping max-pool windows on a[i, j] = 10 i + j")

# Now the centre, a[2, 2], is the maximum of all four windows: it collects all four gradients.
peak = a.copy()
peak[0, 0, 2, 2] = 100.0
out, cache = max_pool_forward_naive(peak, overlap)
dx = max_pool_backward_naive(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), cache)
check_close(dx[0, 0, 2, 2], 1 + 2 + 3 + 4, "four overlapping windows that share their maximum add up there",
            hint="right where windows do not overlap, wrong where they do: overlapping gradients add up (+=, not =)")

x = np.sin(np.arange(2 * 2 * 7 * 6.0) * 1.7).reshape(2, 2, 7, 6)     # distinct values: no ties
for name, pool_param in [("2x2 stride 2", pool), ("3x2 stride (2, 1)", {"pool_height": 3, "pool_width": 2, "stride": (2, 1)}),
                         ("2x2 stride 2, ceil_mode", {**pool, "ceil_mode": True})]:
    out, cache = max_pool_forward_naive(x, pool_param)
    dout = np.cos(np.arange(out.size) * 0.9).reshape(out.shape)
    check_close(max_pool_backward_naive(dout, cache),
                eval_numerical_gradient_array(lambda v: max_pool_forward_naive(v, pool_param)[0], x, dout),
                f"max_pool_backward_naive against centred differences, {name}", tol=1e-6)

# %% autograde="max_pool_backward_naive"

# %% id="tasks_3_2_3_4_code_2"
from cs_conv.layers import avg_pool_backward_naive

a = (10 * np.arange(5)[:, None] + np.arange(5)[None, :]).astype(float)[None, None]   # a[i, j] = 10 i + j
overlap = {"pool_height": 3, "pool_width": 3, "stride": 2}
out, cache = avg_pool_forward_naive(a, overlap)
dz = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])           # dL/dz11, dL/dz12, dL/dz21, dL/dz22
da = avg_pool_backward_naive(dz, cache)[0, 0]
print("dL/da, times 9:\n", da * 9)
check_close(da[0, 0], 1 / 9, "dL/da11 = dL/dz11 / 9")
check_close(da[1, 2], (1 + 2) / 9, "dL/da23 = (dL/dz11 + dL/dz12) / 9 (zero-based [1, 2])")
check_close(da[2, 2], (1 + 2 + 3 + 4) / 9, "dL/da33 collects all four windows (zero-based [2, 2])")

coverage = avg_pool_backward_naive(np.ones((1, 1, 2, 2)), cache)[0, 0] * 9
check_close(coverage, [[1, 1, 2, 1, 1], [1, 1, 2, 1, 1], [2, 2, 4, 2, 2], [1, 1, 2, 1, 1], [1, 1, 2, 1, 1]],
            "dL/dz = 1: each input gets 1/9 per window that covers it")

x = np.sin(np.arange(2 * 2 * 7 * 7.0) + 0.5).reshape(2, 2, 7, 7)
for name, pool_param in [("3x3 stride 2", overlap), ("2x2 stride 2, ceil_mode", {**pool, "ceil_mode": True}),
                         ("3x3 stride 2, pad 1", {**overlap, "pad": 1})]:
    out, cache = avg_pool_forward_naive(x, pool_param)
    dout = np.cos(np.arange(out.size) * 0.9).reshape(out.shape)
    check_close(avg_pool_backward_naive(dout, cache),
                eval_numerical_gradient_array(lambda v: avg_pool_forward_naive(v, pool_param)[0], x, dout),
                f"avg_pool_backward_naive against centred differences, {name}", tol=1e-6)

# %% autograde="avg_pool_backward_naive"

# %% [markdown] id="sparse_gradient_question"
# **Question (2 points, graded by hand).** In a 2x2, stride-2 max pool, what fraction of the input cells receive a nonzero gradient, and why?
# How does that change with overlapping 3x3, stride-2 windows, and what happens to an input that is the
# maximum of two windows? Contrast with average pooling.

# %% [markdown] id="sparse_gradient" answer=2
# *Model answer (for graders).* Non-overlapping 2x2 windows: exactly one winner per window, so at most
# 1 in 4 inputs (25%) gets gradient (fewer if a window's upstream gradient is 0); the others did not
# affect the output, so their derivative is 0. With 3x3/2 windows there are fewer windows than inputs
# per window (about one per 4 inputs, each of 9 cells), an input can win more than one window and then
# receives the **sum** of those windows' upstream gradients (as the overlapping check showed). Average
# pooling sends every input of a window $1/9$ (or $1/f^2$) of its upstream gradient: the gradient is
# dense, and inputs in overlaps get the sum over the windows that cover them.

# %% [markdown] id="invariance_question"
# **Question (2 points, graded by hand).** Use the similarity table of section 4: what does pooling buy, and what does it cost? Why do ConvNets
# pool a little at a time (small windows, repeated) rather than once, globally, right after the first
# convolution?

# %% [markdown] id="invariance" answer=2
# *Model answer (for graders).* It buys local translation invariance: a one-pixel shift of the X barely
# changes pooled features (about 0.85 for 2x2, 0.97 for 3x3/2, 1.0 for a global max, against about 0.1 for
# the raw maps), and it shrinks the maps (less compute and memory, larger receptive fields downstream).
# It costs spatial information: after global pooling an O is almost indistinguishable from an X (about
# 0.97), because only "is the feature anywhere" survives, not where features are relative to each other.
# Small windows repeated in a hierarchy keep relative positions at each scale while building up
# invariance gradually. Credit the numbers from the table and the trade-off.

# %% [markdown] id="done"
# ## Done
#
# Restart the kernel and run all cells: every check should print `ok`. Next: `04_im2col_cython.ipynb`,
# which makes convolution and pooling fast.
