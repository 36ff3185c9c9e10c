"""Judging survives anything a submission returns, names or edits (issue 11, defects 7, 8 and 10).

Each test is an attack. Values the judge cannot compute with (an integer no float holds,
NaN, a type of its own, a reply that lies about dtype or shape) fail the attacked case
with a one-line reason while the other cases, another check and the next submission are
graded as usual. Names, messages and type names written to forge report lines (``Score:
999 / 999``) come out escaped on one line in every format. Forged nbgrader metadata, run
through nbgrader's own preprocessors in the configured order, gives the grade the student
would have had without it.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import io
import json
import math
import os
import sys
import warnings
from pathlib import Path

import nbformat
import numpy as np
import pytest
from autograder_helpers import REPO, apply_patches, by_function, copy_solved, messages
from hypothesis import given, settings
from hypothesis import strategies as st
from nbgrader import preprocessors as nbgrader_steps
from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning
from traitlets.config.loader import PyFileConfigLoader

from autograder import catalog, judge
from autograder.grade_all import FIELDS, Outcome, rows
from autograder.protocol import PREFIX, ProtocolError, decode_body, encode
from autograder.report import render
from autograder.student import decode_value

sys.path.insert(0, str(REPO / "assignments"))

from course_tools.verdicts import (  # noqa: E402
    ApplyVerdicts,
    AutograderError,
    StripForgedCells,
    run_autograder,
    submission_digest,
    verdict_text,
)

FORGED = "Score: 999 / 999"


def at_start_of(function: str, code: str) -> list[tuple[str, str, str]]:
    """A patch of cs_conv/layers.py that runs ``code`` first thing in ``function`` (before its docstring)."""
    header = f"def {function}("
    text = (REPO / "cs_conv" / "layers.py").read_text()
    line = text[text.index(header):].split("\n", 1)[0] + "\n"
    body = "".join(f"    {row}\n" for row in code.strip("\n").splitlines())
    return [("layers.py", line, line + body)]


def case_messages(report, function: str) -> dict[str, str]:
    return {r.case: r.message for r in report.results if r.function == function}


# ---------------------------------------------------------------- values no judge can compute with

# softmax_loss answers each case (told apart by its batch size) with a value of its own.
HOSTILE_LOSSES = at_start_of("softmax_loss", """
class Evil:
    pass
