"""nbconvert's ``highlight_code`` filter, remembering its output per process for identical inputs.

Pygments' highlighting was about 1.1 s of each student's feedback (101 code cells over five
notebooks, profiled), and most of those cells are the instructor's, the same for every student.
A grading worker makes every student's feedback in one process, so each distinct cell is highlighted
once there; the page is byte for byte what ``Highlight2HTML`` makes.

What ``Highlight2HTML`` returns depends on the source, the language (the call's, else the filter's
``pygments_lexer``), the cell's ``magics_language`` (used for an IPython language) and the
configured ``extra_formatter_options``: the cache key is exactly these (``highlighted_html``'s
arguments), and a miss is ``Highlight2HTML`` called with them. A call whose inputs cannot be a key
(options that are not JSON, a ``magics_language`` that is not hashable) is highlighted uncached.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from nbconvert.filters.highlight import Highlight2HTML

# Distinct cells kept per process: every instructor cell of the course (about a hundred code cells)
# and the recent students' own, which are seen once and are the first to go.
CACHED_CELLS = 1024


@functools.lru_cache(maxsize=CACHED_CELLS)
def highlighted_html(source: str, language: str, magics_language: tuple, formatter_options: str) -> str:
    """``Highlight2HTML(extra_formatter_options=json.loads(formatter_options))(source, language, metadata)``,
    where ``metadata`` is ``{"magics_language": magics_language[0]}``, or None when ``magics_language`` is ``()``
    (the cell's metadata has no such key)."""
    metadata = {"magics_language": magics_language[0]} if magics_language else None
    highlight = Highlight2HTML(extra_formatter_options=json.loads(formatter_options))
    highlight.pygments_lexer = language  # as given: the constructor would put "ipython3" for ""
    return highlight(source, language, metadata)


class CachedHighlight2HTML(Highlight2HTML):
    """``Highlight2HTML`` whose output for each distinct input is made once per process (``highlighted_html``)."""

    def __call__(self, source: str, language: str | None = None, metadata: Any = None) -> str:
        if metadata and not isinstance(metadata, dict):
            return super().__call__(source, language, metadata)
        magics_language = (metadata["magics_language"],) if metadata and "magics_language" in metadata else ()
        try:
            key = (source, language or self.pygments_lexer, magics_language,
                   json.dumps(self.extra_formatter_options, sort_keys=True))
            hash(key)
        except (TypeError, ValueError):
            return super().__call__(source, language, metadata)
        return highlighted_html(*key)
