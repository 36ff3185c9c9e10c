"""The five source notebooks: generated from course_tools, nbgrader-ready, and clean against the solved kit."""

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "assignments"))

from course_tools import build_notebooks  # noqa: E402
from course_tools.cells import function_for  # noqa: E402
from course_tools.run_notebooks import SOURCE, run_notebook, solved_kit_env  # noqa: E402

from cs_conv.tasks import TASKS  # noqa: E402

NOTEBOOKS = sorted(SOURCE.glob("*.ipynb"))


def nbgrader_cells(path):
    for cell in json.loads(path.read_text())["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader")
        if meta:
            yield cell, meta


def test_there_are_five_notebooks():
    assert [p.name for p in NOTEBOOKS] == ["01_vector_backprop.ipynb", "02_convolution.ipynb", "03_pooling.ipynb",
                                           "04_im2col_cython.ipynb", "05_convnet.ipynb"]


def test_committed_notebooks_are_what_the_generators_write():
    assert build_notebooks.main(["--check"]) == 0, "run `make notebooks` and commit the result"


def test_every_task_has_exactly_one_autograded_cell_in_its_notebook():
    graded = {}
    for path in NOTEBOOKS:
        for _cell, meta in nbgrader_cells(path):
            function = function_for(meta["grade_id"])
            if function:
                assert function not in graded, f"{function} is graded twice"
                graded[function] = path.name
    assert set(graded) == set(TASKS)
    for function, notebook in graded.items():
        assert notebook.startswith(TASKS[function].split(",")[0].split()[-1]), (function, notebook)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_grade_cells_hold_no_secret_and_written_answers_are_graded_by_hand(path):
    free_response = 0
    for cell, meta in nbgrader_cells(path):
        source = "".join(cell["source"])
        if meta.get("grade") and cell["cell_type"] == "code":
            assert meta["locked"] and not meta["solution"] and meta["points"] > 0
            # Nothing runs: only comments, so feedback (which shows grade cells' source) reveals nothing.
            assert all(line.startswith("#") for line in source.splitlines()), source
            assert "HIDDEN TESTS" not in source
        if meta.get("grade") and meta.get("solution") and cell["cell_type"] == "markdown":
            free_response += 1
            assert source.strip(), "a written answer cell needs a model answer for graders"
        if not meta.get("grade") and not meta.get("solution"):
            assert meta["locked"], "prose and checks are read-only"
    assert free_response >= 2


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_source_notebook_runs_clean_against_the_solved_kit(path):
    result = run_notebook(path, env=solved_kit_env(), timeout=300)
    assert not result.errors, f"{path.name} raised:\n" + "\n".join(result.errors)
    assert not result.stderr, f"{path.name} wrote to stderr:\n" + "\n".join(result.stderr)
    checks = sum(output.get("text", "").count("ok  ") for cell in result.notebook.cells
                 for output in cell.get("outputs", []) if output.output_type == "stream")
    assert checks >= 5, f"{path.name}: expected its visible checks to report ok, saw {checks}"
    assert result.seconds < 60, f"{path.name} took {result.seconds:.0f} s: notebooks should run in seconds"
