"""Write the source notebooks of assignment ``cnn`` from their percent-format sources.

    python -m course_tools.build_notebooks [--check]

(run from ``assignments/``; ``make notebooks`` does). First each source in
``course_tools/notebooks/`` gets the current text of the shared cells it includes; then
``source/cnn/<name>.ipynb`` is built from it (``course_tools.notebooks.percent_source``).
``--check`` writes nothing and exits 1 when a source's shared cells or a committed notebook are
out of date, or a notebook has no source, so a hand edit cannot go unnoticed.
"""

from __future__ import annotations

import argparse
import sys

import nbformat

from course_tools.notebooks import percent_source
from course_tools.paths import SOURCE


def notebook_text(source_text: str, prefix: str) -> str:
    """The ``.ipynb`` file's text for a synced source."""
    return nbformat.writes(percent_source.build_notebook(source_text, prefix)) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed sources and notebooks")
    args = parser.parse_args(argv)
    shared = percent_source.shared_cells()
    stale = []
    for path in percent_source.sources():
        text = path.read_text()
        synced = percent_source.synced_text(text, shared)
        target = SOURCE / f"{path.stem}.ipynb"
        built = notebook_text(synced, percent_source.prefix_for(path))
        for file, new, old in ((path, synced, text), (target, built, target.read_text() if target.exists() else None)):
            if new != old:
                stale.append(file.name)
                if not args.check:
                    file.write_text(new)
                    print(f"wrote {file}")
    orphans = sorted({p.stem for p in SOURCE.glob("*.ipynb")} - {p.stem for p in percent_source.sources()})
    if orphans:
        print("notebooks without a source in course_tools/notebooks/: " + ", ".join(orphans))
        return 1
    if args.check and stale:
        print("out of date (run make notebooks): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
