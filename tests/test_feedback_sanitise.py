"""Stored XSS (issue 11, defect 6): a student's HTML is inert in feedback pages and in formgrader.

A student's copy of notebook 01 gets hostile written answers and outputs, each payload tagged
``xss-<name>``. It goes through the course's configured pipeline (the sanitiser of
``Autograde.autograde_preprocessors``, then nbgrader's feedback exporter with the course's
``nbgrader_config.py``) and through formgrader's exporter as nbgrader ships it. The pages are parsed
with ``html.parser``: nothing the student wrote may be live, while the student's prose, LaTeX,
tables and images and the instructor's cells must survive. Without the sanitiser every payload is
live, which shows that the attacks and the checks are real.
"""

import base64
import copy
import io
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import matplotlib
import nbformat
import numpy as np
import pytest
from nbconvert.exporters import HTMLExporter
from nbformat.v4 import new_markdown_cell, new_output
from nbgrader.converters import GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import GetGrades, SaveAutoGrades
from nbgrader.server_extensions.formgrader import handlers as formgrader
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ASSIGNMENTS = Path(__file__).resolve().parents[1] / "assignments"
sys.path.insert(0, str(ASSIGNMENTS))

from course_tools.kernel import SandboxedExecute as CourseExecute  # noqa: E402
from course_tools.mathml import to_mathml  # noqa: E402
from course_tools.pending import MarkPending  # noqa: E402
from course_tools.sanitise import (  # noqa: E402
    SanitiseStudentContent,
    remembered_safe_markdown,
    rendered_safe_markdown,
    safe_markdown,
)
from course_tools.verdicts import ApplyVerdicts  # noqa: E402

NOTEBOOK = ASSIGNMENTS / "source" / "cnn" / "01_vector_backprop.ipynb"
MARKER = re.compile(r"xss-[a-z0-9-]+")

# Written answers: raw HTML, markdown syntax that only becomes markup when rendered, and the
# classic sanitiser-bypass shapes (mutation XSS through MathML, entity-split schemes).
HOSTILE_ANSWER = """The ReLU Jacobian is diagonal, so the backward pass is a mask.

<img src=x onerror="alert('xss-md-onerror')">
<script>alert('xss-md-script')</script>
<svg onload="alert('xss-md-svg-onload')"></svg>
<iframe src="javascript:alert('xss-md-iframe')"></iframe>
<iframe srcdoc="<script>alert('xss-md-srcdoc')</script>"></iframe>

[see my derivation](javascript:alert('xss-md-link')) and <a href="jav&#x09;ascript:alert('xss-md-entity')">this</a>

<math><mtext><table><mglyph><style><img src=x onerror=alert('xss-md-mxss')></style></mglyph></table></mtext></math>

```mermaid
</pre><img src=x onerror="alert('xss-md-mermaid')">
```

```
a blank line in cleaned HTML would end the HTML block that keeps it from being read as markdown again

[x](javascript:alert('xss-md-reparse'))
```
"""
# Text that is inert when the cell is rendered, but a link if the cleaned HTML were read as markdown
# again without its enclosing block (the custom element is dropped by cleaning).
HOSTILE_UNWRAPPED_CELL = """<x-note>
[x](javascript:alert('xss-md-unwrapped'))
</x-note>
"""
ATTACKS_ON_THE_SANITISER = {"xss-md-reparse", "xss-md-unwrapped"}
SVG_WITH_SCRIPT = ('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(\'xss-svg-onload\')">'
                   "<script>alert('xss-svg-script')</script><circle r='4'/></svg>")
# A cell the student added: elements that load, submit or redirect, and page-wide overlays.
HOSTILE_ADDED_CELL = f"""<form action="javascript:alert('xss-form')"><button>Regrade</button></form>
<meta http-equiv="refresh" content="0;url=javascript:alert('xss-meta')">
<base href="https://xss-base.example/">
<link rel="stylesheet" href="https://xss-link.example/x.css">
<object data="javascript:alert('xss-object')"></object>
<embed src="https://xss-embed.example/x.swf">
<a href="data:text/html,&lt;script&gt;alert('xss-data-link')&lt;/script&gt;">notes</a>
<img alt="xss-md-svg-image" src="data:image/svg+xml;base64,{base64.b64encode(SVG_WITH_SCRIPT.encode()).decode()}">
<div class="navbar navbar-fixed-top" id="xss-class">Score: 23 / 23</div>
"""
# Style tricks: hide the page, or lay a fake score over it and fetch a tracking URL.
STYLE_TRICKS = """<style>/* xss-style-element */ #notebook { display: none }</style>
<div style="position: fixed; top: 0; left: 0; z-index: 99999; background: url(https://xss-style-url.example/)">
Score: 23 / 23</div>
"""
PANDAS_TABLE = """<div><style scoped>.dataframe tbody tr th { vertical-align: top; }</style>
<table border="1" class="dataframe"><thead><tr style="text-align: right;"><th></th><th>loss</th></tr></thead>
<tbody><tr><th>0</th><td>2.302585</td></tr></tbody></table></div>"""

