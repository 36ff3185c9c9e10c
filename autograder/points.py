"""Points: what the notebooks make each task worth, and how a task's cases earn them.

Every score surface of the course shows the numbers worked out here: the autograder's reports
(text, JSON, Gradescope's ``results.json``, ``grade-all``'s CSV), nbgrader's grade cells (through
the JSON report, ``course_tools.verdicts``) and so the gradebook, feedback and the course's CSVs.

A task worth ``points`` in its notebook earns ``points * sum(score) / sum(max_score)`` over its cases,
clipped to ``[0, points]`` and rounded to ``DECIMALS`` places, which is what nbgrader then stores for
its grade cell; a total is the sum of such scores, rounded the same way. Each case's part of its
task's points (a test's ``score`` and ``max_score`` in the JSON) is rounded to ``SHARE_DECIMALS``.
Without a points table each case is worth its own points in ``autograder.catalog`` (one; two for a
speed case).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

DECIMALS = 2  # a task's, a notebook's and a total's points, as every surface shows them
SHARE_DECIMALS = 4  # one case's part of its task's points


@dataclass(frozen=True)
class TaskPoints:
    points: float
    notebook: str = ""  # the notebook's name without .ipynb, when the table gives it


class PointsError(ValueError):
    """A points table that cannot be used; the message says what is wrong with it."""


def task_number(task: str) -> str:
    """``"2.1"`` for ``"Notebook 02, task 2.1"`` (a ``cs_conv.tasks.Task``'s label) and for ``"2.1"``."""
    return task.rsplit("task ", 1)[-1].strip()


def parse(table: dict) -> dict[str, TaskPoints]:
    """Task number -> points, from ``{function: {"task": "Notebook 02, task 2.1", "points": 6,
    "notebook": "02_convolution"}}``: Gradescope's ``points.json``, and what ``RunAutograder`` writes
    from the gradebook."""
    if not isinstance(table, dict):
        raise PointsError("a points table is a JSON object: {function: {\"task\": ..., \"points\": ...}}")
    parsed: dict[str, TaskPoints] = {}
    for function, entry in table.items():
        try:
            points = float(entry["points"])
            number = task_number(str(entry["task"]))
        except (TypeError, KeyError, ValueError) as error:
            raise PointsError(f"{function}: needs a \"task\" and numeric \"points\" ({error})") from None
        if not points >= 0:
            raise PointsError(f"{function}: points must be 0 or more, not {entry['points']!r}")
        parsed[number] = TaskPoints(points, str(entry.get("notebook", "")))
    return parsed


def load(path: Path) -> dict[str, TaskPoints]:
    """The points table in the JSON file ``path`` (see ``parse``)."""
    try:
        table = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise PointsError(f"cannot read the points table {path}: {error}") from None
    return parse(table)


def earned_fraction(earned: float, possible: float) -> float:
    """``earned / possible`` clipped to [0, 1]; 0 when nothing is possible."""
    return min(max(earned / possible, 0.0), 1.0) if possible > 0 else 0.0


def task_score(earned: float, possible: float, points: float) -> float:
    """A task's points from its cases' ``earned`` and ``possible`` scores."""
    return round(points * earned_fraction(earned, possible), DECIMALS)


def share(value: float, possible: float, points: float) -> float:
    """A case's ``value`` (its score or maximum) as part of its task's ``points``."""
    return round(value * points / possible, SHARE_DECIMALS) if possible > 0 else 0.0


def total(scores: Iterable[float]) -> float:
    """The sum of task (or notebook) scores, rounded as each of them is."""
    return round(float(sum(scores, 0.0)), DECIMALS)
