"""Find the student's ``cs_conv`` in whatever they uploaded to Gradescope. Standard library only.

Students upload ``cnn_submission.zip`` from ``collect_submission.py`` (Gradescope unpacks it), but also
the zip unpacked or not, the whole assignment folder at any depth, or only the ``.py`` and ``.pyx``
files they edited, loose. ``assemble(upload, work)`` understands all of these:

1. zips in the upload (Gradescope leaves a zip inside a zip, or a ``.zip`` renamed by a browser, as it
   is) are read, their ``.py`` and ``.pyx`` entries only, within size limits, never outside ``work``;
2. the shallowest ``cs_conv`` folder, in the upload itself or else in a zip, supplies every file under
   it; without one, each file that holds a task is taken by its name, wherever it is (a flat upload);
3. the graded folder is the release's ``cs_conv`` (``release_cs_conv/`` in the bundle) with the
   student's files over it, so the files a student never edits need not be uploaded.

If a file that holds a task is missing, ``UploadError`` says which, and exactly what to upload.
Links are never followed, and macOS's ``__MACOSX`` folders and ``._`` files are skipped.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path, PurePosixPath

SOURCE_SUFFIXES = {".py", ".pyx"}
# Folders walked below the upload: the assignment folder up to four down, then cs_conv and its sub-packages.
MAX_DEPTH = 7
MAX_ZIP_BYTES = 20_000_000
MAX_ZIP_FILES = 500
HOW_TO_UPLOAD = ("Upload cnn_submission.zip: in your assignment folder run  python collect_submission.py  "
                 "and upload the zip it writes, as it is (or upload the assignment folder itself, with cs_conv/ "
                 "inside).")


class UploadError(ValueError):
    """The upload lacks files the grader needs; the message is for the student."""


def _skipped(parts: tuple[str, ...]) -> bool:
    return any(part == "__MACOSX" or part.startswith("._") or part == "__pycache__" for part in parts)


def _files(root: Path) -> list[PurePosixPath]:
    """Regular files under ``root`` (never through a link), as paths relative to it, shallowest first."""
    found = []

    def walk(folder: Path, depth: int) -> None:
        for entry in sorted(folder.iterdir()):
            relative = PurePosixPath(*entry.relative_to(root).parts)
            if entry.is_symlink() or _skipped(relative.parts):
                continue
            if entry.is_dir() and depth < MAX_DEPTH:
                walk(entry, depth + 1)
            elif entry.is_file():
                found.append(relative)

    walk(root, 0)
    return sorted(found, key=lambda path: (len(path.parts), str(path)))


def extract_sources(archive: Path, target: Path) -> Path:
    """The ``.py``/``.pyx`` entries of the zip ``archive`` written under ``target``; returns ``target``."""
    target.mkdir(parents=True)
    total = 0
    with zipfile.ZipFile(archive) as zipped:
        entries = [info for info in zipped.infolist() if not info.is_dir()]
        if len(entries) > MAX_ZIP_FILES:
            raise UploadError(f"{archive.name} holds {len(entries)} files, more than the {MAX_ZIP_FILES} a "
                              f"submission can have. {HOW_TO_UPLOAD}")
        for info in entries:
            name = PurePosixPath(info.filename.replace("\\", "/"))
            if (name.suffix not in SOURCE_SUFFIXES or name.is_absolute() or ".." in name.parts
                    or _skipped(name.parts) or len(name.parts) > MAX_DEPTH + 1):
                continue
            total += info.file_size
            if total > MAX_ZIP_BYTES:
                raise UploadError(f"{archive.name} unpacks to more than {MAX_ZIP_BYTES // 1_000_000} MB of "
                                  f"code. {HOW_TO_UPLOAD}")
            destination = target.joinpath(*name.parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            with zipped.open(info) as source, open(destination, "wb") as out:
                shutil.copyfileobj(source, out)
    return target


def _package(root: Path, files: list[PurePosixPath]) -> dict[PurePosixPath, Path] | None:
    """Files of the shallowest ``cs_conv`` folder under ``root``, by their path inside it."""
    folders = sorted({PurePosixPath(*path.parts[:index + 1]) for path in files
                      for index, part in enumerate(path.parts[:-1]) if part == "cs_conv"},
                     key=lambda folder: (len(folder.parts), str(folder)))
    for folder in folders:
        inside = {path.relative_to(folder): root.joinpath(*path.parts) for path in files
                  if path.is_relative_to(folder) and path.suffix in SOURCE_SUFFIXES}
        if inside:
            return inside
    return None


def locate(upload: Path, work: Path, task_files: list[str]) -> dict[PurePosixPath, Path]:
    """The student's files, by their path inside ``cs_conv``; raises ``UploadError`` if a task file is missing."""
    roots = [upload]
    for index, archive in enumerate(path for path in _files(upload) if path.suffix == ".zip"):
        try:
            roots.append(extract_sources(upload.joinpath(*archive.parts), work / f"zip{index}"))
        except zipfile.BadZipFile as error:
            raise UploadError(f"{archive} is not a zip file that can be read ({error}). {HOW_TO_UPLOAD}") from None
    listings = [(root, _files(root)) for root in roots]
    for root, files in listings:
        package = _package(root, files)
        if package is not None:
            break
    else:
        # A flat upload: each task file by its name, the shallowest copy first.
        package = {}
        for task_file in map(PurePosixPath, task_files):
            for root, files in listings:
                match = next((path for path in files if path.name == task_file.name), None)
                if match is not None:
                    package[task_file] = root.joinpath(*match.parts)
                    break
    missing = [name for name in task_files if PurePosixPath(name) not in package]
    if missing:
        found = ", ".join(f"cs_conv/{name}" for name in sorted(map(str, package))) or "none of them"
        raise UploadError("Your upload is missing " + ", ".join(f"cs_conv/{name}" for name in missing)
                          + f" (found: {found}). {HOW_TO_UPLOAD}")
    return package


def assemble(upload: Path, work: Path, release_package: Path, task_files: list[str]) -> Path:
    """A folder under ``work`` holding ``cs_conv``: the release's copy with the student's files over it."""
    package = locate(upload, work, task_files)
    folder = work / "submission"
    shutil.copytree(release_package, folder / "cs_conv")
    for name, path in package.items():
        destination = folder / "cs_conv" / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination, follow_symlinks=False)
    return folder
