"""Links and odd names, tried as a hostile student would: nothing is followed, nothing is changed.

Each test plants one attack in a submission whose other parts are honest, and checks that the
attacked part scores zero (or is refused) with a one-line reason, that another check or another
student keeps its points, and that nothing under the submissions or outside them changed (a
snapshot of every entry's ``lstat`` and contents, taken before and after). The attacks go through
``python -m autograder grade`` / ``grade-all`` and through nbgrader's own copy in
``nbgrader autograde`` (the code behind formgrader's buttons), which ``RefuseLinks`` cleans.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import nbformat
import pytest
from autograder_helpers import REPO, SOLVED, TEST_LIMITS, by_function, copy_solved, messages
from course_tools.fences import write_student_copy

from autograder.grade_all import find_submissions, grade_all
from autograder.report import render

sys.path.insert(0, str(REPO / "assignments"))
from course_tools import grading  # noqa: E402
from course_tools.cells import grade_id_for  # noqa: E402
from course_tools.nofollow_copy import Survey  # noqa: E402
from course_tools.notebooks.percent_source import build_notebook  # noqa: E402
from course_tools.release import nbgrader_env  # noqa: E402

ONLY = ["relu_forward", "adam"]  # one check in cs_conv/layers.py, one in cs_conv/optim.py; no build needed
SECRET = "ROOT-ONLY SECRET 7f3a"
FORGED = "Score: 999 "  # with the file " 999.py" inside, the path reads "...\nScore: 999 / 999.py"
ANSWER, RELU = "tiny_answer", grade_id_for("relu_forward")


def snapshot(*roots: Path) -> dict[str, tuple]:
    """Every entry under ``roots`` (links never followed): its lstat, and its contents or link target."""
    state = {}
    for root in roots:
        for folder, folders, files in os.walk(root):
            for path in [Path(folder)] + [Path(folder) / name for name in folders + files]:
                info = os.lstat(path)
                if path.is_symlink():
                    body: object = os.readlink(path)
                elif path.is_file():
                    body = hashlib.sha256(path.read_bytes()).hexdigest()
                else:
                    body = None
                state[os.fsencode(path).hex()] = (info.st_mode, info.st_uid, info.st_ino, info.st_nlink,
                                                  info.st_size, info.st_mtime_ns, body)
    return state


def score(report, function: str) -> float:
    return by_function(report)[function][0]


def full(report, function: str) -> bool:
    got, top = by_function(report)[function]
    return got == top > 0


def report_lines(report) -> list[str]:
    """Every line a person reads: the text report and the Gradescope summary and test outputs."""
    document = json.loads(render(report, "gradescope"))
    lines = render(report, "text").splitlines() + document["output"].splitlines()
    for test in document["tests"]:
        lines += test["output"].splitlines()
    return lines


@pytest.fixture
def solved_elsewhere(tmp_path: Path) -> Path:
    """A root-owned copy of the solved kit outside every submission, as a link's target."""
    return copy_solved(tmp_path / "solved-kit") / "cs_conv"


def blank(folder: Path) -> Path:
    write_student_copy(SOLVED, folder / "cs_conv")
    return folder


# -- python -m autograder grade: staging -------------------------------------------------------


def test_a_symlinked_layers_py_scores_zero_and_the_students_own_optim_keeps_its_points(
        grade_with, tmp_path, solved_elsewhere):
    submission = copy_solved(tmp_path / "alice")
    layers = submission / "cs_conv" / "layers.py"
    layers.unlink()
    layers.symlink_to(solved_elsewhere / "layers.py")
    before = snapshot(tmp_path)
    report = grade_with(submission, only=ONLY)
    assert score(report, "relu_forward") == 0
    assert any("No module named 'cs_conv.layers'" in m for m in messages(report, "relu_forward"))
    assert "ignored cs_conv/layers.py: a symbolic link, not a regular file or folder: links are never followed" \
        in report.notes
    assert full(report, "adam")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("target", ["repository", "elsewhere"])
