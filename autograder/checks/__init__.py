"""The cases of every student function, one module per notebook's family of layers.

Each module exposes ``CASES``: every function's cases by the name its tests carry (``speed``
adds the fast layers' timed case to ``conv`` and ``pool``). ``autograder.catalog`` gathers them,
and ``cs_conv.tasks`` gives each its module, task and place.
"""
