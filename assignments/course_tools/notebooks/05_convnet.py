# %% [markdown] id="title"
# # Notebook 05: A ConvNet that learns
#
# The lectures end by putting the pieces together: *Input -> (Conv -> ReLU -> Pooling) -> ... -> Fully
# connected*, a stack whose every layer you have now written. This notebook builds the stack in three
# steps: **sandwich layers** that chain a few layers into one forward/backward pair, a **three-layer
# ConvNet** whose loss and gradients you check numerically, and the **Adam** update rule. Then you train:
# first on a handful of images (a network that cannot memorise 50 images has a bug), then on the
# handwritten digits that ship with the kit, and on the lecture's X's and O's, and you look at the loss and
# accuracy curves and at the filters the first layer learned.
#
# | task | function | file |
# | --- | --- | --- |
# | 5.1, 5.2 | `affine_relu_forward`, `affine_relu_backward` | `cs_conv/layer_utils.py` |
# | 5.3, 5.4 | `conv_relu_forward`, `conv_relu_backward` | `cs_conv/layer_utils.py` |
# | 5.5, 5.6 | `conv_relu_pool_forward`, `conv_relu_pool_backward` | `cs_conv/layer_utils.py` |
# | 5.7, 5.8 | `ThreeLayerConvNet.three_layer_forward`, `three_layer_backward` | `cs_conv/classifiers/cnn.py` |
# | 5.9 | `adam` | `cs_conv/optim.py` |
#
# The `Solver` that runs the training loop (`cs_conv/solver.py`), the data loaders (`cs_conv/data.py`) and
# the plots (`cs_conv/vis.py`) are given.

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
# Run when the notebook is built, never released: each call of expected_adam below is replaced by
# the array it returns, computed by the solved kit.
import numpy as np
from cs_conv import optim


def expected_adam(key):
    """``next_w``, or ``m`` or ``v`` of the config, after one Adam step from the check's inputs."""
    w = np.sin(np.arange(20.0)).reshape(4, 5)
    dw = np.sin(np.arange(20.0) + 2.0).reshape(4, 5)
    config = {"learning_rate": 1e-2, "m": 0.1 * np.sin(np.arange(20.0) + 1.0).reshape(4, 5),
              "v": 0.2 + 0.1 * np.sin(np.arange(20.0) + 3.0).reshape(4, 5) ** 2, "t": 5}
    next_w, config = optim.adam(w, dw, config)
    return next_w if key == "next_w" else config[key]


# %% [markdown] id="sandwich_layers_use_your"
# The sandwich layers use your fast layers from notebook 04 when they work, and fall back to your loop
# layers otherwise (slower, but training still finishes). The next cell makes sure the compiled module is
# built, exactly as notebook 04 did, and then reports which layers are in use.

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
try:
    build_extension()
except Exception as error:  # the loops still work: say so and go on
    print(f"The compiled module is not available ({type(error).__name__}); using your loop layers.\n{error}")

from cs_conv import layer_utils

print("conv and pool layers in use:", layer_utils.BACKEND, "-", layer_utils.BACKEND_REASON)

# %% [markdown] id="sandwich_layers"
# ## 1. Sandwich layers
#
# Some runs of layers come up again and again: a convolution followed by a ReLU; a convolution, a ReLU
# and a 2x2 max pool; a fully connected layer followed by a ReLU. `cs_conv/layer_utils.py` packages each
# as one forward/backward pair. A sandwich's **cache is the tuple of its layers' caches**, and its
# backward pass runs their backward passes **in reverse order**, each one's `dx` becoming the upstream
# gradient of the layer before: the chain rule, one layer at a time. In `layer_utils.py` use
# `conv_forward`, `conv_backward`, `max_pool_forward` and `max_pool_backward` (the module picked fast or
# naive for you) and the layers of `cs_conv.layers`.
#
# Each check compares the sandwich with its layers called one by one, then with centred differences.

# %% id="sandwich_layers_code"
from cs_conv.layer_utils import (
    affine_relu_backward,
    affine_relu_forward,
    conv_relu_backward,
    conv_relu_forward,
    conv_relu_pool_backward,
    conv_relu_pool_forward,
)
from cs_conv.layers import affine_forward, relu_forward

