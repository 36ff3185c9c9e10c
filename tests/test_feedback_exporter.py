"""course_tools/feedback_exporter.py: the feedback page is nbconvert's HTMLExporter's, without its second pass."""

from __future__ import annotations

import base64
import copy
import re
from pathlib import Path

import nbformat
from bs4 import BeautifulSoup
from course_tools.feedback_exporter import NO_ALT, FeedbackExporter
from nbconvert.exporters import HTMLExporter
from nbgrader.converters import GenerateFeedback
from traitlets.config.loader import PyFileConfigLoader

REPO = Path(__file__).resolve().parent.parent
# A 1x1 PNG.
PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360f8cf"
    "c0f01f0005000201ffa65ed6a20000000049454e44ae426082")).decode()


def notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(metadata={"language_info": {"name": "python", "pygments_lexer": "ipython3"}})
    nb.cells = [
        nbformat.v4.new_markdown_cell(f'A figure: <img alt="the loss curve" src="data:image/png;base64,{PNG}">'
                                      " and the math $\\frac{\\partial L}{\\partial x}$."),
        nbformat.v4.new_code_cell("import numpy as np\nprint(np.arange(3))  # highlighted", outputs=[
            nbformat.v4.new_output("stream", name="stdout", text="[0 1 2]\n"),
            nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"}),
        ]),
        nbformat.v4.new_code_cell("x = 1", outputs=[
            nbformat.v4.new_output("display_data", data={"image/png": PNG}),
        ]),
    ]
    return nb


def structure(html: str) -> list[tuple[str, tuple]]:
    """Every element's name and attributes, in document order, and the page's text: what a reader gets."""
    soup = BeautifulSoup(html, "html.parser")
    elements = [(tag.name, tuple(sorted((k, " ".join(v) if isinstance(v, list) else v) for k, v in tag.attrs.items())))
                for tag in soup.find_all(True)]
    return [*elements, ("text", (re.sub(r"\s+", " ", soup.get_text()),))]


def test_the_page_is_the_html_exporters_and_every_image_has_alt_text():
    nb = notebook()
    ours, _ = FeedbackExporter(template_name="classic").from_notebook_node(copy.deepcopy(nb))
    theirs, _ = HTMLExporter(template_name="classic").from_notebook_node(copy.deepcopy(nb))
    assert structure(ours) == structure(theirs)
    images = BeautifulSoup(ours, "html.parser").find_all("img")
    assert len(images) == 3
    assert [image["alt"] for image in images] == ["the loss curve", NO_ALT, NO_ALT]
    assert "highlight hl-ipython3" in ours, "code is highlighted for the notebook's language"


def test_the_course_config_makes_feedback_with_it():
    config = PyFileConfigLoader("nbgrader_config.py", str(REPO / "assignments")).load_config()
    assert GenerateFeedback(config=config).exporter_class is FeedbackExporter
