"""Units of the course tools: points, verdict text, leak scan, planted bugs."""

import copy
import json
import os
import sys
import warnings
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "assignments"))

from course_tools import autograder_service, verdicts  # noqa: E402
from course_tools.cells import autograded_cell, function_for, grade_id_for  # noqa: E402
from course_tools.fences import student_text  # noqa: E402
from course_tools.leaks import fenced_lines, find_leaks  # noqa: E402
from course_tools.notebooks.percent_source import build_notebook  # noqa: E402
from course_tools.samples import BUGS, UNFINISHED, plant, solved_sources  # noqa: E402

from cs_conv.tasks import TASKS  # noqa: E402


def make_test(name, score, max_score=1, task=None):
    data = {"name": name, "score": score, "max_score": max_score, "status": "passed" if score else "failed",
            "output": f"message for {name}", "visibility": "visible"}
    if task:
        data["extra_data"] = {"task": task}
    return data


RESULTS = {"tests": [
    make_test("conv_forward_naive: stride 1", 1, task="2.1"),
    make_test("conv_forward_naive: stride 2, pad 1", 0, task="2.1"),
    make_test("conv_forward_naive: groups 2", 2, max_score=2, task="2.1"),
    make_test("conv_backward_naive: stride 2", 0, task="2.2"),
    make_test("im2col_cython: rectangular kernel", 1, task="4.1"),
    make_test("im2col_cython: dilation 2", 0, task="4.1"),
    make_test("col2im_cython: rectangular kernel", 1, task="4.2"),
]}


def test_a_grade_cell_takes_the_tests_named_as_the_task_table_says():
    assert [t["name"] for t in verdicts.cases_for(RESULTS, "conv_forward_naive")] == [
        "conv_forward_naive: stride 1", "conv_forward_naive: stride 2, pad 1", "conv_forward_naive: groups 2"]
    # The Cython kernels' tests are named after the wrappers they are called through (cs_conv.tasks).
    assert [t["name"] for t in verdicts.cases_for(RESULTS, "im2col_kernel")] == [
        "im2col_cython: rectangular kernel", "im2col_cython: dilation 2"]
    assert len(verdicts.cases_for(RESULTS, "col2im_kernel")) == 1
    assert verdicts.cases_for(RESULTS, "relu_forward") == []


def test_a_grade_cell_scores_what_the_report_gives_its_task():
    report = {**RESULTS, "extra_data": {"tasks": {"2.1": {"score": 4.5, "max_score": 6.0},
                                                  "4.2": {"score": 5.0, "max_score": 5.0}}}}
    assert verdicts.cell_score(report, "conv_forward_naive", 6) == 4.5
    assert verdicts.cell_score(report, "col2im_kernel", 5) == 5
    assert verdicts.cell_score(report, "relu_forward", 1) == 0, "no test judged it"
    with pytest.raises(verdicts.AutograderError, match="out of 6.0, but its grade cell is worth 8"):
        verdicts.cell_score(report, "conv_forward_naive", 8)


def test_verdict_text_names_every_case_and_explains_failures():
    tests = verdicts.cases_for(RESULTS, "conv_forward_naive")
    text = verdicts.verdict_text("conv_forward_naive", tests, 6, 4.5)
    assert text.startswith("Autograder verdict for conv_forward_naive: 4.5 of 6 points (2 of 3 tests passed).")
    assert "passed  stride 1" in text and "FAILED  stride 2, pad 1" in text
    assert "message for conv_forward_naive: stride 2, pad 1" in text
    assert "message for conv_forward_naive: stride 1" not in text   # passing cases stay short
    assert "no tests judged" in verdicts.verdict_text("relu_forward", [], 1, 0)


def test_grade_ids_round_trip_and_reject_unknown_functions():
    for function in TASKS:
        assert function_for(grade_id_for(function)) == function
    assert function_for("nb01_title") is None and function_for("autograde_nonsense") is None
    with pytest.raises(ValueError, match="not a student function"):
        autograded_cell("nonsense")


