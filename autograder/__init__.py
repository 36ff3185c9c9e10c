"""The hidden grader and the instructor's release tools. Never copied into a student release.

Command line: ``python -m autograder grade PATH`` / ``grade-all DIR`` (``autograder/cli.py``).
The grading pipeline is declared in ``autograder/grade.py``; the JSON it writes (Gradescope's
``results.json``) is documented in ``autograder/report.py``.
"""