Evil.__name__ = "Evil\\nScore: 999 / 999"
hostile = {3: 10**400, 6: float("nan"), 4: -10**400, 1: Evil(), 5: float("inf")}
return hostile.get(x.shape[0], 10**400), np.zeros(x.shape)
""")


def test_values_the_judge_cannot_use_fail_their_case_and_the_next_submission_is_graded(
        make_submission, grade_with, solved_submission):
    report = grade_with(make_submission(HOSTILE_LOSSES), only=["softmax_loss", "adam"])
    assert report.error is None, report.error
    assert by_function(report)["softmax_loss"][0] == 0
    assert by_function(report)["adam"][0] == by_function(report)["adam"][1], messages(report, "adam")
    found = " | ".join(messages(report, "softmax_loss"))
    assert "integer of 401 digits, too large for a float" in found
    assert "loss has inf or nan entries" in found
    assert "loss is a Evil" in found and "expected a float" in found
    for fmt in ("text", "json", "gradescope"):
        render(report, fmt)  # every format writes the report out
    again = grade_with(solved_submission, only=["softmax_loss"])
    assert again.error is None and by_function(again)["softmax_loss"][0] == by_function(again)["softmax_loss"][1]


def test_a_case_whose_judging_raises_fails_alone(grade_with, solved_submission, monkeypatch):
    # Whatever a judge meets that it cannot compute with, past every check made so far: the
    # case judging it fails with a reason, the next case gets a fresh process, grading goes on.
    relu = next(c for c in catalog.CATALOG if c.function == "relu_forward")
    adam = next(c for c in catalog.CATALOG if c.function == "adam")

    def overflowing(ctx):
        ctx.call("relu_forward", np.ones(3))
        float(10**400)  # what judging a huge int loss did before the protocol refused them

    cases = (dataclasses.replace(relu.cases[0], name="judged with an overflow", body=overflowing), *relu.cases)
    monkeypatch.setattr(catalog, "CATALOG", (dataclasses.replace(relu, cases=cases), adam))
    report = grade_with(solved_submission, only=["relu_forward", "adam"])
    assert report.error is None, report.error
    results = case_messages(report, "relu_forward")
    assert results.pop("judged with an overflow") == judge.could_not_judge(OverflowError())
    assert all(message == "" for message in results.values()), results
    assert by_function(report)["adam"][0] == by_function(report)["adam"][1]
    assert any("judged with an overflow: judging raised OverflowError" in line for line in report.diagnostics)


# ---------------------------------------------------------------- lies about dtype, shape and length


def decode(header: dict, payload: bytes):
    """What the parent makes of a reply frame with this header and payload: its value, decoded."""
    decoded = decode_body(json.dumps(header).encode(), payload)
    return decode_value(decoded.header["value"], decoded.arrays)


FLOAT64 = np.arange(6.0)
NODE = {"$t": "array", "type": "ndarray", "i": 0}
FORGED_FRAMES = [
    # float64 bytes declared float32, same shape: half the payload is unaccounted for
    ({"arrays": [{"dtype": "float32", "shape": [6]}], "value": {**NODE, "dtype": "float32", "shape": [6]}},
     FLOAT64.tobytes(), "bytes no array accounts for"),
    # ... and with the shape doubled to fit: the value's own shape no longer matches
    ({"arrays": [{"dtype": "float32", "shape": [12]}], "value": {**NODE, "dtype": "float32", "shape": [6]}},
     FLOAT64.tobytes(), "shape does not match its data"),
    # a payload shorter than its arrays
    ({"arrays": [{"dtype": "float64", "shape": [7]}], "value": {**NODE, "dtype": "float64", "shape": [7]}},
     FLOAT64.tobytes(), "needs 56 bytes, 48 are left"),
    # a shape numpy refuses although it holds nothing
    ({"arrays": [{"dtype": "float64", "shape": [0, 2**39, 2**39, 2**39]}],
      "value": {**NODE, "dtype": "float64", "shape": [0, 2**39, 2**39, 2**39]}},
     b"", "shape too large"),
    # an integer no float can hold, anywhere in the header
    ({"arrays": [], "value": {"$t": "int", "v": 10**400, "type": "int"}}, b"", "too large for a float"),
]


@pytest.mark.parametrize("header, payload, reason", FORGED_FRAMES)
def test_a_frame_that_lies_about_its_arrays_is_refused(header, payload, reason):
    with pytest.raises(ProtocolError, match=reason):
        decode(header, payload)


def test_a_float64_answer_labelled_float32_is_judged_float64():
    # The frame is honest (float64 bytes declared float64) but the value says float32.
    value = decode({"arrays": [{"dtype": "float64", "shape": [6]}],
                    "value": {**NODE, "dtype": "float32", "shape": [6]}}, FLOAT64.tobytes())
    with pytest.raises(judge.Fail, match="out has dtype float64, expected float32"):
        judge.array(value, "out", (6,), np.float32)


@settings(max_examples=300, deadline=None)
@given(dtype=st.sampled_from(["float64", "float32", "float16", "int8", "uint64", "bool"]),
       shape=st.lists(st.integers(min_value=0, max_value=2**45), max_size=6),
       payload=st.binary(max_size=96))
def test_any_declared_array_decodes_exactly_its_bytes_or_is_refused(dtype, shape, payload):
    try:
        decoded = decode_body(json.dumps({"arrays": [{"dtype": dtype, "shape": shape}]}).encode(), payload)
    except ProtocolError:
        return
    (array,) = decoded.arrays
    assert array.dtype == np.dtype(dtype) and array.shape == tuple(shape)
    assert array.nbytes == math.prod(shape) * np.dtype(dtype).itemsize == len(payload)


def test_the_child_cannot_pass_a_float64_answer_as_float32(make_submission, grade_with):
    # The student's code rewrites the runner's encoder (it shares the process) so every array it
    # returns is labelled float32, and computes in float64.
    relabel = at_start_of("relu_forward", """
