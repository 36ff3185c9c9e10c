"""course_tools/cached_highlight.py: highlighted code remembered per process, byte for byte nbconvert's.

The feedback pages of real notebooks are the same bytes with the cache cold, warm, and without it;
each input the output depends on (source, language, the cell's magics language, the formatter's
options) gives nbconvert's own output, remembered or not.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import nbformat
import pytest
from nbconvert.filters.highlight import Highlight2HTML
from nbgrader.converters import GenerateFeedback
from pygments.styles import get_style_by_name
from traitlets.config.loader import PyFileConfigLoader

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "assignments"))

from course_tools.cached_highlight import CachedHighlight2HTML, highlighted_html  # noqa: E402
from course_tools.feedback_exporter import FeedbackExporter  # noqa: E402

NOTEBOOKS = sorted((REPO / "assignments" / "source" / "cnn").glob("*.ipynb"))


def feedback_page(nb: nbformat.NotebookNode, **exporter: object) -> str:
    """The feedback page for ``nb`` with the course's configuration, as ``generate_feedback`` writes it."""
    converter = GenerateFeedback(config=PyFileConfigLoader("nbgrader_config.py", str(REPO / "assignments"))
                                 .load_config())
    nb = copy.deepcopy(nb)
    for cell in nb.cells:  # as nbgrader's GetGrades leaves them
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.metadata.nbgrader["score"] = cell.metadata.nbgrader["points"]
    grades = {"notebook": "nb", "score": 1.0, "max_score": 2.0, "late_penalty": 0.0, "pending_points": 0.0}
    page, _ = FeedbackExporter(parent=converter, config=converter.config, **exporter).from_notebook_node(
        nb, resources={"nbgrader": grades})
    return page


def uncached_page(nb: nbformat.NotebookNode) -> str:
    """The page with nbconvert's own highlighter, for the notebook's language, as HTMLExporter registers it."""
    language = nb.metadata.get("language_info", {})
    lexer = language.get("pygments_lexer", language.get("name", None))
    return feedback_page(nb, filters={"highlight_code": Highlight2HTML(pygments_lexer=lexer)})


def submitted(path: Path) -> nbformat.NotebookNode:
    """The notebook at ``path`` with the language a student's kernel records in it."""
    nb = nbformat.read(path, as_version=4)
    nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    return nb


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_feedback_pages_are_byte_identical_cold_warm_and_uncached(path):
    nb = submitted(path)
    assert sum(cell.cell_type == "code" for cell in nb.cells) > 5, "a notebook with code to highlight"
    highlighted_html.cache_clear()
    cold = feedback_page(nb)
    misses = highlighted_html.cache_info().misses
    warm = feedback_page(nb)
    assert highlighted_html.cache_info().misses == misses, "the second page highlights nothing again"
    assert highlighted_html.cache_info().hits >= misses
    assert cold == warm == uncached_page(nb)
    assert "highlight hl-ipython3" in cold


def test_another_students_page_reuses_the_instructors_cells_and_highlights_their_own():
    nb = submitted(NOTEBOOKS[1])
    other = copy.deepcopy(nb)
    answer = next(cell for cell in other.cells if cell.cell_type == "code")
    answer.source = "def conv_forward_naive(x, w, b, conv_param):\n    return x  # mine\n"
    highlighted_html.cache_clear()
    feedback_page(nb)
    misses = highlighted_html.cache_info().misses
    page = feedback_page(other)
    assert highlighted_html.cache_info().misses == misses + 1, "only the changed cell is highlighted anew"
    assert page == uncached_page(other)
    assert "mine" in page


SOURCES = ["", "x = 1", "%%bash\necho 'hi' > out.txt", "print(f'{x!r:>{width}}')  # a comment\n" * 3]
LANGUAGES = [None, "ipython3", "python", "bash", "no-such-language"]
METADATA = [None, {}, {"magics_language": "bash"}, {"magics_language": "python"}, {"tags": ["x"]}]
OPTIONS = [{}, {"linenos": "table"}, {"hl_lines": [1]}]


# An unknown language warns and is highlighted as text (by Python's default filter, once per process anyway).
@pytest.mark.filterwarnings("ignore:No lexer found")
@pytest.mark.parametrize("options", OPTIONS, ids=str)
@pytest.mark.parametrize("metadata", METADATA, ids=str)
@pytest.mark.parametrize("language", LANGUAGES, ids=str)
def test_every_input_gives_nbconverts_output_remembered_or_not(language, metadata, options):
    for lexer in ("ipython3", "python"):
        cached = CachedHighlight2HTML(pygments_lexer=lexer, extra_formatter_options=options)
        theirs = Highlight2HTML(pygments_lexer=lexer, extra_formatter_options=options)
        for source in SOURCES:
            expected = theirs(source, language, metadata)
            assert cached(source, language, metadata) == expected  # a miss, or a hit from an earlier case
            assert cached(source, language, metadata) == expected  # a hit


def test_inputs_that_cannot_be_a_key_are_highlighted_uncached():
    style = get_style_by_name("monokai")  # a class: no JSON for it
    cached = CachedHighlight2HTML(extra_formatter_options={"style": style})
    theirs = Highlight2HTML(extra_formatter_options={"style": style})
    before = highlighted_html.cache_info()
    assert cached("x = 1") == theirs("x = 1")
    assert highlighted_html.cache_info() == before
    forged = {"magics_language": ["not", "hashable"]}
    assert outcome(CachedHighlight2HTML(), "x = 1", metadata=forged) == outcome(Highlight2HTML(), "x = 1",
                                                                                  metadata=forged)
    assert highlighted_html.cache_info() == before


def outcome(highlight: Highlight2HTML, *args: object, **kwargs: object) -> object:
    """What ``highlight`` returns, or the type and text of what it raises."""
    try:
        return highlight(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 - the error itself is what is compared
        return type(error), str(error)
