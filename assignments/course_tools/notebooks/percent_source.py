"""From a notebook source in jupytext's percent format to the nbgrader notebook the release needs.

A source is a Python file whose ``# %%`` lines start cells (JupyterLab opens it as a notebook
when the jupytext extension is installed, and ruff lints it). Each cell's header declares its
role; a cell without ``autograde``, ``join`` or ``build`` needs an ``id``:

- ``# %% [markdown] id="convolution_by_hand"``: prose, read-only in the release (nbgrader "locked");
- ``# %% id="convolution_by_hand_code"``: a visible check, read-only;
- ``# %% autograde="relu_forward"``: the grade cell of a student function, empty in the source
  (``cells.autograded_cell`` writes its comment, with the points ``cs_conv.tasks.TASKS`` gives it);
- ``# %% [markdown] id="jacobian" answer=2``: a written answer graded by hand (2 points), holding the
  model answer; the markdown cell above it is the question and begins
  ``**Question (2 points, graded by hand).**``;
- ``# %% id="setup" include="setup"``: a cell whose body is ``shared.py``'s cell ``setup``;
- ``# %% join=true``: the rest of the cell above, split off in the source only so that the part
  above can be shared;
- ``# %% build=true``: code run when the notebook is built, never released.

``id`` is the cell's stable name: the release's ``grade_id`` and cell id are ``<prefix>_<id>``
(``nb02_convolution_by_hand``), so adding, removing or moving a cell renames no other cell and the
gradebook keeps matching students' copies.

Build cells run against the solved kit. In the released code cells, every call of a function
that a build cell defines is evaluated in the build cells' namespace (so its arguments are
literals or names the build cells define) and replaced by its value, written as a literal
(``array_literal`` for arrays, ``repr`` otherwise): a check compares the student's output with numbers printed into
the notebook (as CS231n's ``correct_out``), never with code that computes them, which would be
the solution. Run in JupyterLab against the solved kit, a source computes the same values live.
"""

from __future__ import annotations

import ast
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import numpy as np
from nbformat.notebooknode import NotebookNode

from course_tools.cells import answer_cell, autograded_cell, locked_cell, new_notebook, question_heading

FOLDER = Path(__file__).resolve().parent
SHARED = FOLDER / "shared.py"
ROLES = {"id", "include", "join", "build", "autograde", "answer"}
NAME = re.compile(r"[a-z0-9_]+")
MAX_ID = 64  # nbformat's limit on a cell id


class SourceError(ValueError):
    """A notebook source that does not say what its cells are, naming the cell."""


@dataclass
class SourceCell:
    cell_type: str
    text: str
    roles: dict

    def describe(self) -> str:
        header = " ".join(f"{key}={value!r}" for key, value in self.roles.items())
        first = self.text.strip().splitlines()[0][:60] if self.text.strip() else "(empty)"
        return f"cell [{header}] {first!r}"


def sources() -> list[Path]:
    """The notebook sources, ``01_vector_backprop.py`` ..., in notebook order."""
    return sorted(FOLDER.glob("[0-9][0-9]_*.py"))


def prefix_for(path: Path) -> str:
    """``nb02`` for ``02_convolution.py``: what the notebook's grade ids begin with."""
    return "nb" + path.name[:2]


def shared_cells() -> dict[str, str]:
    """The bodies of ``shared.py``'s cells, by id: the cells several notebooks include."""
    return {cell.roles["id"]: cell.text for cell in read_cells(SHARED.read_text())}


def read_cells(text: str) -> list[SourceCell]:
    """The cells of a percent-format source, with the roles their headers declare."""
    cells = []
    for cell in jupytext.reads(text, fmt="py:percent").cells:
        # jupytext records how many blank lines follow a cell; that is layout, not a role.
        roles = {key: value for key, value in cell.metadata.items() if not key.startswith("lines_to_")}
        source_cell = SourceCell(cell.cell_type, cell.source, roles)
        unknown = set(roles) - ROLES
        if unknown:
            raise SourceError(f"{source_cell.describe()}: unknown header keys {sorted(unknown)}; "
                              f"a cell declares {sorted(ROLES)}")
        cells.append(source_cell)
    return cells


def synced_text(text: str, shared: dict[str, str]) -> str:
    """``text`` with every ``include`` cell's body replaced by the shared cell it names.

    ``make notebooks`` writes this back, so a source holds the shared cells it uses and runs as it
    stands, while ``shared.py`` stays the one place to edit them.
    """
    notebook = jupytext.reads(text, fmt="py:percent")
    for cell in notebook.cells:
        name = cell.metadata.get("include")
        if name is not None:
            if name not in shared:
                raise SourceError(f"include={name!r}: shared.py has no cell with that id ({sorted(shared)})")
            cell.source = shared[name]
    return jupytext.writes(notebook, fmt="py:percent")