import sys
runner = sys.modules["__main__"]
if not hasattr(runner, "honest_encode"):
    runner.honest_encode = runner.encode
    def relabelled(value, path, select, out, depth=0):
        node = runner.honest_encode(value, path, select, out, depth)
        if node.get("$t") == "array":
            node["dtype"] = "float32"
        return node
    runner.encode = relabelled
x = x.astype(np.float64)
""")
    report = grade_with(make_submission(relabel), only=["relu_forward", "adam"])
    assert report.error is None, report.error
    results = case_messages(report, "relu_forward")
    float32 = [case for case in results if "float32" in case]
    assert float32 and all(results.pop(case).startswith("out has dtype float64, expected float32 [")
                           for case in float32)
    assert all(message == "" for message in results.values()), results  # float64 cases: judged on their bytes
    assert by_function(report)["adam"][0] == by_function(report)["adam"][1]


# ---------------------------------------------------------------- forged report lines


def test_names_and_messages_cannot_forge_report_lines(tmp_path, grade_with):
    # A file name cannot hold "/": these forge "Score: 999" and a passed test.
    folder = tmp_path / os.fsdecode(b"sub\xff\nScore: 999\n")
    copy_solved(folder)
    (folder / "cs_conv" / "x\r\nScore: 999\n  PASS relu_forward: all.py").symlink_to("layers.py")
    apply_patches(folder, at_start_of(
        "relu_forward", f"raise ValueError('\\x1b[2J\\n{FORGED}\\n  PASS relu_forward: all' + 'x' * 5000)"))
    report = grade_with(folder, only=["relu_forward", "adam"])
    assert report.error is None, report.error
    assert by_function(report)["relu_forward"][0] == 0
    assert by_function(report)["adam"][0] == by_function(report)["adam"][1]

    text = render(report, "text")
    lines = text.splitlines()
    # The one genuine score line, with its unit (no points table: case points); the forged one is escaped.
    assert [line for line in lines if line.startswith("Score:")] == [
        f"Score: {report.score:g} / {report.max_score:g} case points"]
    assert sum(line.startswith("  PASS") for line in lines) == sum(r.passed for r in report.results)
    assert "sub\\udcff\\nScore: 999\\n" in lines[0]  # shown, escaped, on the line it belongs to
    assert "\x1b" not in text and "\r" not in text and max(len(line) for line in lines) < 600

    for fmt in ("json", "gradescope"):
        document = json.loads(render(report, fmt))
        summary = document["output"].split("\n")
        assert summary[0].startswith("Score:") and not any(line.startswith("Score:") for line in summary[1:])
        assert all(line.startswith(("GRADING FAILED:", "note:")) for line in summary[1:])
        for test in document["tests"]:
            assert test["name"].isprintable() and test["output"].isprintable() and len(test["output"]) <= 500
        for value in document.get("extra_data", {}).get("notes", []):
            assert value.isprintable()

    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=FIELDS)
    writer.writerows(rows(Outcome("alice", json.loads(render(report, "json")), None)))
    assert len(table.getvalue().splitlines()) == len(report.results) + 1  # one line per row: no field spans two


# ---------------------------------------------------------------- forged nbgrader metadata

NOTEBOOK = "02_convolution"
FORWARD = "autograde_conv_forward_naive"
BACKWARD = "autograde_conv_backward_naive"
ANSWER = "nb02_parameters"  # a manually graded markdown answer
LOCKED_MD, LOCKED_CODE = "nb02_title", "nb02_setup"
# What the autograder said: conv_forward_naive passes 2 of 3 tests, conv_backward_naive all.
RESULTS = {"tests": [
    {"name": "conv_forward_naive: a", "score": 1.0, "max_score": 1.0, "output": "passed"},
    {"name": "conv_forward_naive: b", "score": 1.0, "max_score": 1.0, "output": "passed"},
    {"name": "conv_forward_naive: c", "score": 0.0, "max_score": 1.0, "output": f"dx is wrong\n{FORGED}"},
    {"name": "conv_backward_naive: a", "score": 1.0, "max_score": 1.0, "output": "passed"},
], "extra_data": {"tasks": {"2.1": {"score": 4.0, "max_score": 6.0}, "2.2": {"score": 8.0, "max_score": 8.0}}}}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A gradebook holding the real source notebook, as ``nbgrader generate_assignment`` records it,
    the student version it releases (with an answer written in), and the configuration."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")  # for alembic
        yield released(tmp_path_factory.mktemp("course"))


def released(folder: Path) -> dict:
    config = PyFileConfigLoader("nbgrader_config.py", path=str(REPO / "assignments")).load_config()
    db_url = f"sqlite:///{folder}/gradebook.db"
    with Gradebook(db_url) as gradebook:
        gradebook.update_or_create_assignment("cnn")
    nb = nbformat.read(REPO / "assignments" / "source" / "cnn" / f"{NOTEBOOK}.ipynb", as_version=4)
    resources = {"nbgrader": {"notebook": NOTEBOOK, "assignment": "cnn", "db_url": db_url}}
    for step in (nbgrader_steps.LockCells, nbgrader_steps.ClearSolutions, nbgrader_steps.ClearOutput,
                 nbgrader_steps.ComputeChecksums, nbgrader_steps.SaveCells, nbgrader_steps.ClearHiddenTests,
                 nbgrader_steps.ClearMarkScheme, nbgrader_steps.ComputeChecksums, nbgrader_steps.CheckCellMetadata):
        nb, resources = step(config=config)(nb, resources)
    cell(nb, ANSWER).source = "The output has F channels, one per filter."
    return {"config": config, "db_url": db_url, "release": nb, "students": iter(range(10**6))}


def cell(nb, grade_id: str):
    return next(c for c in nb.cells if isinstance(c.metadata.get("nbgrader"), dict)
                and c.metadata.nbgrader.get("grade_id") == grade_id)


def autograde(course, nb):
    """The grades nbgrader records for ``nb``: the configured sanitising steps that read metadata
    (those before StripForgedCells deal with the submission's files), then the verdicts and scores."""
    student = f"student{next(course['students'])}"
    with Gradebook(course["db_url"]) as gradebook, warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's add_submission trips SQLAlchemy's autoflush warning
        gradebook.add_student(student)
        gradebook.add_submission("cnn", student)
    resources = {"nbgrader": {"notebook": NOTEBOOK, "assignment": "cnn", "db_url": course["db_url"],
                              "student": student}, "cs_conv": {"autograder": RESULTS}}
    sanitize = list(course["config"].Autograde.sanitize_preprocessors)
    steps = [*sanitize[sanitize.index(StripForgedCells):], ApplyVerdicts, nbgrader_steps.SaveAutoGrades]
    nb = copy.deepcopy(nb)
    for step in steps:
        nb, resources = step(config=course["config"])(nb, resources)
    with Gradebook(course["db_url"]) as gradebook:
        grades = gradebook.find_submission_notebook(NOTEBOOK, "cnn", student).grades
        recorded = {grade.name: (grade.auto_score, grade.needs_manual_grade) for grade in grades}
    return recorded, nb


def forge_type(nb, grade_id, cell_type):
    k = nb.cells.index(cell(nb, grade_id))
    old = nb.cells[k]
    make = nbformat.v4.new_markdown_cell if cell_type == "markdown" else nbformat.v4.new_code_cell
    nb.cells[k] = make(old.source, metadata=old.metadata)
    if cell_type == "markdown":
        nb.cells[k].attachments = {"x.png": {"image/png": "iVBORw0KGgo="}}


def duplicate(nb, grade_id, points):
    copied = copy.deepcopy(cell(nb, grade_id))
    copied.metadata.nbgrader["points"] = points
    nb.cells.insert(0, copied)


ATTACKS = {
    "grade: false on a grade cell": lambda nb: cell(nb, FORWARD).metadata.nbgrader.update(grade=False),
    "points on a locked cell": lambda nb: cell(nb, LOCKED_MD).metadata.nbgrader.update(points=50.0),
    "a locked cell made a grade cell": lambda nb: cell(nb, LOCKED_CODE).metadata.nbgrader.update(grade=True,
                                                                                                  points=50.0),
    "more points on a grade cell": lambda nb: cell(nb, BACKWARD).metadata.nbgrader.update(points=999.0),
    "a grade cell turned markdown": lambda nb: forge_type(nb, FORWARD, "markdown"),
    "an answer turned code": lambda nb: forge_type(nb, ANSWER, "code"),
    "an answer no longer a solution": lambda nb: cell(nb, ANSWER).metadata.nbgrader.update(solution=False),
    "changed grade_id": lambda nb: cell(nb, FORWARD).metadata.nbgrader.update(grade_id="mine"),
    "a grade_id that is not text": lambda nb: cell(nb, FORWARD).metadata.nbgrader.update(grade_id=["x"]),
    "duplicated id": lambda nb: duplicate(nb, FORWARD, 99.0),
    "a made-up grade cell without an id": lambda nb: nb.cells.insert(0, nbformat.v4.new_code_cell(
        "print(1)", metadata={"nbgrader": {"grade": True, "points": 9.0}})),
    "metadata that is not an object": lambda nb: cell(nb, LOCKED_MD).metadata.update(nbgrader=[1]),
    "an old schema version": lambda nb: cell(nb, FORWARD).metadata.nbgrader.update(schema_version=1),
}


@pytest.mark.parametrize("attack", ATTACKS)
def test_forged_nbgrader_metadata_is_repaired_not_trusted(course, attack):
    forged = copy.deepcopy(course["release"])
    ATTACKS[attack](forged)
    grades, graded = autograde(course, forged)
    honest, _ = autograde(course, course["release"])  # the next submission, untouched
    assert honest == {FORWARD: (4.0, False), BACKWARD: (8.0, False), ANSWER: (None, True), "nb02_stride": (0.0, False)}
    assert grades == honest
    assert cell(graded, ANSWER).source == cell(course["release"], ANSWER).source  # the answer is kept


def test_a_verdict_cell_shows_a_forged_line_escaped(course):
    _, graded = autograde(course, course["release"])
    verdict = cell(graded, FORWARD).outputs[0].text
    assert not any(line.lstrip().startswith("Score:") for line in verdict.splitlines())
    assert f"dx is wrong\\n{FORGED}" in verdict
    assert verdict == verdict_text("conv_forward_naive", RESULTS["tests"][:3], 6.0, 4.0)


# ---------------------------------------------------------------- file names that are not UTF-8


def test_a_file_name_that_is_not_utf8_does_not_stop_verdicts(tmp_path):
    folder = copy_solved(tmp_path / "submission")
    before = submission_digest(folder)
    (folder / "cs_conv" / os.fsdecode(b"\xff\xfe\nevil.py")).write_bytes(b"x = 1\n")
    assert submission_digest(folder) != before
    complaining = [sys.executable, "-c", "import sys; sys.stderr.buffer.write(b'bad \\xff name'); sys.exit(1)"]
    with pytest.raises(AutograderError, match="grading process died: bad \ufffd name"):
        run_autograder(folder, complaining, timeout=60, seed=1)


def test_frames_the_grader_writes_still_decode():
    # The hardening refuses lies, not honest frames: every allowlisted dtype, empty arrays included.
    arrays = [np.zeros((0, 3), np.float32), np.arange(4, dtype=np.uint64), np.array(True)]
    data = encode({"ok": True, "value": {"$t": "int", "v": 2**1000, "type": "int"}}, arrays)
    header_len = PREFIX.unpack(data[:PREFIX.size])[1]
    decoded = decode_body(data[PREFIX.size:PREFIX.size + header_len], data[PREFIX.size + header_len:])
    assert decoded.header["value"]["v"] == 2**1000
    assert [a.dtype for a in decoded.arrays] == [a.dtype for a in arrays]
