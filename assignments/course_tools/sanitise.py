"""Make every student-authored piece of HTML inert before a feedback page or formgrader shows it.

nbconvert's HTML templates insert a notebook's HTML as it is: ``text/html`` and ``text/markdown``
outputs, ``application/javascript`` outputs as a ``<script>``, and markdown cells through mistune,
which passes raw HTML on, keeps ``[x](javascript:...)`` links and does not escape mermaid fences.
nbgrader's feedback and formgrade templates render markdown cells without nbconvert's
``sanitize_html`` switch, and formgrader serves the page from the instructor's Jupyter origin, where
a script acts with the instructor's rights on the whole server.

``SanitiseStudentContent`` rewrites a notebook so that any of these templates gets inert HTML only:

- markdown cells and ``text/markdown`` outputs are rendered as nbconvert renders them, but with their
  math as MathML (``course_tools.mathml``: no MathJax, so pages render math offline), cleaned, and
  stored back as a single HTML block, which markdown passes through unchanged;
- ``text/html`` outputs are cleaned;
- outputs keep only the types the templates escape (text, LaTeX, PNG, JPEG, JSON); JavaScript, SVG
  (which can carry scripts), widget views and every other type are dropped.

Raw cells are left alone: the templates escape them already (``clean_html``), and JupyterLab shows
them as text.

Cleaning is nh3 (the ammonia sanitiser) with allow-lists of tags, attributes, classes, URL schemes
and CSS properties. nbconvert's own ``SanitizeHTML`` is not used: it cleans markdown *source* with
bleach, which escapes the ``<`` and ``&`` of LaTeX (``$x < 0$``, matrices) so MathJax shows entities,
and it cannot see what exists only after rendering (``javascript:`` links, mermaid fences).
"""

from __future__ import annotations

import functools
import json
from html import escape
from urllib.parse import urlsplit

import nh3
from nbconvert.filters.markdown_mistune import InvalidNotebook, IPythonRenderer, MarkdownWithMath
from nbformat.notebooknode import NotebookNode
from pygments.token import STANDARD_TYPES

from course_tools.mathml import ATTRIBUTES, ELEMENTS, to_mathml
from course_tools.preprocessor import CoursePreprocessor

# Output types kept as they are: the templates escape them (images go into an escaped data: URL).
SAFE_OUTPUT_TYPES = frozenset({"text/plain", "text/latex", "image/png", "image/jpeg", "application/json"})

# Classes that nbconvert's markdown rendering (pygments, heading anchors) and pandas tables emit.
# Any other class could borrow the page's own CSS (Bootstrap's navbar-fixed-top) to lay fake
# content over the page.
_CLASSES = frozenset(STANDARD_TYPES.values()) | {"highlight", "anchor-link", "dataframe"}
# CSS that cannot move content out of its cell, hide the page or fetch a URL.
_STYLE_PROPERTIES = {"text-align", "vertical-align", "color", "background-color", "font-weight", "font-style",
                     "text-decoration"}
_URL_ATTRIBUTES = {"href", "src", "cite"}
# data: URLs are allowed for images only, and only raster ones: an SVG image can carry scripts.
_IMAGE_DATA_URLS = ("data:image/png;base64,", "data:image/jpeg;base64,", "data:image/gif;base64,")


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    """nh3's attribute filter: keep only known classes, and data: URLs only for raster images."""
    if attribute == "class":
        return " ".join(name for name in value.split() if name in _CLASSES) or None
    if attribute in _URL_ATTRIBUTES and urlsplit(value).scheme.lower() == "data":
        return value if (tag, attribute) == ("img", "src") and value.startswith(_IMAGE_DATA_URLS) else None
    return value


# ammonia's default tags (text, headings, lists, tables, images; no script, style, form, iframe,
# object or svg) and their attributes, and MathML's layout elements and attributes (no links); ids
# are not allowed, so student content cannot take over the page's anchors (the feedback page's
# links to grade cells).
_CLEANER = nh3.Cleaner(
    tags=nh3.ALLOWED_TAGS | ELEMENTS,
    attributes={**nh3.ALLOWED_ATTRIBUTES, **dict.fromkeys(ELEMENTS, ATTRIBUTES), "*": {"class", "style", "title"}},
    attribute_filter=_filter_attribute,
    url_schemes={"http", "https", "mailto", "data"},
    filter_style_properties=_STYLE_PROPERTIES,
)


