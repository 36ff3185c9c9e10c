"""The cases of every student function, one module per notebook's family of layers.

Each module exposes ``CHECKS``: a tuple of ``autograder.cases.Check``; ``autograder.catalog``
puts them in notebook order.
"""