x = np.sin(np.arange(2 * 3 * 4.0)).reshape(2, 3, 4)          # N = 2, D = 12
w = np.sin(np.arange(12 * 5.0) + 1).reshape(12, 5)
b = np.linspace(-0.3, 0.3, 5)
out, cache = affine_relu_forward(x, w, b)
check_close(out, relu_forward(affine_forward(x, w, b)[0])[0], "affine_relu_forward = affine then relu")

# %% autograde="affine_relu_forward"

# %% id="sandwich_layers_code_2"
_, cache = affine_relu_forward(x, w, b)
dout = np.cos(np.arange(10.0)).reshape(2, 5)
dx, dw, db = affine_relu_backward(dout, cache)
for name, got, value in (("dx", dx, x), ("dw", dw, w), ("db", db, b)):
    def forward(v, name=name, value=value):
        args = {"x": x, "w": w, "b": b, name[1:]: v}
        return affine_relu_forward(args["x"], args["w"], args["b"])[0]
    check_close(got, eval_numerical_gradient_array(forward, value.copy(), dout), f"affine_relu_backward {name}",
                tol=1e-6, hint="relu_backward first (the last layer), then affine_backward")

# %% autograde="affine_relu_backward"

# %% id="sandwich_layers_code_3"
x = np.sin(np.arange(2 * 3 * 6 * 6.0) * 0.7).reshape(2, 3, 6, 6)
w = np.sin(np.arange(4 * 3 * 3 * 3.0) * 1.3).reshape(4, 3, 3, 3)
b = np.linspace(-0.5, 0.5, 4)
conv_param = {"stride": 1, "pad": 1}
pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
out, cache = conv_relu_forward(x, w, b, conv_param)
check_close(out, np.maximum(layer_utils.conv_forward(x, w, b, conv_param)[0], 0), "conv_relu_forward = conv then relu")

# %% autograde="conv_relu_forward"

# %% id="sandwich_layers_code_4"
out, cache = conv_relu_forward(x, w, b, conv_param)
dout = np.cos(np.arange(out.size) * 0.9).reshape(out.shape)
dx, dw, db = conv_relu_backward(dout, cache)
check_close(dx, eval_numerical_gradient_array(lambda v: conv_relu_forward(v, w, b, conv_param)[0], x.copy(), dout),
            "conv_relu_backward dx", tol=1e-6)
check_close(dw, eval_numerical_gradient_array(lambda v: conv_relu_forward(x, v, b, conv_param)[0], w.copy(), dout),
            "conv_relu_backward dw", tol=1e-6)
check_close(db, eval_numerical_gradient_array(lambda v: conv_relu_forward(x, w, v, conv_param)[0], b.copy(), dout),
            "conv_relu_backward db", tol=1e-6)

# %% autograde="conv_relu_backward"

# %% id="sandwich_layers_code_5"
out, cache = conv_relu_pool_forward(x, w, b, conv_param, pool_param)
expected = layer_utils.max_pool_forward(np.maximum(layer_utils.conv_forward(x, w, b, conv_param)[0], 0), pool_param)[0]
check_close(out, expected, "conv_relu_pool_forward = conv, relu, then max pool")
assert out.shape == (2, 4, 3, 3), f"expected (2, 4, 3, 3), got {out.shape}"

# %% autograde="conv_relu_pool_forward"

# %% id="sandwich_layers_code_6"
out, cache = conv_relu_pool_forward(x, w, b, conv_param, pool_param)
dout = np.cos(np.arange(out.size) * 0.9).reshape(out.shape)
dx, dw, db = conv_relu_pool_backward(dout, cache)
check_close(dx, eval_numerical_gradient_array(lambda v: conv_relu_pool_forward(v, w, b, conv_param, pool_param)[0],
                                              x.copy(), dout), "conv_relu_pool_backward dx", tol=1e-6,
            hint="three backward passes, in reverse: pool, relu, conv")
check_close(dw, eval_numerical_gradient_array(lambda v: conv_relu_pool_forward(x, v, b, conv_param, pool_param)[0],
                                              w.copy(), dout), "conv_relu_pool_backward dw", tol=1e-6)
check_close(db, eval_numerical_gradient_array(lambda v: conv_relu_pool_forward(x, w, v, conv_param, pool_param)[0],
                                              b.copy(), dout), "conv_relu_pool_backward db", tol=1e-6)

# %% autograde="conv_relu_pool_backward"