def test_a_cs_conv_folder_that_is_a_link_is_never_entered(grade_with, tmp_path, solved_elsewhere, target):
    submission = tmp_path / "alice"
    submission.mkdir()
    (submission / "cs_conv").symlink_to(REPO / "cs_conv" if target == "repository" else solved_elsewhere)
    before = snapshot(tmp_path)
    report = grade_with(submission, only=ONLY)
    assert report.error is None and report.score == 0
    reason = "cs_conv in the submission is not a plain folder (a symbolic link or a file?)"
    assert set(messages(report, "relu_forward") + messages(report, "adam")) == {reason}
    assert snapshot(tmp_path) == before


def test_a_linked_folder_inside_cs_conv_scores_zero_and_the_rest_keeps_its_points(
        grade_with, tmp_path, solved_elsewhere):
    submission = blank(tmp_path / "alice")
    shutil.copyfile(SOLVED / "layers.py", submission / "cs_conv" / "layers.py")  # her own, finished
    classifiers = submission / "cs_conv" / "classifiers"
    shutil.rmtree(classifiers)
    classifiers.symlink_to(solved_elsewhere / "classifiers", target_is_directory=True)
    before = snapshot(tmp_path)
    report = grade_with(submission, only=["relu_forward", "three_layer_forward"])
    assert score(report, "three_layer_forward") == 0
    assert "ignored cs_conv/classifiers: a symbolic link, not a regular file or folder: links are never followed" \
        in report.notes
    assert full(report, "relu_forward")
    assert snapshot(tmp_path) == before


def test_a_hard_link_to_a_root_only_file_is_never_read(grade_with, tmp_path):
    secret = tmp_path / "root-only" / "layers.py"
    secret.parent.mkdir(mode=0o700)
    secret.write_text((SOLVED / "layers.py").read_text() + f"\n# {SECRET}\n")
    secret.chmod(0o600)
    submission = copy_solved(tmp_path / "alice")
    layers = submission / "cs_conv" / "layers.py"
    layers.unlink()
    os.link(secret, layers)
    before = snapshot(tmp_path)
    report = grade_with(submission, only=ONLY)
    assert score(report, "relu_forward") == 0
    assert any(note.startswith("ignored cs_conv/layers.py: has 2 hard links") for note in report.notes)
    assert full(report, "adam")
    assert SECRET not in render(report, "json") + render(report, "text")
    assert snapshot(tmp_path) == before


def test_names_with_invalid_utf8_or_a_forged_score_line_are_skipped_on_one_line(grade_with, tmp_path):
    submission = copy_solved(tmp_path / "alice")
    package = submission / "cs_conv"
    # Her optim.py under a name that is not UTF-8: not graded; layers.py is untouched and keeps its points.
    os.rename(package / "optim.py", os.fsdecode(bytes(package / "optim") + b"\xff.py"))
    forged = package / f"x\n{FORGED}"
    forged.mkdir()
    (forged / " 999.py").write_text("")
    (package / "notes\x1b[2J.py").write_text("")  # a terminal escape in a name
    before = snapshot(tmp_path)
    report = grade_with(submission, only=ONLY)
    assert score(report, "adam") == 0
    assert full(report, "relu_forward")
    assert "ignored cs_conv/optim\\xff.py: its name is not valid UTF-8" in report.notes
    assert "ignored cs_conv/x\\nScore: 999 : its name holds a control character (a newline?)" in report.notes
    assert "ignored cs_conv/notes\\x1b[2J.py: its name holds a control character (a newline?)" in report.notes
    lines = report_lines(report)
    total = f"Score: {report.score:g} / {report.max_score:g}"
    # The text report's line and Gradescope's summary, each naming the unit (no points table: case points).
    assert [line for line in lines if line.startswith("Score:")] == [f"{total} case points"] * 2
    assert all(line.isprintable() for line in lines)
    assert snapshot(tmp_path) == before


def test_a_special_file_is_refused_without_blocking(grade_with, tmp_path):
    submission = copy_solved(tmp_path / "alice")
    layers = submission / "cs_conv" / "layers.py"
    layers.unlink()
    os.mkfifo(layers)  # opening it for reading would wait for a writer forever
    before = snapshot(tmp_path)
    report = grade_with(submission, only=ONLY)
    assert score(report, "relu_forward") == 0
    assert "ignored cs_conv/layers.py: not a regular file: a named pipe, socket or device" in report.notes
    assert full(report, "adam")
    assert snapshot(tmp_path) == before


