"""Every check, in notebook order: the grader's table of contents.

One ``Check`` per function a student writes, in the order of the kit's table of tasks
(``cs_conv.tasks.TASKS``), which gives its module and task number; the cases are the grader's.
A check and its tests carry the name the table says they are tested as: the function itself,
or for the Cython kernels (``im2col_kernel``, ``col2im_kernel``) the ``def`` wrappers students
call (``im2col_cython: ...``, ``col2im_cython: ...``).

``cs_conv.tasks`` is plain data: importing it runs none of the solved kit, and the Gradescope
bundle carries it beside the grader.
"""

from __future__ import annotations

import fnmatch

from autograder.cases import Case, Check
from autograder.checks import basic, cols, conv, model, pool
from cs_conv.tasks import TASKS

# Each function's cases by the name its tests carry; their order is the table's.
CASES: dict[str, tuple[Case, ...]] = {**basic.CASES, **conv.CASES, **pool.CASES, **cols.CASES, **model.CASES}


def _catalog() -> tuple[Check, ...]:
    """A check per task of the table, with its cases; every task must have cases, and every case a task."""
    tested = {task.tested_as: task for task in TASKS.values()}
    if set(tested) != set(CASES):
        raise RuntimeError(f"tasks without cases: {sorted(set(tested) - set(CASES))}; "
                           f"cases without a task: {sorted(set(CASES) - set(tested))} (see cs_conv/tasks.py)")
    return tuple(Check(name, task.module, task.number, CASES[name]) for name, task in tested.items())


CATALOG: tuple[Check, ...] = _catalog()


def select(patterns: list[str] | None) -> tuple[Check, ...]:
    """The checks whose function matches any pattern (``fnmatch``, e.g. ``conv_*_naive``); all for None."""
    if not patterns:
        return CATALOG
    unknown = [p for p in patterns if not any(fnmatch.fnmatchcase(c.function, p) for c in CATALOG)]
    if unknown:
        raise ValueError(f"no check matches {', '.join(unknown)}; the checks are: "
                         + ", ".join(c.function for c in CATALOG))
    return tuple(c for c in CATALOG if any(fnmatch.fnmatchcase(c.function, p) for p in patterns))
