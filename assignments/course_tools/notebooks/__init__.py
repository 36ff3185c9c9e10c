"""The five source notebooks of assignment ``cnn``, as jupytext percent-format files, and their build.

``01_vector_backprop.py`` ... ``05_convnet.py`` are the notebooks instructors edit and run (JupyterLab
opens them as notebooks with the jupytext extension); ``shared.py`` holds the cells several of them
include; ``percent_source`` turns a source into the nbgrader notebook that ``make notebooks``
(``course_tools.build_notebooks``) commits as ``source/cnn/<name>.ipynb``.
"""