def clean_html(html: str) -> str:
    """``html`` with everything outside the allow-lists removed (script and style with their content)."""
    return _CLEANER.clean(html)


class MathMLRenderer(IPythonRenderer):
    """nbconvert's markdown renderer, with math as MathML; math it cannot convert stays TeX, as text."""

    def block_math(self, body: str) -> str:
        return to_mathml(body, display=True) or super().block_math(body)

    def inline_math(self, body: str) -> str:
        return to_mathml(body) or super().inline_math(body)

    def latex_environment(self, name: str, body: str) -> str:
        return to_mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", display=True) or self.escape_html(
            super().latex_environment(name, body))


def safe_markdown(source: str, attachments: dict) -> str:
    """Markdown whose rendering is the cleaned rendering of ``source``.

    ``source`` is rendered as nbconvert renders a markdown cell, but with math as MathML
    (``MathMLRenderer``; ``attachment:`` images inlined as data: URLs) and cleaned. The result is stored as one
    ``<div>`` line: markdown reads that as a single HTML block and passes it through verbatim,
    so a later rendering (formgrader, JupyterLab) cannot turn cleaned text back into markup.
    Its newlines become ``&#10;``, the same character to HTML, because a blank line would end
    the block.

    The result depends on ``source`` and ``attachments`` alone, and most markdown cells are the
    instructor's, the same in every submission (and the same again when feedback sanitises the
    autograded notebook): so a grading process remembers it for each distinct pair
    (``remembered_safe_markdown``, keyed by the attachments' JSON, in their order).
    """
    try:
        attachments_json = json.dumps(attachments)
        hash(source)
    except (TypeError, ValueError):
        return rendered_safe_markdown(source, attachments)
    return remembered_safe_markdown(source, attachments_json)


# Distinct markdown cells kept per process: the course's few hundred (as released and as sanitised),
# and the recent students' own, which are seen once and are the first to go.
REMEMBERED_MARKDOWN = 2048


@functools.lru_cache(maxsize=REMEMBERED_MARKDOWN)
def remembered_safe_markdown(source: str, attachments_json: str) -> str:
    """``rendered_safe_markdown(source, json.loads(attachments_json))``, once per process for each pair."""
    return rendered_safe_markdown(source, json.loads(attachments_json))


def rendered_safe_markdown(source: str, attachments: dict) -> str:
    """``safe_markdown``'s result, rendered and cleaned now."""
    try:
        html = MarkdownWithMath(renderer=MathMLRenderer(escape=False, attachments=attachments)).render(source)
    except InvalidNotebook:
        # An image names a missing attachment (a cell copied from another notebook): nbconvert
        # would fail the whole page, so show the source as text instead.
        html = f"<pre>{escape(source)}</pre>"
    return "<div>" + clean_html(html).replace("\n", "&#10;") + "</div>"


def _safe_data(data: dict) -> dict:
    """An output's data with only inert representations, cleaned where they are HTML or markdown."""
    kept = {mimetype: value for mimetype, value in data.items() if mimetype in SAFE_OUTPUT_TYPES}
    if "text/html" in data:
        kept["text/html"] = clean_html(data["text/html"])
    if "text/markdown" in data:
        kept["text/markdown"] = safe_markdown(data["text/markdown"], {})
    if "text/latex" in data and "text/html" not in data:
        # LaTeX output (sympy's) as MathML, which pages show without MathJax.
        kept["text/html"] = safe_markdown(data["text/latex"], {})
    return kept


class SanitiseStudentContent(CoursePreprocessor):
    """Clean every markdown cell and output so that rendering the notebook runs nothing.

    Every cell is cleaned, not only answer cells: a student can edit or add any cell, and the
    instructor's own cells keep what they use (text, math, tables, images, highlighted code).
    """

    def preprocess_cell(self, cell: NotebookNode, resources: dict, index: int) -> tuple[NotebookNode, dict]:
        if cell.cell_type == "markdown":
            cell.source = safe_markdown(cell.source, cell.get("attachments", {}))
        elif cell.cell_type == "code":
            for output in cell.outputs:
                if "data" in output:
                    output.data = NotebookNode(_safe_data(output.data))
        return cell, resources
