"""The five source notebooks of assignment ``cnn``, one module each; ``build_all`` writes them.

The committed ``.ipynb`` files in ``assignments/source/cnn/`` are what nbgrader reads; these
modules are how they are written and reviewed. Regenerate with ``make notebooks``.
"""
