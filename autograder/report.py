"""A report as text for people, or as JSON in Gradescope's ``results.json`` schema.

``--format gradescope`` is the schema and nothing else::

    {"score": 72.69, "execution_time": 9.1, "output": "...", "output_format": "text",
     "stdout_visibility": "hidden",
     "tests": [{"name": "conv_backward_naive: stride 2, pad 0", "number": "2.2",
                "score": 0.0, "max_score": 0.5333, "status": "failed",
                "output": "dw relative error 3.1e-01, needs < 1e-7",
                "visibility": "visible"}, ...]}

Scores are points (``autograder.points``): with ``--points`` the notebooks' (each task worth its
grade cell's points, which is what nbgrader records), else each case's own (one). ``score`` is the
sum of the tasks' rounded scores, as nbgrader adds up its grade cells.

``--format json`` is the same plus ``extra_data``, which Gradescope allows and ignores:
each test gets ``{"function", "case", "task"}`` (and ``"notebook"`` when the points table names it)
and the top level ``{"submission", "max_score", "unit", "tasks", "protections", "notes",
"diagnostics", "grader_error"}``, where ``unit`` is ``"notebook points"`` or ``"case points"`` and
``tasks`` maps each task number to its ``{"score", "max_score"}``.
A test's ``name`` is always ``"<student function>: <case>"`` and ``function`` is the
part before the colon, so a notebook grader can map tests to its cells by function
(or by ``number``, the task: ``"2.2"`` is Notebook 02, task 2.2). Names are stable
across versions of the grader unless a case is added or removed.

Everything but ``execution_time`` and ``diagnostics`` is identical when the same
submission is graded twice with the same ``--seed``. No format names the seed: the
command line writes it to stderr, for the instructor only (see ``autograder.cases``).

Both ``text`` and ``results_json`` write out ``Report.one_lined()``, never the report
itself, so no format carries a line the grader did not write.
"""

from __future__ import annotations

import json
from typing import Any

from autograder.results import CaseResult, Report

FORMATS = ("text", "json", "gradescope")


def render(report: Report, fmt: str) -> str:
    if fmt == "text":
        return text(report)
    if fmt in ("json", "gradescope"):
        return json.dumps(results_json(report, extra=fmt == "json"), indent=2) + "\n"
    raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")


def case_output(result: CaseResult) -> str:
    return "passed" if result.passed else result.message


def unit(report: Report) -> str:
    return "notebook points" if report.in_points else "case points"


def _summary(report: Report) -> str:
    lines = [f"Score: {_number(report.score)} / {_number(report.max_score)} {unit(report)}"]
    if not report.in_points:
        lines.append("note: these are the cases' own points; --points gives the notebooks' points")
    if report.error:
        lines.append(f"GRADING FAILED: {report.error}")
    lines += [f"note: {note}" for note in report.notes]
    return "\n".join(lines)


def results_json(report: Report, extra: bool) -> dict[str, Any]:
    report = report.one_lined()
    tests = []
    for result in report.results:
        score, max_score = report.case_points(result)
        test: dict[str, Any] = {
            "name": result.name,
            "number": result.task,
            "score": score,
            "max_score": max_score,
            "status": "passed" if result.passed else "failed",
            "output": case_output(result),
            "visibility": "visible",
        }
        if extra:
            test["extra_data"] = {"function": result.function, "case": result.case, "task": result.task}
            if result.task in report.points and report.points[result.task].notebook:
                test["extra_data"]["notebook"] = report.points[result.task].notebook
        tests.append(test)
    document: dict[str, Any] = {
        "score": report.score,
        "execution_time": round(report.seconds, 2),
        "output": _summary(report),
        "output_format": "text",
        "stdout_visibility": "hidden",
        "tests": tests,
    }
    if extra:
        document["extra_data"] = {
            "submission": report.submission,
            "max_score": report.max_score,
            "unit": unit(report),
            "tasks": {number: {"score": task.score, "max_score": task.points}
                      for number, task in report.tasks().items()},
            "protections": report.protections,
            "notes": report.notes,
            "diagnostics": report.diagnostics,
            "grader_error": report.error,
        }
    return document


def text(report: Report) -> str:
    report = report.one_lined()
    lines = [f"cs_conv autograder: {report.submission}", _summary(report), ""]
    for number, task in report.tasks().items():
        lines.append(f"{task.results[0].function} (task {number}): {_number(task.score)} / {_number(task.points)}")
        for result in task.results:
            mark = "PASS" if result.passed else "FAIL"
            detail = "" if result.passed else f": {case_output(result)}"
            lines.append(f"  {mark} {result.case}{detail}")
    lines += ["", "Sandbox:"] + [f"  {line}" for line in report.protections]
    lines += [f"  {line}" for line in report.diagnostics]
    lines.append(f"Graded in {report.seconds:.1f} s")
    return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    return f"{value:g}"
