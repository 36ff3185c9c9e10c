"""Every check, in notebook order: the grader's table of contents.

One ``Check`` per function a student writes (``cs_conv.tasks.TASKS``), each with its
task number and named cases. The Cython kernels (``im2col_kernel``, ``col2im_kernel``)
are judged through the ``def`` wrappers students call, so their tests are named
``im2col_cython: ...`` and ``col2im_cython: ...``.
"""

from __future__ import annotations

import fnmatch

from autograder.cases import Check
from autograder.checks import basic, cols, conv, model, pool, speed

NAIVE = "cs_conv.layers"
FAST = "cs_conv.fast_layers"

CATALOG: tuple[Check, ...] = (
    # Notebook 01
    *basic.CHECKS,
    # Notebook 02
    Check("conv_forward_naive", NAIVE, "2.1", conv.forward_cases("conv_forward_naive")),
    Check("conv_backward_naive", NAIVE, "2.2", conv.backward_cases("conv_backward_naive")),
    # Notebook 03
    Check("max_pool_forward_naive", NAIVE, "3.1", pool.forward_cases("max_pool_forward_naive", "max")),
    Check("max_pool_backward_naive", NAIVE, "3.2", pool.backward_cases("max_pool_backward_naive", "max")),
    Check("avg_pool_forward_naive", NAIVE, "3.3", pool.forward_cases("avg_pool_forward_naive", "avg")),
    Check("avg_pool_backward_naive", NAIVE, "3.4", pool.backward_cases("avg_pool_backward_naive", "avg")),
    # Notebook 04
    *cols.CHECKS,
    Check("conv_forward_fast", FAST, "4.3",
          conv.forward_cases("conv_forward_fast") + (speed.conv_speed("conv_forward_fast", False),)),
    Check("conv_backward_fast", FAST, "4.4",
          conv.backward_cases("conv_backward_fast") + (speed.conv_speed("conv_backward_fast", True),)),
    Check("max_pool_forward_fast", FAST, "4.5", pool.forward_cases("max_pool_forward_fast", "max")
          + (speed.pool_speed("max_pool_forward_fast", "max", False),)),
    Check("max_pool_backward_fast", FAST, "4.6", pool.backward_cases("max_pool_backward_fast", "max")
          + (speed.pool_speed("max_pool_backward_fast", "max", True),)),
    Check("avg_pool_forward_fast", FAST, "4.7", pool.forward_cases("avg_pool_forward_fast", "avg")
          + (speed.pool_speed("avg_pool_forward_fast", "avg", False),)),
    Check("avg_pool_backward_fast", FAST, "4.8", pool.backward_cases("avg_pool_backward_fast", "avg")
          + (speed.pool_speed("avg_pool_backward_fast", "avg", True),)),
    # Notebook 05
    *model.CHECKS,
)


def select(patterns: list[str] | None) -> tuple[Check, ...]:
    """The checks whose function matches any pattern (``fnmatch``, e.g. ``conv_*_naive``); all for None."""
    if not patterns:
        return CATALOG
    unknown = [p for p in patterns if not any(fnmatch.fnmatchcase(c.function, p) for c in CATALOG)]
    if unknown:
        raise ValueError(f"no check matches {', '.join(unknown)}; the checks are: "
                         + ", ".join(c.function for c in CATALOG))
    return tuple(c for c in CATALOG if any(fnmatch.fnmatchcase(c.function, p) for p in patterns))
