"""The feedback pages' exporter: nbconvert's ``HTMLExporter`` without its second pass over the page.

``HTMLExporter.from_notebook_node`` registers the language's highlighter and the widget filter,
renders the template, and then parses the whole page again with BeautifulSoup, to give images
without alt text a placeholder and JupyterLab cells a tabindex. Feedback pages carry their plots
inline, so that pass was about 60% of ``generate_feedback``'s time here (profiled: 11.6 of 19.3 s
for one student's five notebooks). The course's feedback template is nbgrader's classic one, which
has no JupyterLab cells, so the one thing the pass does for it is the alt text: done here on the
rendered text, with nbconvert's placeholder. The rest is ``HTMLExporter``'s own steps, in its order,
except that code is highlighted by ``CachedHighlight2HTML`` (``course_tools.cached_highlight``): the
same HTML, each distinct cell highlighted once per process, since most cells are the instructor's.
"""

from __future__ import annotations

import re
from typing import Any

from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbformat import NotebookNode

from course_tools.cached_highlight import CachedHighlight2HTML

NO_ALT = "No description has been provided for this image"  # nbconvert's placeholder
IMAGE_WITHOUT_ALT = re.compile(r"<img(?=[\s/>])(?![^>]*\salt=)")


class FeedbackExporter(HTMLExporter):
    """``HTMLExporter`` for feedback: the same page, alt text included, without parsing it again,
    its code cells highlighted once per process."""

    def from_notebook_node(self, nb: NotebookNode, resources: dict[str, Any] | None = None,  # type: ignore[override]
                           **kw: Any) -> tuple[str, dict[str, Any]]:
        language = nb.metadata.get("language_info", {})
        lexer = language.get("pygments_lexer", language.get("name", None))
        self.register_filter("highlight_code",
                             self.filters.get("highlight_code",
                                              CachedHighlight2HTML(pygments_lexer=lexer, parent=self)))
        resources = self._init_resources(resources)
        self.register_filter("filter_data_type", WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata,
                                                                       parent=self, resources=resources))
        html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        return IMAGE_WITHOUT_ALT.sub(f'<img alt="{NO_ALT}"', html), resources