def test_every_planted_bug_still_applies_exactly_once():
    sources = solved_sources()
    for bug in BUGS:
        changed = plant(sources[bug.path], bug)
        assert changed != sources[bug.path] and bug.new in changed
    for relative, text in sources.items():
        stubbed = student_text(text, relative, unfinished=UNFINISHED)
        markers = [line for line in stubbed.splitlines() if line.strip().startswith(("### BEGIN", "### END"))]
        assert markers == [], f"{relative}: {markers}"


def test_leak_scan_finds_planted_leaks(tmp_path):
    release = tmp_path / "release"
    (release / "cs_conv").mkdir(parents=True)
    (release / "cs_conv" / "layers.py").write_text((REPO / "cs_conv" / "layers.py").read_text())
    (release / "cs_conv" / "im2col_cython.pyx").write_text("pass\n")
    (release / "cs_conv" / "im2col_cython.c").write_text("/* generated */\n")
    (release / "grader.py").write_bytes((REPO / "autograder" / "cli.py").read_bytes())
    source = tmp_path / "source"
    source.mkdir()
    nb = build_notebook('# %% [markdown] id="q_question"\n# **Question (1 point, graded by hand).** Why?\n\n'
                        '# %% [markdown] id="q" answer=1\n'
                        '# The secret model answer, long enough to be recognised.\n', "t")
    nbformat.write(nb, source / "01.ipynb")
    leaked = copy.deepcopy(nb)
    leaked.cells.append(nbformat.v4.new_code_cell("1", outputs=[nbformat.v4.new_output("stream", text="x")]))
    nbformat.write(leaked, release / "01.ipynb")
    findings = "\n".join(find_leaks(release, source))
    assert "delimiter line '### BEGIN SOLUTION'" in findings
    assert "solution line" in findings
    assert "identical to autograder/cli.py" in findings
    assert "model answer" in findings
    assert "has outputs" in findings
    assert "im2col_cython.c: a build product" in findings


def test_leak_scan_knows_the_solution_lines():
    lines = fenced_lines(REPO / "cs_conv")
    assert any("dxpad" in line for line in lines)
    assert all(len(line) >= 20 for line in lines)


def stand_in_serve(body: str) -> str:
    """A stand-in ``autograder serve``: for each request line, ``body`` (which has ``request``), then
    the answer line."""
    return ("import json, sys\nfor line in sys.stdin:\n    request = json.loads(line)\n"
            + "".join(f"    {statement}\n" for statement in body.splitlines())
            + "    print(json.dumps({'ok': True}), flush=True)\n")


@pytest.fixture
def own_services():
    yield
    autograder_service.stop_all()


def test_the_run_seed_and_the_graders_diagnostics_go_to_the_instructors_log(tmp_path, own_services):
    fake = tmp_path / "fake_autograder.py"
    fake.write_text(stand_in_serve("json.dump({'tests': [], 'score': 0, 'extra_data': {'diagnostics': "
                                   "['build: cache hit in 0.1 s']}}, open(request['out'], 'w'))"))
    log = tmp_path / "student.log"
    results = verdicts.run_autograder(tmp_path, [sys.executable, str(fake)], timeout=60, seed=123456789, log=log)
    assert "run seed 123456789" in log.read_text() and "build: cache hit in 0.1 s" in log.read_text()
    assert "123456789" not in json.dumps(results)


def test_one_autograder_process_judges_a_run_on_one_seed(tmp_path, own_services):
    fake = tmp_path / "fake_autograder.py"
    fake.write_text(stand_in_serve("json.dump({'tests': [], 'score': 0, 'output': [os.getpid(), request['seed']]}, "
                                   "open(request['out'], 'w'))").replace("import json, sys", "import json, os, sys"))
    folders = [tmp_path / name for name in ("ann", "bob")]
    for folder in folders:
        folder.mkdir()
    command = [sys.executable, str(fake)]
    step = verdicts.RunAutograder()
    judged = [verdicts.run_autograder(folder, command, 60, step._run_seed)["output"] for folder in folders]
    assert judged[0] == judged[1], "the second student went to the same process, on the same seed"
    assert verdicts.RunAutograder()._run_seed != step._run_seed, "another step (a submission) draws another seed"


