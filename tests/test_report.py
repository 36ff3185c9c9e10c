"""autograder/report.py and autograder/points.py: the report's formats, in notebook points with a
points table and in case points without one."""

from __future__ import annotations

import pytest

from autograder import points
from autograder.report import results_json, text
from autograder.results import CaseResult, Report


def test_gradescope_json_has_exactly_the_schema_fields():
    report = Report("alice", [CaseResult("relu_forward", "float32", "1.3", 0.0, 1.0, "out has dtype float64, "
                                         "expected float32")], seconds=1.234)
    document = results_json(report, extra=False)
    assert set(document) == {"score", "execution_time", "output", "output_format", "stdout_visibility", "tests"}
    (test,) = document["tests"]
    assert set(test) == {"name", "number", "score", "max_score", "status", "output", "visibility"}
    assert test["name"] == "relu_forward: float32" and test["status"] == "failed"
    assert test["output"] == "out has dtype float64, expected float32"
    extended = results_json(report, extra=True)
    assert extended["tests"][0]["extra_data"] == {"function": "relu_forward", "case": "float32", "task": "1.3"}


def conv_forward_report(table: dict) -> Report:
    """Seven cases of conv_forward_naive (task 2.1), five passed, one of relu_forward (1.3), failed."""
    results = [CaseResult("conv_forward_naive", f"case {k}", "2.1", 1.0 if k < 5 else 0.0, 1.0,
                          "" if k < 5 else "out is wrong") for k in range(7)]
    results.append(CaseResult("relu_forward", "float32", "1.3", 0.0, 1.0, "out has dtype float64"))
    return Report("bob", results, points=points.parse(table))


def test_with_a_points_table_every_format_gives_the_notebooks_points():
    table = {"conv_forward_naive": {"task": "Notebook 02, task 2.1", "points": 6, "notebook": "02_convolution"},
             "relu_forward": {"task": "Notebook 01, task 1.3", "points": 1, "notebook": "01_vector_backprop"}}
    report = conv_forward_report(table)
    # 6 * 5/7 = 4.2857...: rounded to 2 places, as nbgrader then records the grade cell.
    assert report.tasks()["2.1"].score == 4.29 and report.score == 4.29 and report.max_score == 7
    document = results_json(report, extra=True)
    assert document["score"] == 4.29
    assert document["extra_data"]["tasks"] == {"2.1": {"score": 4.29, "max_score": 6.0},
                                               "1.3": {"score": 0.0, "max_score": 1.0}}
    assert document["extra_data"]["unit"] == "notebook points"
    first = document["tests"][0]
    assert (first["score"], first["max_score"]) == (0.8571, 0.8571)  # a case's share of its task's 6 points
    assert first["extra_data"]["notebook"] == "02_convolution"
    shown = text(report)
    assert "Score: 4.29 / 7 notebook points" in shown and "conv_forward_naive (task 2.1): 4.29 / 6" in shown
    assert document["output"].splitlines()[0] == "Score: 4.29 / 7 notebook points"


def test_without_a_points_table_each_case_is_a_point_and_the_report_says_so():
    report = conv_forward_report({})
    assert report.score == 5 and report.max_score == 8
    assert text(report).splitlines()[1] == "Score: 5 / 8 case points"
    assert "--points gives the notebooks' points" in text(report)


def test_a_points_table_that_cannot_be_used_says_why():
    with pytest.raises(points.PointsError, match="relu_forward: needs a \"task\""):
        points.parse({"relu_forward": {"points": 1}})
    with pytest.raises(points.PointsError, match="points must be 0 or more"):
        points.parse({"relu_forward": {"task": "Notebook 01, task 1.3", "points": -1}})
