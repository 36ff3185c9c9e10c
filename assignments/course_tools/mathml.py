"""TeX math as MathML that browsers draw themselves: feedback renders math with no network and no script.

A feedback page travels alone (``nbgrader release_feedback`` hands students the ``.html`` files
only) and is often read offline, so it cannot load MathJax from a CDN or from files beside it.
``course_tools.sanitise`` renders every markdown cell's ``$...$`` and ``$$...$$`` through ``to_mathml``
instead, and every current browser lays MathML out natively.

The TeX may be a student's. latex2mathml's own ``convert`` copies ``\\text{<script>}`` into its output
unescaped, so ``to_mathml`` serialises the element tree itself, every text escaped; and its output
still passes ``course_tools.sanitise``'s cleaner, which keeps only ``ELEMENTS`` and ``ATTRIBUTES``
(latex2mathml turns ``\\href`` into a link attribute). TeX it cannot convert comes back as None: the
caller then shows the source as text (which formgrader's MathJax still typesets).
"""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET

from latex2mathml.converter import convert_to_element

# MathML Core's presentation elements, and the few more latex2mathml writes.
ELEMENTS = frozenset({
    "math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msub", "msup", "msubsup", "mfrac", "msqrt",
    "mroot", "mstyle", "mtable", "mtr", "mtd", "mlabeledtr", "munder", "mover", "munderover", "mpadded",
    "mphantom", "menclose", "merror", "mmultiscripts", "mprescripts", "none", "semantics", "annotation",
})
# Layout attributes only: nothing that names a URL (href) or runs code (on*), no style or class.
# The cleaner's allow-lists for MathML (``course_tools.sanitise``).
ATTRIBUTES = frozenset({
    "display", "displaystyle", "scriptlevel", "mathvariant", "mathsize", "mathcolor", "mathbackground",
    "stretchy", "fence", "separator", "form", "largeop", "movablelimits", "symmetric", "accent",
    "accentunder", "lspace", "rspace", "minsize", "maxsize", "width", "height", "depth", "linethickness",
    "columnalign", "rowalign", "columnlines", "rowlines", "columnspacing", "rowspacing", "columnspan",
    "rowspan", "frame", "framespacing", "equalrows", "equalcolumns", "notation", "open", "close", "align",
    "encoding",
})


def _as_text(element: ET.Element) -> None:
    """latex2mathml keeps symbols as character references in the text (``&#x02202;``): make them
    characters, so that serialising escapes each text exactly once."""
    for node in element.iter():
        node.text = html.unescape(node.text) if node.text else node.text
        node.tail = html.unescape(node.tail) if node.tail else node.tail


def to_mathml(tex: str, display: bool = False) -> str | None:
    """``tex`` as a ``<math>`` element (a block of its own when ``display``); None if it cannot be converted."""
    try:
        element = convert_to_element(tex, display="block" if display else "inline")
    except Exception:  # noqa: BLE001 - latex2mathml raises many kinds on TeX it does not know
        return None
    _as_text(element)
    return ET.tostring(element, encoding="unicode")