def test_a_fixed_grader_judges_a_submission_again_instead_of_serving_its_cached_verdict(tmp_path, monkeypatch,
                                                                                         own_services):
    # A stand-in repository whose autograder says which version of it judged, and counts its runs.
    repo = tmp_path / "repo"
    (repo / "autograder").mkdir(parents=True)
    (repo / "autograder" / "__init__.py").write_text("")
    main = repo / "autograder" / "__main__.py"

    def grader(version: str) -> str:
        report = f"{{'tests': [], 'score': 0, 'output': {version!r}}}"
        return stand_in_serve(f"json.dump({report}, open(request['out'], 'w'))\n"
                              f"open({str(tmp_path / 'runs')!r}, 'a').write('run\\n')")
    main.write_text(grader("grader 1"))
    monkeypatch.setattr(verdicts, "REPO", repo)
    submission = tmp_path / "submission"
    (submission / "cs_conv").mkdir(parents=True)
    (submission / "cs_conv" / "layers.py").write_text("x = 1\n")
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")  # for alembic
    db_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(db_url) as gradebook:  # as generate_assignment leaves it: one autograded cell
        gradebook.update_or_create_assignment("cnn")
        gradebook.update_or_create_notebook("01", "cnn")
        gradebook.update_or_create_grade_cell(grade_id_for("relu_forward"), "01", "cnn", max_score=1,
                                              cell_type="code")
    step = verdicts.RunAutograder(results_dir=str(tmp_path / "verdicts"))
    resources = {"metadata": {"path": str(submission)},
                 "nbgrader": {"db_url": db_url, "assignment": "cnn", "student": "s"}}

    def judge() -> tuple[str, int]:
        """Run the step as nbgrader does for a notebook: (who judged, how many runs so far)."""
        _, out = step.preprocess(nbformat.v4.new_notebook(), copy.deepcopy(resources))
        return out["cs_conv"]["autograder"]["output"], len((tmp_path / "runs").read_text().splitlines())

    assert judge() == ("grader 1", 1)
    assert judge() == ("grader 1", 1), "the same submission and grader are judged once"
    main.write_text(grader("grader 2 (a bad case fixed)"))
    assert judge() == ("grader 2 (a bad case fixed)", 2), "the old grader's cached verdict was served"
    step.seed = 7
    assert judge() == ("grader 2 (a bad case fixed)", 3), "another seed setting judges again"
    (submission / "cs_conv" / "layers.py").write_text("x = 2\n")
    assert judge()[1] == 4
    with Gradebook(db_url) as gradebook:  # the instructor changed the cell's points
        gradebook.update_or_create_grade_cell(grade_id_for("relu_forward"), "01", "cnn", max_score=2,
                                              cell_type="code")
    assert judge()[1] == 5