# -- python -m autograder grade-all: discovery ---------------------------------------------------


@pytest.fixture
def class_folder(tmp_path: Path) -> Path:
    """bob (solved) and carol (blank) are honest; everyone else attacks through a link or a name."""
    folder = tmp_path / "class"
    folder.mkdir()
    copy_solved(folder / "bob")
    blank(folder / "carol")
    (folder / "mallory").symlink_to(REPO, target_is_directory=True)  # the repository holds the solved cs_conv
    (folder / "eve").symlink_to("bob", target_is_directory=True)
    (folder / "trent").mkdir()
    (folder / "trent" / "copy").symlink_to("../bob", target_is_directory=True)
    (folder / "peggy").mkdir()
    (folder / "peggy" / "cs_conv").symlink_to("../bob/cs_conv", target_is_directory=True)
    (folder / "victor").mkdir()
    (folder / "victor" / "cnn").symlink_to(REPO, target_is_directory=True)
    (folder / "victor" / "notes").mkdir()  # beside the link, a plain folder without cs_conv
    copy_solved(Path(os.fsdecode(bytes(folder) + b"/walter\xff")))
    copy_solved(folder / f"x\n{FORGED}" / " 999")
    return folder


REFUSED = {
    "mallory": "refused: mallory: a symbolic link, not a regular file or folder: links are never followed",
    "eve": "refused: eve: a symbolic link, not a regular file or folder: links are never followed",
    "trent": "refused: trent/copy: a symbolic link, not a regular file or folder: links are never followed",
    "peggy": "refused: peggy/cs_conv: a symbolic link, not a regular file or folder: links are never followed",
    "victor": "refused: victor/cnn: a symbolic link, not a regular file or folder: links are never followed",
    "walter\\xff": "refused: walter\\xff: its name is not valid UTF-8",
    "x\\nScore: 999 ": "refused: x\\nScore: 999 : its name holds a control character (a newline?)",
}


def test_discovery_refuses_every_link_on_the_way_to_cs_conv(class_folder):
    before = snapshot(class_folder)
    found = {submission.student: submission for submission in find_submissions(class_folder)}
    assert {student: s.refused for student, s in found.items() if s.refused} == REFUSED
    assert found["bob"].path == class_folder / "bob" and found["carol"].path == class_folder / "carol"
    assert snapshot(class_folder) == before


def test_grade_all_refuses_linked_folders_and_grades_everyone_else(class_folder, tmp_path, grader_cache):
    before = snapshot(class_folder)
    options = ["--only", ",".join(ONLY), "--cache", str(grader_cache), "--case-timeout",
               str(TEST_LIMITS.case_seconds), "--submission-timeout", str(TEST_LIMITS.submission_seconds)]
    table = tmp_path / "grades.csv"
    grade_all(class_folder, 2, table, options, timeout=600)
    assert table.read_bytes().decode("utf-8").count("\n") == len(table.read_text().splitlines())
    with open(table, newline="") as handle:
        totals = {row["student"]: row for row in csv.DictReader(handle) if row["test"] == "TOTAL"}
    assert sorted(totals) == sorted([*REFUSED, "bob", "carol"])
    for student, reason in REFUSED.items():
        assert (totals[student]["score"], totals[student]["status"], totals[student]["output"]) == \
            ("0.0", "error", reason)
    assert float(totals["bob"]["score"]) == float(totals["bob"]["max_score"]) > 0
    assert (float(totals["carol"]["score"]), totals["carol"]["status"]) == (0.0, "graded")
    assert not any(line.startswith("Score:") for line in table.read_text().splitlines())
    assert snapshot(class_folder) == before


# -- nbgrader autograde: its own copy, cleaned by RefuseLinks ----------------------------------