# Legitimate content that must come through.
PROSE = "The ReLU Jacobian is diagonal, so the backward pass is a mask."
MATRIX = r"$$\begin{pmatrix} a & b \\ c & d \end{pmatrix}$$"
INEQUALITY = "$x_i < 0$"
LEGIT_ANSWER = f"""Subtracting the row maximum makes every exponent $\\le 0$ when {INEQUALITY} fails.

{MATRIX}

| score | exponent |
| ---: | :--- |
| 1000 | 0 |

![the exponents](attachment:exponents.png)
"""
INSTRUCTOR_HEADING = "Notebook 01: Backpropagation with vectors and matrices"


def png_base64() -> str:
    """A real PNG as a student's matplotlib figure would produce, base64 as nbformat stores it."""
    buffer = io.BytesIO()
    plt.imsave(buffer, np.arange(16.0).reshape(4, 4), format="png")
    return base64.b64encode(buffer.getvalue()).decode()


PNG = png_base64()


def student_notebook() -> nbformat.NotebookNode:
    """Notebook 01 as a hostile student leaves it, with outputs as the autograde kernel made them."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    cells = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell for cell in nb.cells}
    cells["nb01_jacobian"].source = HOSTILE_ANSWER
    cells["nb01_stability"].source = LEGIT_ANSWER
    cells["nb01_stability"].attachments = {"exponents.png": {"image/png": PNG}}
    cells["nb01_three_kinds_derivative_code"].outputs = [
        new_output("display_data", {"text/html": f"<script>alert('xss-html-script')</script>"
                                                  f"<img src=x onerror=\"alert('xss-html-onerror')\">"
                                                  f"<svg onload=\"alert('xss-html-svg')\"></svg>{STYLE_TRICKS}",
                                    "text/plain": "<IPython.core.display.HTML object>"}),
        new_output("display_data", {"application/javascript": "alert('xss-javascript')",
                                    "text/plain": "<IPython.core.display.Javascript object>"}),
        new_output("display_data", {"image/svg+xml": SVG_WITH_SCRIPT,
                                    "text/plain": "<IPython.core.display.SVG object>"}),
        new_output("display_data", {"text/markdown": "[next](javascript:alert('xss-markdown-output')) "
                                                     "<img src=x onerror=\"alert('xss-markdown-img')\">"}),
        new_output("execute_result", {"text/html": PANDAS_TABLE, "text/plain": "   loss\n0  2.302585"},
                   execution_count=3),
        new_output("display_data", {"image/png": PNG, "text/plain": "<Figure size 640x480 with 1 Axes>"}),
    ]
    position = nb.cells.index(cells["nb01_jacobian"]) + 1
    nb.cells.insert(position, new_markdown_cell(HOSTILE_ADDED_CELL))
    nb.cells.insert(position, new_markdown_cell(HOSTILE_UNWRAPPED_CELL))
    return nb


def payload_ids() -> set[str]:
    return set(MARKER.findall(nbformat.writes(student_notebook())))


class Page(HTMLParser):
    """What a browser would run or load from a page, and the text and images it would show."""

    URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "content", "xlink:href", "background"}
    NEVER_FROM_STUDENTS = {"iframe", "object", "embed", "form", "base", "frame", "applet"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.findings: list[str] = []
        self.text: list[str] = []
        self.table_text: list[str] = []
        self.cell_styles: list[str] = []
        self.images: list[str] = []
        self.headings: list[str] = []
        self.math: list[str] = []  # the text of each <math> element, in order
        self.math_tags: set[str] = set()
        self.scripts = 0
        self.fetched: list[str] = []  # what a browser loads to show the page: scripts, styles, frames, images
        self._open: list[str] = []
        self.feed(html)
        self.close()

    def _live(self, what: str) -> None:
        self.findings.append(what)

    def handle_starttag(self, tag, attrs):
        snippet = f"<{tag} {attrs}>"
        if tag in self.NEVER_FROM_STUDENTS:
            self._live(snippet)
        if tag in ("link", "meta") and MARKER.search(snippet):
            self._live(snippet)
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                self._live(snippet)
            if name in self.URL_ATTRIBUTES:
                url = re.sub(r"[\x00-\x20]", "", value).lower()
                if "javascript:" in url or "vbscript:" in url or url.startswith("data:text/html"):
                    self._live(snippet)
                if url.startswith("data:image/svg+xml;base64,"):
                    inner = Page(base64.b64decode(value.split(",", 1)[1]).decode())
                    self.findings += [f"{snippet} runs {finding}" for finding in inner.findings]
            if name == "style" and re.search(r"position|z-index|display|url\(", value):
                self._live(snippet)
            if name == "class" and "fixed" in value:
                self._live(snippet)
        if tag == "img":
            self.images.append(dict(attrs).get("src") or "")
        if tag == "script":
            self.scripts += 1
        fetched = {"script": "src", "link": "href", "img": "src", "iframe": "src", "source": "src"}.get(tag)
        if fetched and dict(attrs).get(fetched):
            self.fetched.append(dict(attrs)[fetched])
        if tag == "math":
            self.math.append("")
        if "math" in self._open or tag == "math":
            self.math_tags.add(tag)
        if tag in ("th", "td"):
            self.cell_styles.append(dict(attrs).get("style") or "")
        if tag not in self.VOID:
            self._open.append(tag)

    def handle_endtag(self, tag):
        if tag in self._open:
            del self._open[len(self._open) - 1 - self._open[::-1].index(tag):]

    def handle_data(self, data):
        inside = self._open[-1] if self._open else ""
        if inside in ("script", "style"):
            if MARKER.search(data):
                self._live(f"<{inside}>{data}")
            return
        self.text.append(data)
        if "math" in self._open:
            self.math[-1] += data.strip()
        if {"th", "td"} & set(self._open):
            self.table_text.append(data.strip())
        if re.fullmatch(r"h[1-6]", inside):
            self.headings.append(data)

    def live_beyond(self, template: "Page") -> set[str]:
        """What is live here and not on ``template``, the same page for the untouched notebook
        (the page's own scripts, handlers and navbar are not the student's)."""
        return set(self.findings) - set(template.findings)

    @property
    def live_payloads(self) -> set[str]:
        return set(MARKER.findall(" ".join(self.findings)))

    @property
    def all_text(self) -> str:
        return "".join(self.text)


@pytest.fixture(scope="module")
def course_config() -> Config:
    return PyFileConfigLoader("nbgrader_config.py", path=str(ASSIGNMENTS)).load_config()


@pytest.fixture(scope="module")
def untouched_feedback(course_config) -> Page:
    """The feedback page of the notebook as released: what is live there is the template's own."""
    return feedback_page(nbformat.read(NOTEBOOK, as_version=4), course_config)


