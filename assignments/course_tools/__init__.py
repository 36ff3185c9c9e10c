"""The instructor's tools for the nbgrader course in ``assignments/``.

- ``cells`` and ``notebooks/``: write the five source notebooks (``make notebooks``).
- ``release``: the student release, written inside ``nbgrader generate_assignment`` (``make release``);
  ``release_files/``: what it ships besides the notebooks and stubs.
- ``paths``: where the repository, the solved kit, the grader and the course are.
- ``fences``: the solution fences of the solved kit, stubbed for the release, the samples and the
  Gradescope bundle, and read by the leak scan.
- ``leaks``: scan a release for solution text, hidden tests and grader files.
- ``verdicts``: the nbgrader preprocessors that put the sandboxed autograder's verdicts in grade cells.
- ``kernel``: the sandboxed kernel that runs submitted notebooks while grading.
- ``nofollow_copy``: nbgrader's copy of a submission, with whatever came through a link deleted.
- ``pending`` and ``templates/``: feedback that shows written answers not yet graded as pending.
- ``sanitise`` and ``mathml``: every page nbconvert renders (feedback, formgrader) shows student HTML
  inert and math as MathML, so feedback needs no script and no network.
- ``grading``: autograde, feedback and CSV exports (``make grade``), and ``gradescope``: the bundle
  (``gradescope_files/``).
- ``scores``: every score from the gradebook, autograded, manual, pending and total apart
  (``grades.csv``, ``notebooks.csv``, the printed table).
- ``samples`` and ``demo``: sample submissions and the end-to-end ``make demo``.

Never copied into a release.
"""
