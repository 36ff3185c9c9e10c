"""Expected arrays for the visible checks, computed once from the solved kit when a notebook is built.

A check compares the student's output with a literal array printed into the notebook (as CS231n's
``correct_out``), never with code that computes it: code that computes a layer's output would be the
solution. Inputs are built from ``np.sin`` and ``np.arange`` rather than a random generator, so the
notebook reproduces them exactly on any NumPy version.
"""

from __future__ import annotations

import numpy as np


def array_literal(array: np.ndarray, indent: int = 4) -> str:
    """Python source for ``np.array(...)`` holding ``array`` exactly (float64 round trip)."""
    body = np.array2string(np.asarray(array, dtype=np.float64), separator=", ", floatmode="unique",
                           threshold=100_000, max_line_width=100)
    pad = "\n" + " " * indent
    return "np.array(" + body.replace("\n", pad) + ")"


def sin_array(*shape: int, phase: float = 0.0) -> np.ndarray:
    """The notebook-reproducible input ``np.sin(np.arange(size) + phase).reshape(shape)``."""
    return np.sin(np.arange(float(np.prod(shape))) + phase).reshape(shape)
