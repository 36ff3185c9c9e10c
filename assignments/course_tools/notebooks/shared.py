# %% [markdown] id="how_to_work"
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

# %% id="setup"
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


# %% id="check_helper"
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


# %% id="build_extension"
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