def test_a_conversion_reads_its_source_cells_once_and_the_next_conversion_afresh(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")  # for alembic
    db_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    name = grade_id_for("relu_forward")

    def release(points: float) -> None:
        with Gradebook(db_url) as gradebook:
            gradebook.update_or_create_assignment("cnn")
            gradebook.update_or_create_notebook("01", "cnn")
            gradebook.update_or_create_grade_cell(name, "01", "cnn", max_score=points, cell_type="code")
            gradebook.update_or_create_source_cell(name, "01", "cnn", source="# relu", cell_type="code",
                                                   locked=True)

    release(1)
    resources = {"nbgrader": {"db_url": db_url, "assignment": "cnn", "notebook": "01", "student": "s"}}
    cells = verdicts.conversion_source_cells(resources)
    assert cells == verdicts.source_cells(resources["nbgrader"])
    assert cells[name].nbgrader["points"] == 1.0
    release(2)  # the instructor regenerates the assignment while formgrader runs
    assert verdicts.conversion_source_cells(resources) is cells, "the steps of one conversion share one reading"
    next_conversion = {"nbgrader": dict(resources["nbgrader"])}
    assert verdicts.conversion_source_cells(next_conversion)[name].nbgrader["points"] == 2.0
    resources["nbgrader"]["notebook"] = "02"
    assert verdicts.conversion_source_cells(resources) is None, "a reading is for the notebook it was made for"


def release_cells(db_url: str, cells: dict[str, dict[str, tuple[float, str]]]) -> None:
    """The gradebook as ``nbgrader generate_assignment cnn`` leaves it: for each notebook, its grade cells'
    points and types (by grade id); a cell released before and not given again keeps its entry."""
    with Gradebook(db_url) as gradebook:
        gradebook.update_or_create_assignment("cnn")
        for notebook, grade_cells in cells.items():
            gradebook.update_or_create_notebook(notebook, "cnn")
            for name, (points, cell_type) in grade_cells.items():
                gradebook.update_or_create_grade_cell(name, notebook, "cnn", max_score=points, cell_type=cell_type)


def points_by_notebook(db_url: str) -> dict:
    """``points_table`` as it was read before it was one query: nbgrader's notebooks, then each one's cells."""
    table = {}
    with Gradebook(db_url) as gradebook:
        for notebook in gradebook.find_assignment("cnn").notebooks:
            for cell in notebook.grade_cells:
                function = function_for(cell.name)
                if function is not None and cell.cell_type == "code":
                    table[function] = {"notebook": notebook.name, "task": TASKS[function].label,
                                       "points": float(cell.max_score)}
    return table


@pytest.fixture
def gradebook_url(tmp_path, monkeypatch) -> str:
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")  # for alembic
    return f"sqlite:///{tmp_path / 'gradebook.db'}"


def test_the_points_table_is_the_gradebooks_autograded_code_cells_notebook_by_notebook(gradebook_url):
    release_cells(gradebook_url, {
        "02_conv": {grade_id_for("conv_forward_naive"): (4, "code"), "q_written": (2, "markdown"),
                    grade_id_for("relu_forward"): (1.5, "code")},
        "01_vector": {grade_id_for("relu_forward"): (1, "code"), "check_imports": (1, "code")},
        "03_pool": {grade_id_for("max_pool_forward_naive"): (3, "markdown")},  # not autograded
    })
    table = verdicts.points_table(gradebook_url, "cnn")
    assert table == points_by_notebook(gradebook_url)
    assert table == {
        "relu_forward": {"notebook": "02_conv", "task": TASKS["relu_forward"].label, "points": 1.5},
        "conv_forward_naive": {"notebook": "02_conv", "task": TASKS["conv_forward_naive"].label, "points": 4.0},
    }, "of two notebooks' cells for one function, the later notebook's counts"
    with pytest.raises(verdicts.AutograderError, match="no autograded cells for pool: generate the assignment"):
        verdicts.points_table(gradebook_url, "pool")


def test_a_gradebook_regenerated_between_two_notebooks_grades_the_next_in_its_new_points(tmp_path, gradebook_url,
                                                                                         own_services):
    fake = tmp_path / "fake_autograder.py"  # says which points it was given, and counts its runs
    fake.write_text(stand_in_serve(
        "json.dump({'tests': [], 'score': 0, 'output': json.load(open(sys.argv[sys.argv.index('--points') + 1]))},"
        " open(request['out'], 'w'))\n"
        f"open({str(tmp_path / 'runs')!r}, 'a').write('run\\n')"))
    release_cells(gradebook_url, {"01": {grade_id_for("relu_forward"): (1, "code")}})
    submission = tmp_path / "ann"
    (submission / "cs_conv").mkdir(parents=True)
    (submission / "cs_conv" / "layers.py").write_text("x = 1\n")
    step = verdicts.RunAutograder(command=[sys.executable, str(fake)], results_dir=str(tmp_path / "verdicts"))

    def judge(notebook: str) -> tuple[dict, int]:
        """The step on one notebook: (the points the verdict is in, the autograder's runs so far)."""
        resources = {"metadata": {"path": str(submission)},
                     "nbgrader": {"db_url": gradebook_url, "assignment": "cnn", "notebook": notebook, "student": "ann"}}
        _, out = step.preprocess(nbformat.v4.new_notebook(), resources)
        return out["cs_conv"]["autograder"]["output"], len((tmp_path / "runs").read_text().splitlines())

    assert judge("01") == (points_by_notebook(gradebook_url), 1)
    with Gradebook(gradebook_url) as gradebook:  # SaveAutoGrades records notebook 01's grades
        gradebook.add_student("ann")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SAWarning)  # nbgrader's add_submission trips SQLAlchemy's autoflush warning
            gradebook.add_submission("cnn", "ann")
        grade = gradebook.find_grade(grade_id_for("relu_forward"), "01", "cnn", "ann")
        grade.auto_score, grade.needs_manual_grade = 1.0, False
        gradebook.db.commit()
    assert judge("02") == (points_by_notebook(gradebook_url), 1), "saved grades do not change the points"
    # The instructor regenerates the assignment while formgrader runs: new points, a new notebook.
    release_cells(gradebook_url, {"01": {grade_id_for("relu_forward"): (2, "code")},
                                  "03": {grade_id_for("relu_backward"): (0.5, "code")}})
    points, runs = judge("03")
    assert runs == 2 and points == points_by_notebook(gradebook_url)
    assert points["relu_forward"]["points"] == 2.0 and points["relu_backward"]["notebook"] == "03"


