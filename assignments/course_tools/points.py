"""From the autograder's tests to a grade cell's points. Standard library only.

Shared by the nbgrader pipeline (``course_tools.verdicts``) and the Gradescope bundle
(``course_tools.gradescope`` copies this file into it), so both give the same scores: a function's
cell is worth ``points``, and earns ``points * sum(score) / sum(max_score)`` over the tests that judge
that function.
"""

from __future__ import annotations


def task_number(task: str) -> str:
    """``"2.1"`` for ``"Notebook 02, task 2.1"`` (a value of ``cs_conv.tasks.TASKS``)."""
    return task.rsplit("task ", 1)[1]


def cases_for(results: dict, function: str, task: str) -> list[dict]:
    """The tests that judge ``function``: their names begin ``<function>:``, or they carry its task
    number (the Cython kernels' tests are named after their wrappers, ``im2col_cython: ...``)."""
    number = task_number(task)
    chosen = []
    for test in results.get("tests", []):
        extra = test.get("extra_data") if isinstance(test.get("extra_data"), dict) else {}
        prefix = str(test.get("name", "")).split(":", 1)[0].strip()
        if prefix == function or str(extra.get("task", test.get("number", ""))) == number:
            chosen.append(test)
    return chosen


def earned_fraction(tests: list[dict]) -> float:
    """Sum of scores over sum of maximum scores, clipped to [0, 1]; 0 when there are no tests."""
    earned = sum(float(test.get("score") or 0) for test in tests)
    possible = sum(float(test.get("max_score") or 0) for test in tests)
    return min(max(earned / possible, 0.0), 1.0) if possible > 0 else 0.0


def cell_score(tests: list[dict], points: float) -> float:
    return round(points * earned_fraction(tests), 4)