def autograded(nb: nbformat.NotebookNode, config: Config) -> nbformat.NotebookNode:
    """The notebook as ``nbgrader autograde`` writes it: the course's sanitiser, then the file."""
    nb, _ = SanitiseStudentContent(config=config).preprocess(copy.deepcopy(nb), {})
    return nbformat.reads(nbformat.writes(nb), as_version=4)


def feedback_page(nb: nbformat.NotebookNode, config: Config) -> Page:
    """``nbgrader generate_feedback``'s rendering (``BaseConverter.start``), scores given instead of read."""
    converter = GenerateFeedback(coursedir=CourseDirectory(root=str(ASSIGNMENTS)), config=config)
    exporter = converter.exporter_class(parent=converter, config=converter.config)
    for preprocessor in converter.preprocessors:
        if preprocessor not in (GetGrades, MarkPending):  # they read the scores from a gradebook
            exporter.register_preprocessor(preprocessor)
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.metadata.nbgrader.score = 0.0
    resources = {"nbgrader": {"notebook": NOTEBOOK.stem, "score": 0.0, "max_score": 23.0, "late_penalty": 0.0}}
    html, _ = exporter.from_notebook_node(nb, resources=resources)
    return Page(html)


def formgrader_page(nb: nbformat.NotebookNode) -> Page:
    """formgrader's rendering of an autograded notebook, as nbgrader ships it: no course config."""
    exporter = HTMLExporter(config=Config(HTMLExporter={"template_name": "formgrade",
                                                        "extra_template_basedirs": [formgrader.template_path]}))
    resources = {"assignment_id": "cnn", "notebook_id": NOTEBOOK.stem, "submission_id": "1", "index": 0,
                 "total": 1, "base_url": "", "student": "mallory", "last_name": "", "first_name": "",
                 "notebook_path": "autograded/mallory/cnn/01_vector_backprop.ipynb"}
    html, _ = exporter.from_notebook_node(nb, resources=resources)
    return Page(html)


def assert_legitimate_content_survives(page: Page) -> None:
    text = page.all_text
    assert PROSE in text
    # The student's math as MathML, which browsers draw without MathJax: $x_i < 0$ and the matrix.
    assert "xi<0" in page.math and "(abcd)" in page.math, page.math
    assert {"msub", "mtable", "mtr", "mtd"} <= page.math_tags
    assert "$" not in text, "no TeX left for MathJax"
    assert INSTRUCTOR_HEADING in page.headings
    assert "input" in page.table_text and "x" in page.table_text, "the instructor's markdown table, math in it"
    assert "1000" in page.table_text and "text-align:right" in page.cell_styles, "the student's markdown table"
    assert "2.302585" in page.table_text, "a pandas table output"
    assert page.images.count(f"data:image/png;base64,{PNG}") == 2, "a PNG output and a PNG attachment"


