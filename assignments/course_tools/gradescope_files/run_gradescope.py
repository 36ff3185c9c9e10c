"""Grade one Gradescope submission with the course's autograder and write results.json.

    python run_gradescope.py SUBMISSION RESULTS_JSON

SUBMISSION is what the student uploaded: a zip, a folder at any depth or loose files (``upload.py``
finds the student's ``cs_conv``, or says exactly what to upload). The autograder scores it in the
notebooks' points (``--points points.json``: each function worth its grade cell's points), so the
Gradescope score is the autograded part of the nbgrader score, and its report is Gradescope's
``results.json`` already (``execution_time`` included). ``settings.json`` holds what the instructor
chose when making the bundle: the tests' visibility, and the files that hold tasks.
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from upload import UploadError, assemble

HERE = Path(__file__).resolve().parent


def failure(message: str) -> dict:
    return {"score": 0, "output": message, "tests": [], "stdout_visibility": "visible"}


def protections(raw: dict) -> str:
    """The sandbox protections the autograder says were in effect, for the visible output and stdout."""
    lines = (raw.get("extra_data") or {}).get("protections") or []
    return "Sandbox protections in effect:\n" + "".join(f"  {line}\n" for line in lines) if lines else ""


def for_students(raw: dict, visibility: str = "visible") -> dict:
    """The autograder's report (in the notebooks' points) as Gradescope's results, every test shown as
    ``visibility``."""
    output = ("Autograded points; written answers in the notebooks are graded separately.\n"
              + str(raw.get("output", "")) + "\n\n" + protections(raw))
    return dict(raw, output=output, visibility=visibility,
                tests=[dict(test, visibility=visibility) for test in raw.get("tests", [])])


def main(argv):
    submission, results = Path(argv[0]), Path(argv[1])
    settings = json.loads((HERE / "settings.json").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        try:
            folder = assemble(submission, Path(tmp), HERE / "release_cs_conv", settings["task_files"])
        except UploadError as error:
            results.write_text(json.dumps(failure(str(error))))
            return 0
        raw_path = Path(tmp) / "raw.json"
        proc = subprocess.run([sys.executable, "-m", "autograder", "grade", str(folder), "--format", "json",
                               "--points", str(HERE / "points.json"), "--out", str(raw_path)],
                              cwd=HERE, capture_output=True, text=True)
        raw = json.loads(raw_path.read_text()) if raw_path.is_file() else {}
        print(protections(raw), end="")  # stdout: Gradescope shows it to the course staff
        if proc.returncode != 0 or not raw:
            print(proc.stdout[-4000:], proc.stderr[-4000:], file=sys.stderr)
            results.write_text(json.dumps(failure("The autograder failed on this submission; your instructor "
                                                  "has been told. Please resubmit later.\n\n" + protections(raw))))
            return 1
    results.write_text(json.dumps(for_students(raw, settings["visibility"]), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