def test_a_verdict_is_written_once_per_student_and_again_when_its_file_changed(tmp_path, gradebook_url,
                                                                                own_services):
    fake = tmp_path / "fake_autograder.py"  # its verdict: the submission's layers.py
    fake.write_text(stand_in_serve("layers = open(request['path'] + '/cs_conv/layers.py').read()\n"
                                   "json.dump({'tests': [], 'score': 0, 'output': layers}, open(request['out'], 'w'))"))
    release_cells(gradebook_url, {"01": {grade_id_for("relu_forward"): (1, "code")}})
    for student in ("ann", "bob"):  # the same files: one verdict for both
        (tmp_path / student / "cs_conv").mkdir(parents=True)
        (tmp_path / student / "cs_conv" / "layers.py").write_text("x = 1\n")
    step = verdicts.RunAutograder(command=[sys.executable, str(fake)], results_dir=str(tmp_path / "verdicts"))
    written = tmp_path / "verdicts" / "cnn"

    def judge(student: str) -> dict:
        """The step on one of ``student``'s notebooks: the verdict it hands on."""
        resources = {"metadata": {"path": str(tmp_path / student)},
                     "nbgrader": {"db_url": gradebook_url, "assignment": "cnn", "notebook": "01", "student": student}}
        return step.preprocess(nbformat.v4.new_notebook(), resources)[1]["cs_conv"]["autograder"]

    def on_disk(student: str) -> dict:
        return json.loads((written / f"{student}.json").read_text())

    verdict = judge("ann")
    assert on_disk("ann") == verdict
    first = (written / "ann.json").stat()
    assert judge("ann") == verdict
    again = (written / "ann.json").stat()
    assert (again.st_ino, again.st_mtime_ns) == (first.st_ino, first.st_mtime_ns), "the same verdict, rewritten"
    assert judge("bob") == verdict and on_disk("bob") == verdict, "a verdict cached for ann is bob's file too"
    (written / "ann.json").unlink()
    assert judge("ann") == verdict and on_disk("ann") == verdict, "a deleted file is written again"
    (written / "ann.json").write_text('{"tests": []}')
    assert judge("ann") == verdict and on_disk("ann") == verdict, "a replaced file is written again"
    (tmp_path / "ann" / "cs_conv" / "layers.py").write_text("x = 2\n")
    new = judge("ann")
    assert new != verdict and on_disk("ann") == new, "a new verdict replaces the old one"
    assert on_disk("bob") == verdict