def test_the_sanitiser_runs_after_everything_that_writes_the_autograded_notebook(course_config):
    steps = list(course_config.Autograde.autograde_preprocessors)
    at = steps.index(SanitiseStudentContent)
    # Every step that adds outputs or reads sources comes before it.
    for earlier in (CourseExecute, ApplyVerdicts, SaveAutoGrades):
        assert steps.index(earlier) < at, earlier.__name__
    assert SanitiseStudentContent in course_config.HTMLExporter.preprocessors


def test_every_payload_is_live_without_the_sanitiser(course_config):
    """The attacks and the checks below are real: nbgrader as shipped runs every one of them."""
    plain = copy.deepcopy(course_config)
    plain.HTMLExporter.preprocessors = []
    nb = student_notebook()
    assert feedback_page(nb, plain).live_payloads == payload_ids() - ATTACKS_ON_THE_SANITISER
    assert formgrader_page(nb).live_payloads == payload_ids() - ATTACKS_ON_THE_SANITISER


@pytest.mark.parametrize("sanitised_at_autograde", [True, False], ids=["autograded", "autograded-before-the-fix"])
def test_feedback_page_runs_nothing_a_student_wrote(course_config, untouched_feedback, sanitised_at_autograde):
    nb = student_notebook()
    if sanitised_at_autograde:
        nb = autograded(nb, course_config)
    page = feedback_page(nb, course_config)
    assert page.live_beyond(untouched_feedback) == set()
    assert_legitimate_content_survives(page)


def test_formgrader_shows_the_autograded_notebook_inert_without_the_course_config(course_config):
    page = formgrader_page(autograded(student_notebook(), course_config))
    assert page.live_beyond(formgrader_page(nbformat.read(NOTEBOOK, as_version=4))) == set()
    assert_legitimate_content_survives(page)


def test_feedback_renders_math_offline_and_loads_nothing_from_a_network(course_config):
    """A feedback page travels alone and is read offline: math is MathML, there is no script (no MathJax),
    and everything it shows is inside the file."""
    for nb in (nbformat.read(NOTEBOOK, as_version=4), autograded(student_notebook(), course_config)):
        page = feedback_page(nb, course_config)
        assert page.scripts == 0
        assert len(page.math) > 20, "the notebook's math, as MathML"
        # Inside the file (data: images) or beside it (a student's <img src=x>): never from a server.
        assert all(urlsplit(url).scheme in ("", "data") and not url.startswith("//") for url in page.fetched)


def test_a_students_tex_becomes_inert_mathml():
    page = Page(safe_markdown(r"$\text{<script>alert('xss-tex')</script>} + \href{javascript:alert(1)}{x}$ "
                              r"and $\frac{1}{$", {}))
    assert page.findings == [] and page.scripts == 0
    assert page.math == ["<script>alert('xss-tex')</script>+x"], "shown as text, not run"
    assert "$\\frac{1}{$" in page.all_text, "TeX that cannot be converted stays as text"
    assert to_mathml(r"\frac{") is None


def test_a_missing_attachment_does_not_break_autograde_or_feedback(course_config):
    """nbconvert raises on an image naming an absent attachment; the answer is shown as text instead."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells[-1].source = "My sketch: ![grid](attachment:grid.png)"
    page = feedback_page(autograded(nb, course_config), course_config)
    assert "My sketch: ![grid](attachment:grid.png)" in page.all_text


@pytest.mark.parametrize("attachments", [{}, {"exponents.png": {"image/png": PNG}},
                                         {"exponents.png": {"image/jpeg": PNG, "image/png": PNG}},
                                         {"exponents.png": {"image/png": PNG, "image/jpeg": PNG}}])
def test_sanitised_markdown_is_remembered_per_process_as_it_was_rendered(attachments):
    """A grading process renders each distinct cell once; what it keeps is what it would render again."""
    source = HOSTILE_ANSWER + "\n![the exponents](attachment:exponents.png) and $\\frac{a}{b} < 0$"
    remembered_safe_markdown.cache_clear()
    first = safe_markdown(source, attachments)
    again = safe_markdown(source, copy.deepcopy(attachments))
    assert remembered_safe_markdown.cache_info().hits == 1
    assert first == again == rendered_safe_markdown(source, attachments)
    assert ("base64," in first) == bool(attachments), "an attachment is inlined, a missing one shown as text"
