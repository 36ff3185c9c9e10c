"""The random generator behind a model's initial weights and a solver's sample order, seeded as in CS231n.

``generator(seed)`` is ``np.random.default_rng(seed)``; with ``seed=None`` it draws its seed from
NumPy's global state, so ``np.random.seed(231)`` before building a model or a ``Solver`` makes the
run reproducible, as CS231n's notebooks expect.

>>> np.random.seed(231); first = int(generator().integers(1000))
>>> np.random.seed(231); again = int(generator().integers(1000))
>>> first == again
True
"""

from __future__ import annotations

import numpy as np


def generator(seed: int | None = None) -> np.random.Generator:
    """A Generator from ``seed``; with None, one seeded from NumPy's global state."""
    if seed is None:
        seed = np.random.randint(2**31 - 1)
    return np.random.default_rng(seed)