def tiny_source(course: Path, with_kernel_check: bool) -> None:
    """source/cnn/tiny.ipynb: a grade cell for relu_forward, a written answer and, if asked, a cell
    that prints what the kernel can import."""
    kernel_check = ('# %% id="kernel_check"\nimport numpy as np\nimport cs_conv.layers as L\n'
                    "print('KERNEL', 'IMPORTED', L.relu_forward(np.array([-1.0, 2.0]))[0])\n\n")
    text = ((kernel_check if with_kernel_check else "") + '# %% autograde="relu_forward"\n\n'
            '# %% [markdown] id="answer_question"\n# **Question (1 point, graded by hand).** Why?\n\n'
            '# %% [markdown] id="answer" answer=1\n# Because.\n')
    (course / "source" / "cnn").mkdir(parents=True)
    nbformat.write(build_notebook(text, "tiny"), course / "source" / "cnn" / "tiny.ipynb")


PROBE = '''
class Probe(NbGraderPreprocessor):
    """Where the autograder and the kernel would start: record the copy they would read."""

    def preprocess(self, nb, resources):
        folder = Path(resources["metadata"]["path"])
        files = {}
        for top, folders, names in os.walk(folder):
            for name in folders + names:
                path = Path(top) / name
                files[os.fsencode(path.relative_to(folder)).hex()] = (
                    "link" if path.is_symlink() else path.read_text(errors="replace") if path.is_file() else "folder")
        record = {"files": files, "cells": [cell.source for cell in nb.cells]}
        out = Path(PROBES) / (resources["nbgrader"]["student"] + ".json")
        out.write_text(json.dumps(record))
        return nb, resources
'''


def nbgrader_course(tmp_path: Path, probe: bool, with_kernel_check: bool = False) -> Path:
    """A course folder whose nbgrader_config.py loads the real one; with ``probe``, the autograding
    steps (the autograder, the kernel) are replaced by a probe that records what they would read."""
    course = tmp_path / "course"
    course.mkdir()
    config = [f"load_subconfig({str(REPO / 'assignments' / 'nbgrader_config.py')!r})",
              f"c.CourseDirectory.root = {str(course)!r}"]
    if probe:
        (course / "probes").mkdir()
        config = ["import json, os", "from pathlib import Path",
                  "from nbgrader.preprocessors import NbGraderPreprocessor",
                  f"PROBES = {str(course / 'probes')!r}", textwrap.dedent(PROBE), *config,
                  "c.Autograde.autograde_preprocessors = [Probe]"]
    (course / "nbgrader_config.py").write_text("c = get_config()\n" + "\n".join(config) + "\n")
    tiny_source(course, with_kernel_check)
    code, log = nbgrader(course, "generate_assignment", "cnn", "--force")
    assert code == 0, log[-3000:]
    return course


def nbgrader(course: Path, *args: str) -> tuple[int, str]:
    """Plain nbgrader, run from the course folder as an instructor (or formgrader) would: exit code, log.

    The log goes through a file, not a pipe, whose reader would wait for every kernel that inherited it.
    """
    with tempfile.TemporaryFile("w+") as log:
        done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, stdin=subprocess.DEVNULL,
                              stdout=log, stderr=subprocess.STDOUT, text=True, env=nbgrader_env(), timeout=900)
        log.seek(0)
        return done.returncode, log.read()


