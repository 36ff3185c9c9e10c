"""The five source notebooks: built from their percent-format sources, nbgrader-ready, with cell ids
that survive edits, and clean against the solved kit; and the source format's rules."""

import json
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "assignments"))

from course_tools import build_notebooks  # noqa: E402
from course_tools.cells import function_for  # noqa: E402
from course_tools.notebooks import percent_source  # noqa: E402
from course_tools.notebooks.percent_source import SourceError, build_notebook, synced_text  # noqa: E402
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


def test_committed_sources_and_notebooks_are_in_sync():
    """Each source holds the current shared cells, and each notebook is what its source builds."""
    assert [p.stem for p in percent_source.sources()] == [p.stem for p in NOTEBOOKS]
    assert build_notebooks.main(["--check"]) == 0, "run `make notebooks` and commit the result"


def test_a_hand_edited_notebook_or_shared_cell_is_reported(tmp_path, monkeypatch, capsys):
    source = percent_source.sources()[0]
    monkeypatch.setattr(build_notebooks, "SOURCE", tmp_path)
    for path in NOTEBOOKS:
        (tmp_path / path.name).write_text(path.read_text())
    notebook = tmp_path / f"{source.stem}.ipynb"
    notebook.write_text(notebook.read_text().replace("Backpropagation", "Backprop"))
    shared = percent_source.shared_cells()
    monkeypatch.setattr(percent_source, "shared_cells", lambda: {**shared, "setup": shared["setup"] + "\n# edited"})
    assert build_notebooks.main(["--check"]) == 1
    reported = capsys.readouterr().out
    assert f"{source.stem}.ipynb" in reported and all(f"{p.name}" in reported for p in percent_source.sources())


def built(text: str, prefix: str = "nb02") -> list[tuple[str, str, str]]:
    """(grade_id, cell type, source) of each cell the source text builds."""
    return [(cell.metadata["nbgrader"]["grade_id"], cell.cell_type, cell.source)
            for cell in build_notebook(text, prefix).cells]


def test_adding_a_markdown_cell_renames_no_other_cell():
    text = (percent_source.FOLDER / "02_convolution.py").read_text()
    anchor = '# %% [markdown] id="cross_correlation_or_convolution"\n'
    assert text.count(anchor) == 1
    edited = text.replace(anchor, '# %% [markdown] id="a_new_note"\n# A new remark.\n\n' + anchor)
    before, after = built(text), built(edited)
    assert ("nb02_a_new_note", "markdown", "A new remark.") in after
    assert [cell for cell in after if cell[0] != "nb02_a_new_note"] == before


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_cell_id_is_its_grade_id_and_unique(path):
    cells = nbformat.read(path, as_version=4).cells
    ids = [cell.id for cell in cells]
    assert ids == [cell.metadata["nbgrader"]["grade_id"] for cell in cells]
    assert len(set(ids)) == len(ids)
    prefix = "nb" + path.name[:2] + "_"
    assert all(name.startswith(prefix) or function_for(name) for name in ids), ids


TINY = '''# %% [markdown] id="title"
# # A tiny notebook

# %% build=true
import numpy as np


def twice(n):
    return 2.0 * np.arange(n)


# %% id="check"
import numpy as np

print(np.sum(twice(3)), float(sum([twice(2)[1]])))

# %% autograde="relu_forward"

# %% [markdown] id="why_question"
# **Question (1 point, graded by hand).** Why?

# %% [markdown] id="why" answer=1
# Because.
'''


def test_a_source_declares_each_cell_and_the_build_fills_in_values():
    notebook = build_notebook(TINY, "t")
    cells = [(c.cell_type, c.metadata["nbgrader"]["grade_id"], c.metadata["nbgrader"]["grade"],
              c.metadata["nbgrader"]["solution"], c.metadata["nbgrader"]["locked"]) for c in notebook.cells]
    assert cells == [("markdown", "t_title", False, False, True), ("code", "t_check", False, False, True),
                     ("code", "autograde_relu_forward", True, False, True),
                     ("markdown", "t_why_question", False, False, True), ("markdown", "t_why", True, True, False)]
    assert notebook.cells[1].source == "import numpy as np\n\nprint(np.sum(np.array([0., 2., 4.])), " \
                                       "float(sum([np.array([0., 2.])[1]])))"
    relu = TASKS["relu_forward"].points  # the table's points, not the source's
    assert notebook.cells[2].metadata["nbgrader"]["points"] == relu
    assert notebook.cells[2].source.startswith(f"# Autograded, {relu} point{'s' if relu != 1 else ''}: relu_forward "
                                               "(Notebook 01, task 1.3).")
    assert [c.id for c in notebook.cells] == [c[1] for c in cells]
    nbformat.validate(notebook)


def test_include_cells_take_the_shared_text_and_join_cells_continue_the_cell_above():
    text = ('# %% [markdown] id="title"\n# # Title\n\n# %% [markdown] include="how_to_work" join=true\n# stale\n\n'
            '# %% id="setup" include="setup"\nstale = 1\n')
    synced = synced_text(text, {"how_to_work": "**How.** Like this.", "setup": "import numpy as np"})
    assert synced == ('# %% [markdown] id="title"\n# # Title\n\n# %% [markdown] include="how_to_work" join=true\n'
                      '# **How.** Like this.\n\n# %% id="setup" include="setup"\nimport numpy as np\n')
    assert built(synced, "t") == [("t_title", "markdown", "# Title\n\n**How.** Like this."),
                                  ("t_setup", "code", "import numpy as np")]
    with pytest.raises(SourceError, match="shared.py has no cell"):
        synced_text(text, {})


@pytest.mark.parametrize("text, message", [
    ('# %% [markdown]\n# no id\n', "needs id="),
    ('# %% id="Bad-Name"\nx = 1\n', "needs id="),
    ('# %% id="same"\nx = 1\n\n# %% id="same"\ny = 1\n', r"repeated: \[\'nb02_same\'\]"),
    ('# %% id="x" point=2\nx = 1\n', r"unknown header keys \[\'point\'\]"),
    ('# %% autograde="relu_forward"\nprint(1)\n', "an autograde cell is empty"),
    ('# %% [markdown] id="q"\n# Why?\n\n# %% [markdown] id="a" answer=2\n# Because.\n',
     r"begins \'\*\*Question \(2 points, graded by hand\).\*\*\'"),
    ('# %% join=true\nx = 1\n', "a join cell continues a cell of its own type"),
    ('# %% build=true\ndef secret():\n    return 1\n\n\n# %% id="x"\nf = secret\n', "build-only"),
    ('# %% autograde="nonsense"\n', "not a student function"),
    ('# %% autograde="relu_forward" points=2\n', r"unknown header keys \[\'points\'\]"),  # points: the table's
])
def test_a_source_that_does_not_say_what_a_cell_is_is_refused(text, message):
    with pytest.raises(ValueError, match=message):
        build_notebook(text, "nb02")


def test_every_task_has_exactly_one_autograded_cell_in_the_notebook_the_table_gives():
    graded = {}
    for path in NOTEBOOKS:
        for cell, meta in nbgrader_cells(path):
            function = function_for(meta["grade_id"])
            if function:
                assert function not in graded, f"{function} is graded twice"
                assert meta["grade"] and cell["cell_type"] == "code", f"{function}'s cell is not autograded"
                assert f"{function} ({TASKS[function].label})" in "".join(cell["source"]), function
                assert meta["points"] == TASKS[function].points, f"{function}'s cell is not worth the table's points"
                graded[function] = path.stem
    assert graded == {function: task.notebook for function, task in TASKS.items()}


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
