"""The base of the course's own nbconvert preprocessors that nbgrader's pipelines run.

nbconvert's ``Preprocessor``, not nbgrader's ``NbGraderPreprocessor``: nbgrader's redeclares
``display_data_priority`` without config, so ``HTMLExporter``'s setting of it would print a
warning on stderr on every run. Enabled by default, as nbgrader's are.
"""

from nbconvert.preprocessors import Preprocessor
from traitlets import default


class CoursePreprocessor(Preprocessor):
    @default("enabled")
    def _enabled_default(self):
        return True