def submit(course: Path, student: str, answer: str) -> Path:
    """submitted/<student>/cnn: the released notebook with ``answer`` written in."""
    folder = course / "submitted" / student / "cnn"
    folder.mkdir(parents=True)
    nb = nbformat.read(course / "release" / "cnn" / "tiny.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == ANSWER:
            cell.source = answer
    nbformat.write(nb, folder / "tiny.ipynb")
    return folder


def files(probe: dict) -> dict[str, str]:
    """The probe's record of the copy: relative name (escaped where it is not UTF-8) -> contents."""
    return {bytes.fromhex(name).decode("utf-8", "backslashreplace"): body for name, body in probe["files"].items()}


def test_nbgrader_autograde_never_copies_a_link_into_what_is_graded(tmp_path, solved_elsewhere):
    course = nbgrader_course(tmp_path, probe=True)
    bob = submit(course, "bob", "bob's own answer")
    (bob / "cs_conv").mkdir()
    (bob / "cs_conv" / "layers.py").write_text("# bob's own layers\n")
    alice = submit(course, "alice", "alice's answer")
    package = alice / "cs_conv"
    package.mkdir()
    (package / "optim.py").write_text("# alice's own optim\n")
    (package / "layers.py").symlink_to(solved_elsewhere / "layers.py")
    (package / "classifiers").symlink_to(solved_elsewhere / "classifiers", target_is_directory=True)
    secret = tmp_path / "root-only" / "secret.py"
    secret.parent.mkdir(mode=0o700)
    secret.write_text(f"# {SECRET}\n")
    secret.chmod(0o600)
    os.link(secret, package / "secret.py")
    Path(os.fsdecode(bytes(package / "odd") + b"\xff.py")).write_text("# not UTF-8\n")
    (package / f"x\n{FORGED}").mkdir()
    (package / f"x\n{FORGED}" / " 999.py").write_text("# forged\n")
    (alice / "tiny.ipynb").unlink()
    (alice / "tiny.ipynb").symlink_to("../../bob/cnn/tiny.ipynb")  # bob's written answer as hers
    (course / "submitted" / "mallory").mkdir()
    (course / "submitted" / "mallory" / "cnn").symlink_to("../bob/cnn", target_is_directory=True)
    before = snapshot(course / "submitted", solved_elsewhere, secret.parent)

    _, log = nbgrader(course, "autograde", "cnn", "--force")

    probes = {path.stem: json.loads(path.read_text()) for path in (course / "probes").glob("*.json")}
    assert sorted(probes) == ["alice", "bob"]  # mallory is refused before anything reads her copy
    seen = files(probes["alice"])
    notebook = seen.pop("tiny.ipynb")  # the sanitised notebook nbgrader wrote: it holds nothing of bob's
    assert seen == {"cs_conv": "folder", "cs_conv/optim.py": "# alice's own optim\n"}
    assert "bob's own answer" not in notebook
    assert not any("bob's own answer" in source for source in probes["alice"]["cells"])
    assert files(probes["bob"])["cs_conv/layers.py"] == "# bob's own layers\n"
    assert any("bob's own answer" in source for source in probes["bob"]["cells"])
    assert not (course / "autograded" / "mallory" / "cnn").exists()  # nbgrader deletes a failed copy
    assert "mallory/cnn is not graded: cnn is a symbolic link or not a folder" in log
    assert "cs_conv/layers.py: a symbolic link, not a regular file or folder: links are never followed" in log
    assert "cs_conv/secret.py: has 2 hard links" in log
    assert "cs_conv/x\\nScore: 999 : its name holds a control character" in log
    assert "tiny.ipynb is graded as an empty notebook" in log
    assert not any(line.startswith("Score:") for line in log.splitlines())
    assert SECRET not in log
    for path in (course / "autograded").rglob("*"):
        assert not path.is_symlink() and (not path.is_file() or SECRET not in path.read_text(errors="replace"))
    assert snapshot(course / "submitted", solved_elsewhere, secret.parent) == before


def test_make_grade_lists_what_it_will_not_grade_and_changes_nothing_under_submitted(tmp_path, solved_elsewhere):
    """``make grade`` used to delete links from submitted/; now it only says what RefuseLinks keeps out."""
    course = tmp_path / "course"
    alice = course / "submitted" / "alice" / "cnn"
    (alice / "cs_conv").mkdir(parents=True)
    (alice / "cs_conv" / "layers.py").symlink_to(solved_elsewhere / "layers.py")
    os.mkfifo(alice / "pipe")
    bob = course / "submitted" / "bob" / "cnn"
    bob.mkdir(parents=True)
    (bob / "notes.py").write_text("# bob's\n")
    (course / "submitted" / "mallory").mkdir()
    (course / "submitted" / "mallory" / "cnn").symlink_to("../bob/cnn", target_is_directory=True)
    before = snapshot(course, solved_elsewhere)
    who = grading.students(course)
    assert who == ["alice", "bob", "mallory"]
    surveys = grading.survey_submissions(course, who)
    assert surveys["alice"].lines() == [
        "cs_conv/layers.py: a symbolic link, not a regular file or folder: links are never followed",
        "pipe: not a regular file: a named pipe, socket or device"]
    assert surveys["bob"] == Survey()
    assert surveys["mallory"].problem == ("mallory/cnn is not graded: cnn is a symbolic link or not a folder "
                                          "(Not a directory), and links are never followed")
    assert snapshot(course, solved_elsewhere) == before


@pytest.mark.slow
def test_a_symlinked_layers_py_earns_nothing_through_nbgrader_autograde(tmp_path, solved_elsewhere):
    """The full pipeline (autograder, jailed kernel, verdicts, gradebook): alice's layers.py links to the
    solved file and scores zero, and her kernel cannot import it; bob's own solved copy scores full marks."""
    course = nbgrader_course(tmp_path, probe=False, with_kernel_check=True)
    bob = submit(course, "bob", "bob's answer")
    copy_solved(bob)
    alice = submit(course, "alice", "alice's answer")
    blank(alice)
    (alice / "cs_conv" / "layers.py").unlink()
    (alice / "cs_conv" / "layers.py").symlink_to(solved_elsewhere / "layers.py")
    before = snapshot(course / "submitted", solved_elsewhere)

    # Re-running the notebooks (not the default) is what puts the kernel's own import in the outputs.
    code, log = nbgrader(course, "autograde", "cnn", "--force", "--GradingMode.execute_notebooks=True")
    assert code == 0, log[-3000:]

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        points = {student: {grade.name: grade.score for grade in
                            gradebook.find_submission_notebook("tiny", "cnn", student).grades}
                  for student in ("alice", "bob")}
    assert (points["alice"][RELU], points["bob"][RELU]) == (0, 1)
    outputs = {student: (course / "autograded" / student / "cnn" / "tiny.ipynb").read_text()
               for student in ("alice", "bob")}
    assert "KERNEL IMPORTED [0. 2.]" in outputs["bob"]
    assert "KERNEL IMPORTED" not in outputs["alice"]
    assert snapshot(course / "submitted", solved_elsewhere) == before


# -- nbgrader collect: out of the exchange without following a link ----------------------------


def test_nbgrader_collect_never_copies_what_a_link_or_a_hard_link_points_to(tmp_path):
    secret = tmp_path / "root-only.txt"
    secret.write_text(SECRET)
    secret.chmod(0o600)
    course, exchange = tmp_path / "course", tmp_path / "exchange"
    course.mkdir()
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"load_subconfig({str(REPO / 'assignments' / 'nbgrader_config.py')!r})\n"
        f"c.CourseDirectory.root = {str(course)!r}\nc.Exchange.root = {str(exchange)!r}\n")
    inbound = exchange / "cs-conv" / "inbound"
    inbound.mkdir(parents=True)
    mallory = inbound / "mallory+cnn+2026-12-01 12:00:00.000000 UTC"
    (mallory / "cs_conv").mkdir(parents=True)
    (mallory / "timestamp.txt").write_text("2026-12-01 12:00:00.000000 UTC")
    (mallory / "cs_conv" / "optim.py").write_text("# mallory's own work\n")
    (mallory / "cs_conv" / "layers.py").symlink_to(SOLVED / "layers.py")
    (mallory / "stolen.txt").symlink_to(secret)
    os.link(secret, mallory / "hard.txt")
    bob = inbound / "bob+cnn+2026-12-01 12:00:00.000000 UTC"
    (bob / "cs_conv").mkdir(parents=True)
    (bob / "timestamp.txt").write_text("2026-12-01 12:00:00.000000 UTC")
    (bob / "cs_conv" / "layers.py").write_text("# bob's own work\n")
    before = snapshot(exchange)
    code, log = nbgrader(course, "collect", "cnn")
    assert code == 0, log[-3000:]
    collected = course / "submitted" / "mallory" / "cnn"
    assert (collected / "cs_conv" / "optim.py").read_text() == "# mallory's own work\n"
    for refused in ("cs_conv/layers.py", "stolen.txt", "hard.txt"):
        assert not os.path.lexists(collected / refused), refused
        assert refused.split("/")[-1] in log  # the instructor's log says what was left out
    assert all(SECRET not in path.read_text(errors="replace") for path in course.rglob("*") if path.is_file())
    assert (course / "submitted" / "bob" / "cnn" / "cs_conv" / "layers.py").read_text() == "# bob's own work\n"
    assert snapshot(exchange) == before
