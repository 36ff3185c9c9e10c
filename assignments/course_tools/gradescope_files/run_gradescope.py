"""Grade one Gradescope submission with the course's autograder and write results.json.

    python run_gradescope.py SUBMISSION RESULTS_JSON

SUBMISSION is what the student uploaded: a zip, a folder at any depth or loose files (``upload.py``
finds the student's ``cs_conv``, or says exactly what to upload). Each test is rescaled so that the
tests of one function add up to that function's points in the notebooks (``points.json``), which makes
the Gradescope score the autograded part of the nbgrader score. ``settings.json`` holds what the
instructor chose when making the bundle: the tests' visibility, and the files that hold tasks.
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from points import cases_for
from upload import UploadError, assemble

HERE = Path(__file__).resolve().parent


def failure(message: str) -> dict:
    return {"score": 0, "output": message, "tests": [], "stdout_visibility": "visible"}


def protections(raw: dict) -> str:
    """The sandbox protections the autograder says were in effect, for the visible output and stdout."""
    lines = (raw.get("extra_data") or {}).get("protections") or []
    return "Sandbox protections in effect:\n" + "".join(f"  {line}\n" for line in lines) if lines else ""


def rescale(raw: dict, table: dict, visibility: str = "visible") -> dict:
    """Gradescope's results: each function's tests scaled to its points, every test shown as ``visibility``."""
    tests, score = [], 0.0
    for function, entry in table.items():
        chosen = cases_for(raw, function, entry["task"])
        possible = sum(float(t.get("max_score") or 0) for t in chosen)
        for test in chosen:
            scale = entry["points"] / possible if possible else 0.0
            scaled = dict(test, score=round(float(test.get("score") or 0) * scale, 4),
                          max_score=round(float(test.get("max_score") or 0) * scale, 4), visibility=visibility)
            scaled["extra_data"] = dict(test.get("extra_data") or {}, notebook=entry["notebook"])
            tests.append(scaled)
            score += scaled["score"]
    total = sum(entry["points"] for entry in table.values())
    output = (f"Autograded: {score:.2f} of {total:g} points. Written answers in the notebooks are "
              "graded separately.\n" + str(raw.get("output", "")) + "\n\n" + protections(raw))
    return {"score": round(score, 4), "execution_time": raw.get("execution_time"), "output": output,
            "tests": tests, "visibility": visibility,
            "stdout_visibility": raw.get("stdout_visibility", "hidden"),
            "extra_data": raw.get("extra_data", {})}


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
                               "--out", str(raw_path)], cwd=HERE, capture_output=True, text=True)
        raw = json.loads(raw_path.read_text()) if raw_path.is_file() else {}
        print(protections(raw), end="")  # stdout: Gradescope shows it to the course staff
        if proc.returncode != 0 or not raw:
            print(proc.stdout[-4000:], proc.stderr[-4000:], file=sys.stderr)
            results.write_text(json.dumps(failure("The autograder failed on this submission; your instructor "
                                                  "has been told. Please resubmit later.\n\n" + protections(raw))))
            return 1
    table = json.loads((HERE / "points.json").read_text())
    results.write_text(json.dumps(rescale(raw, table, settings["visibility"]), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