# %% [markdown] id="three_layer_convnet"
# ## 2. A three-layer ConvNet
#
# `ThreeLayerConvNet` (in `cs_conv/classifiers/cnn.py`) is
#
# $$\text{conv} \to \text{ReLU} \to \text{2x2 max pool} \to \text{affine} \to \text{ReLU} \to \text{affine} \to \text{softmax},$$
#
# the lecture's *(Conv -> ReLU -> Pool) -> fully connected* with one hidden layer. Its constructor (given)
# creates `params` W1, b1 (the filters), W2, b2, W3, b3; `loss(X, y)` (given) adds the L2 penalty
# $\frac{1}{2}\lambda\sum W^2$ for each weight matrix. You write the two passes:
#
# * `three_layer_forward(X)`: `conv_relu_pool_forward`, then `affine_relu_forward`, then `affine_forward`;
#   return the scores and the three caches;
# * `three_layer_backward(dscores, cache)`: the three backward passes in reverse, filling `grads` with the
#   keys of `params`.
#
# Two sanity checks before any gradient check: with small random weights all scores are near 0, so the
# loss is near $\ln C$ (for 10 classes, 2.30); and regularisation makes the loss grow.

# %% id="three_layer_convnet_code"
from cs_conv.classifiers.cnn import ThreeLayerConvNet

model = ThreeLayerConvNet(input_dim=(1, 8, 8), num_filters=4, filter_size=3, hidden_dim=10, weight_scale=1e-3,
                          dtype=np.float64, seed=0)
for name, value in model.params.items():
    print(f"{name}: {value.shape}")
print("parameters:", sum(value.size for value in model.params.values()))

X = np.sin(np.arange(5 * 64.0)).reshape(5, 1, 8, 8)
y = np.arange(5)
scores = model.loss(X)
assert scores.shape == (5, 10), f"scores should be (N, num_classes) = (5, 10), got {scores.shape}"
loss, grads = model.loss(X, y)
check_close(loss, np.log(10), "initial loss is about ln(10)", tol=1e-3, hint="small weights give near-uniform scores")
model.reg = 1.0
assert model.loss(X, y)[0] > loss, "the regularised loss should be larger"
model.reg = 0.0

# %% autograde="three_layer_forward"

# %% [markdown] id="gradient_check_runs_float64"
# The gradient check runs in **float64**: centred differences with $h = 10^{-5}$ need more digits than
# float32 has. With a correct backward pass every relative error is around $10^{-6}$ or smaller; a
# ReLU kink crossed by $\pm h$ can occasionally give a larger one for a single entry.

# %% id="three_layer_convnet_code_2"
model = ThreeLayerConvNet(input_dim=(1, 8, 8), num_filters=3, filter_size=3, hidden_dim=7, weight_scale=0.5,
                          reg=0.1, dtype=np.float64, seed=1)
X = np.sin(np.arange(2 * 64.0) * 0.8).reshape(2, 1, 8, 8)
y = np.array([3, 7])
loss, grads = model.loss(X, y)
assert set(grads) == set(model.params), f"grads should have the keys {sorted(model.params)}, got {sorted(grads)}"
for name in sorted(model.params):
    def f(_, name=name):
        return model.loss(X, y)[0]
    numeric = eval_numerical_gradient(f, model.params[name])
    check_close(grads[name], numeric, f"ThreeLayerConvNet gradient of {name}", tol=1e-5)

# %% autograde="three_layer_backward"

# %% [markdown] id="task_5_9_adam"
# ## 3. Task 5.9: Adam
#
# Plain gradient descent steps along $-\nabla L$ with one learning rate for every parameter. **Adam**
# keeps two running averages per parameter: of the gradient (momentum: it smooths the noisy minibatch
# gradients) and of the gradient squared (a per-parameter scale, as RMSProp does), and it corrects both
# for starting at zero. With step count $t$ starting at 1:
#
# $$m \leftarrow \beta_1 m + (1 - \beta_1)\, dw, \qquad v \leftarrow \beta_2 v + (1 - \beta_2)\, dw^2,$$
# $$\hat m = \frac{m}{1 - \beta_1^t}, \qquad \hat v = \frac{v}{1 - \beta_2^t}, \qquad
# w \leftarrow w - \text{lr} \cdot \frac{\hat m}{\sqrt{\hat v} + \epsilon}.$$
#
# Complete `adam` in `cs_conv/optim.py`; it keeps $m$, $v$ and $t$ in `config`.