def build_notebook(text: str, prefix: str) -> NotebookNode:
    """The nbgrader notebook of a source whose included cells are in sync (see ``synced_text``)."""
    cells = read_cells(text)
    # Build cells first: the values their functions compute fill the code cells below them.
    released = [cell for cell in cells if not cell.roles.get("build")]
    fill = BuildValues.run([cell for cell in cells if cell.roles.get("build")])
    for cell in released:
        if cell.cell_type == "code":
            cell.text = _fill_values(cell, fill)
    return new_notebook(_nbgrader_cells(_joined(released), prefix))


def array_literal(array: np.ndarray) -> str:
    """Python source for ``np.array(...)`` holding ``array`` exactly (float64 round trip), its rows
    indented by four spaces (the blank lines between blocks stay empty)."""
    body = np.array2string(np.asarray(array, dtype=np.float64), separator=", ", floatmode="unique",
                           threshold=100_000, max_line_width=100)
    first, *rest = body.split("\n")
    return "np.array(" + "\n".join([first] + ["    " + line if line else "" for line in rest]) + ")"


@dataclass
class BuildValues:
    """The functions the build cells define (``names``) and the namespace they ran in."""

    names: set[str] = field(default_factory=set)
    namespace: dict = field(default_factory=dict)

    @classmethod
    def run(cls, build_cells: list[SourceCell]) -> BuildValues:
        values = cls()
        for cell in build_cells:
            tree = ast.parse(cell.text)
            values.names |= {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
            exec(compile(tree, f"<build cell {cell.describe()}>", "exec"), values.namespace)
        return values


def _fill_values(cell: SourceCell, fill: BuildValues) -> str:
    """The cell's code with each outermost call of a build function replaced by its value's literal."""
    text = cell.text
    if not any(re.search(rf"\b{name}\b", text) for name in fill.names):
        return text
    calls = [node for node in ast.walk(ast.parse(text))
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in fill.names]
    lines = text.splitlines(keepends=True)
    starts = list(itertools.accumulate((len(line) for line in lines), initial=0))

    def offset(lineno: int, col: int) -> int:  # ast columns count UTF-8 bytes
        return starts[lineno - 1] + len(lines[lineno - 1].encode()[:col].decode())

    spans = sorted((offset(node.lineno, node.col_offset), offset(node.end_lineno, node.end_col_offset), node)
                   for node in calls)
    outermost, end = [], -1
    for span in spans:
        if span[0] >= end:
            outermost.append(span)
            end = span[1]
    for start, stop, node in reversed(outermost):
        value = eval(compile(ast.Expression(node), "<build value>", "eval"), fill.namespace)
        text = text[:start] + (array_literal(value) if isinstance(value, np.ndarray) else repr(value)) + text[stop:]
    left = [name for name in sorted(fill.names) if re.search(rf"\b{name}\b", text)]
    if left:
        raise SourceError(f"{cell.describe()}: the build-only {left} would reach the release; call them "
                          "so that the build writes their values")
    return text


def _joined(cells: list[SourceCell]) -> list[SourceCell]:
    """Each ``join`` cell appended to the cell above it, after a blank line."""
    joined: list[SourceCell] = []
    for cell in cells:
        if not cell.roles.get("join"):
            joined.append(SourceCell(cell.cell_type, cell.text, dict(cell.roles)))
            continue
        if not joined or joined[-1].cell_type != cell.cell_type or set(cell.roles) - {"join", "include"}:
            raise SourceError(f"{cell.describe()}: a join cell continues a cell of its own type and "
                              "declares nothing else but include")
        joined[-1].text += "\n\n" + cell.text
    return joined


def _nbgrader_cells(cells: list[SourceCell], prefix: str) -> list[NotebookNode]:
    built: list[NotebookNode] = []
    for cell in cells:
        if "autograde" in cell.roles:
            if cell.text.strip():
                raise SourceError(f"{cell.describe()}: an autograde cell is empty in the source (the build writes it)")
            built.append(autograded_cell(cell.roles["autograde"]))
            continue
        grade_id = _grade_id(cell, prefix)
        if "answer" in cell.roles:
            points = cell.roles["answer"]
            question = built[-1] if built else None
            if question is None or question.cell_type != "markdown" or \
                    not question.source.startswith(question_heading(points)):
                raise SourceError(f"{cell.describe()}: the markdown cell above an answer is its question, and "
                                  f"begins {question_heading(points)!r}")
            built.append(answer_cell(grade_id, points, cell.text))
        else:
            built.append(locked_cell(cell.cell_type, cell.text, grade_id))
    ids = [cell.id for cell in built]
    repeated = sorted({name for name in ids if ids.count(name) > 1})
    if repeated:
        raise SourceError(f"cell ids must be unique in a notebook; repeated: {repeated}")
    return built


def _grade_id(cell: SourceCell, prefix: str) -> str:
    name = cell.roles.get("id")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise SourceError(f"{cell.describe()}: needs id=\"...\" (lower case letters, digits, _): its stable name")
    grade_id = f"{prefix}_{name}"
    if len(grade_id) > MAX_ID:
        raise SourceError(f"{cell.describe()}: {grade_id!r} is longer than {MAX_ID} characters")
    return grade_id