# %% id="task_5_9_adam_code"
from cs_conv.optim import adam

w = np.sin(np.arange(20.0)).reshape(4, 5)
dw = np.sin(np.arange(20.0) + 2.0).reshape(4, 5)
config = {"learning_rate": 1e-2, "m": 0.1 * np.sin(np.arange(20.0) + 1.0).reshape(4, 5),
          "v": 0.2 + 0.1 * np.sin(np.arange(20.0) + 3.0).reshape(4, 5) ** 2, "t": 5}
next_w, config = adam(w, dw, config)
check_close(next_w, expected_adam("next_w"), "adam next_w", tol=1e-9, hint="t becomes 6 before the bias correction")
check_close(config["m"], expected_adam("m"), "adam m", tol=1e-9)
check_close(config["v"], expected_adam("v"), "adam v", tol=1e-9)
assert config["t"] == 6, f"adam should count this step: t should be 6, got {config['t']}"

# %% autograde="adam"

# %% [markdown] id="overfit_small_dataset"
# ## 4. Overfit a small dataset
#
# Before a long training run, check that the model can drive the training loss down on a tiny training
# set of 50 digits: it has far more parameters than examples, so it should reach 100% training accuracy
# (while validation accuracy stays lower: that is what overfitting looks like). If it cannot, something
# is wrong in the forward or backward pass, or in the update rule.
#
# The data are the kit's handwritten digits, 8x8 pixels, 1197 for training, 300 each for validation and
# test (`cs_conv.data.load_digits`).

# %% id="overfit_small_dataset_code"
import os

from cs_conv.data import load_digits
from cs_conv.solver import Solver
from cs_conv.vis import plot_confusion_matrix, plot_history, show_filters, show_images

quick = bool(os.environ.get("NBGRADER_EXECUTION"))   # the grader runs this notebook too: train less there

digits = load_digits()
fig = show_images(digits["X_train"][:16], digits["y_train"][:16], digits["class_names"], ncols=8,
                  title="training digits")
plt.show()

small = {"X_train": digits["X_train"][:50], "y_train": digits["y_train"][:50],
         "X_val": digits["X_val"], "y_val": digits["y_val"]}
model = ThreeLayerConvNet(input_dim=(1, 8, 8), num_filters=16, filter_size=3, hidden_dim=64, weight_scale=0.1,
                          seed=0)
solver = Solver(model, small, update_rule="adam", optim_config={"learning_rate": 3e-3}, batch_size=10,
                num_epochs=15, seed=0, verbose=False)
solver.train()
print(f"train accuracy {solver.train_acc_history[-1]:.2f}, validation accuracy {solver.val_acc_history[-1]:.2f}")
fig = plot_history(solver, title="overfitting 50 digits")
plt.show()
assert solver.train_acc_history[-1] > 0.95, "the model should memorise 50 images: check your passes and adam"

# %% [markdown] id="train_digits"
# ## 5. Train on the digits
#
# Now the whole training set. The `Solver` runs minibatch Adam for a few epochs, measures training and
# validation accuracy after every epoch, and keeps the parameters that did best on validation. With your
# fast layers this takes a few seconds (with the loop layers, about a minute). When the grader runs this
# notebook it trains for less time, so its curves are shorter than yours.

# %% id="train_digits_code"
model = ThreeLayerConvNet(input_dim=(1, 8, 8), num_filters=16, filter_size=3, hidden_dim=64, weight_scale=0.1,
                          reg=1e-3, seed=0)
train = digits if not quick else {**digits, "X_train": digits["X_train"][:300], "y_train": digits["y_train"][:300]}
solver = Solver(model, train, update_rule="adam", optim_config={"learning_rate": 2e-3}, batch_size=32,
                num_epochs=2 if quick else 10, seed=0, verbose=False)
solver.train()
test_accuracy = solver.check_accuracy(digits["X_test"], digits["y_test"])
print(f"best validation accuracy {solver.best_val_acc:.3f}, test accuracy {test_accuracy:.3f}")
fig = plot_history(solver, title="digits")
plt.show()
predictions = np.argmax(model.loss(digits["X_test"]), axis=1)
fig = plot_confusion_matrix(digits["y_test"], predictions, digits["class_names"], title="test set")
plt.show()
assert quick or solver.best_val_acc > 0.9, "a working ConvNet reaches over 90% validation accuracy on the digits"

# %% [markdown] id="what_did_first_layer"
# ### What did the first layer learn?
#
# Each of the 16 filters of W1 is a 3x3 pattern. Compare them with the hand-made filters of notebook 02:
# many learned filters are edge and stroke detectors, like small Sobel filters in various directions.

# %% id="what_did_first_code"
fig = show_filters(model.params["W1"], title="first-layer filters (digits)")
plt.show()

# %% [markdown] id="lecture_x_o"
# ## 6. The lecture's X's and O's
#
# Finally the toy problem of the lectures: 9x9 images of X and O, shifted, scaled, rotated, thickened or
# noisy (`cs_conv.data.load_xo`). Give the network exactly the lecture's budget, **three 3x3 filters**, and
# see which features it learns on its own. The lecture hand-picked the two diagonals and the centre of the
# X (left); the network is free to choose.

# %% id="lecture_x_o_code"
from cs_conv.data import load_xo

xo = load_xo()
fig = show_images(xo["X_train"][:8], xo["y_train"][:8], xo["class_names"], ncols=8, title="X and O")
plt.show()
model = ThreeLayerConvNet(input_dim=(1, 9, 9), num_filters=3, filter_size=3, hidden_dim=16, num_classes=2,
                          weight_scale=0.3, reg=1e-3, seed=0)
solver = Solver(model, xo, update_rule="adam", optim_config={"learning_rate": 5e-3}, batch_size=16,
                num_epochs=5 if quick else 15, seed=0, verbose=False)
solver.train()
print(f"X versus O: validation accuracy {solver.best_val_acc:.2f}, "
      f"test accuracy {solver.check_accuracy(xo['X_test'], xo['y_test']):.2f}")
lecture = np.array([[[1, -1, -1], [-1, 1, -1], [-1, -1, 1]],
                    [[1, -1, 1], [-1, 1, -1], [1, -1, 1]],
                    [[-1, -1, 1], [-1, 1, -1], [1, -1, -1]]], dtype=float)[:, None]
fig = show_filters(np.concatenate([lecture / 3, model.params["W1"]]), ncols=3,
                   title="top: the lecture's features; bottom: learned")
plt.show()
assert quick or solver.best_val_acc > 0.9, "the toy ConvNet should tell X from O"

# %% [markdown] id="curves_question"
# **Question (2 points, graded by hand).** Look at the curves of sections 4 and 5. How do you tell overfitting from underfitting on them? Which do
# you see in section 4, and in section 5? Name two changes that would reduce the gap between training and
# validation accuracy in section 4.

# %% [markdown] id="curves" answer=2
# *Model answer (for graders).* Overfitting: training accuracy high (here 100%) while validation
# accuracy stays much lower and the training loss keeps falling; underfitting: both accuracies low and
# the training loss plateaus high. Section 4 overfits on purpose (50 examples, thousands of parameters).
# Section 5 trains and validation accuracies are close and high (a small gap, no strong overfitting).
# Remedies: more training data (or data augmentation: shifts, rotations), L2 regularisation (larger reg),
# a smaller model (fewer filters, smaller hidden layer), early stopping on validation accuracy (the Solver
# keeps the best validation parameters), dropout. Two valid remedies and a correct reading of both plots
# for full marks.

# %% [markdown] id="filters_question"
# **Question (2 points, graded by hand).** Describe the learned first-layer filters for the digits and for X and O. Do any resemble the Sobel filters
# of notebook 02 or the lecture's hand-made X features? Why is it reasonable that a network trained only to
# classify learns edge-like filters in its first layer?

# %% [markdown] id="filters" answer=2
# *Model answer (for graders).* Expect a description: several digit filters have a positive and a negative
# side (oriented edge or stroke detectors, like small Sobel filters, in various directions), some are blob-
# or dot-like; for X/O, the learned filters often include diagonal strokes resembling the lecture's "\\" and
# "/" features, or curve/edge parts that separate O from X (not necessarily the lecture's exact ones, and
# possibly sign-flipped or shifted). Reason: images are made of local edges and strokes; a first layer sees
# only 3x3 patches, and the most informative local statistics for telling classes apart are edges and
# orientations, which later layers combine (the hierarchy of the lecture's Hubel-Wiesel slides). Any
# careful description tied to the plots earns credit.

# %% [markdown] id="done"
# ## Done
#
# Restart the kernel and run all cells. Then submit the whole folder: your `cs_conv/` and the five notebooks.
