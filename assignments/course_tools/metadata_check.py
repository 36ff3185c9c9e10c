"""nbgrader's ``CheckCellMetadata``, with nbgrader's metadata schema checked against its metaschema once per process.

nbgrader's ``MetadataValidator`` (``nbgrader.nbgraderformat.v3.MetadataValidatorV3``) validates each
cell's nbgrader metadata with ``jsonschema.validate``, which first checks the schema itself against
JSON Schema's metaschema: the same fixed schema, the same answer, for every cell of every notebook
(profiled: 1.21 of ``CheckCellMetadata``'s 1.38 s per student, 362 schema checks). Here the schema is
checked once (``checked_validator``) and each cell is validated with the validator that check gave.

Every check nbgrader makes is still made, by nbgrader's own code where it can be reached: the grade
id, points, markdown and task cell rules and the duplicate ids are ``MetadataValidatorV3``'s methods,
unchanged. Only the step beneath them, ``BaseMetadataValidator.validate_cell`` (the schema version,
then the schema), is replaced, by ``SchemaCheckedOnce``, which nbgrader's class reaches through its
``super()`` call; and ``CheckCellMetadataSchemaOnce.preprocess`` repeats ``CheckCellMetadata``'s few
lines of error handling, since nbgrader's names the validator class it uses with no way to set it.
Nothing of nbgrader's or jsonschema's is patched. ``tests/test_metadata_check.py`` compares every
error with nbgrader's own.
"""

from __future__ import annotations

import functools
import json
import traceback
from typing import Any

from jsonschema import exceptions, validators
from nbformat.notebooknode import NotebookNode
from nbgrader.nbgraderformat import MetadataValidator, SchemaTooNewError, SchemaTooOldError, ValidationError
from nbgrader.nbgraderformat.common import BaseMetadataValidator
from nbgrader.preprocessors import CheckCellMetadata


@functools.lru_cache(maxsize=8)
def checked_validator(schema_text: str) -> Any:
    """A jsonschema validator for the JSON schema ``schema_text``, the schema checked against its metaschema.

    What ``jsonschema.validate`` does before validating an instance (the validator class the schema's
    ``$schema`` names, its ``check_schema``), done once per schema and process; a schema that fails
    the check raises ``jsonschema.SchemaError`` on every call, as ``jsonschema.validate`` would.
    """
    schema = json.loads(schema_text)
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


class SchemaCheckedOnce(BaseMetadataValidator):
    """``BaseMetadataValidator.validate_cell`` (schema version, then schema), the schema checked once."""

    def __init__(self) -> None:
        super().__init__()
        # In the schema file's key order, which decides among equally relevant errors (best_match).
        self._schema_text = json.dumps(self.schema)

    def validate_cell(self, cell: NotebookNode) -> None:
        if "nbgrader" not in cell.metadata:
            return
        # nbgrader's version errors, word for word (BaseMetadataValidator.validate_cell).
        version = cell.metadata["nbgrader"].get("schema_version", 0)
        if version < self.schema_version:
            raise SchemaTooOldError(f"Outdated schema version: {version} (expected {self.schema_version})",
                                    version, self.schema_version)
        if version > self.schema_version:
            raise SchemaTooNewError(f"Schema version is too new: {version} (expected {self.schema_version})",
                                    version, self.schema_version)
        # jsonschema.validate's last two lines, with a validator whose schema is already checked.
        error = exceptions.best_match(checked_validator(self._schema_text).iter_errors(cell.metadata["nbgrader"]))
        if error is not None:
            raise error


class MetadataValidatorSchemaOnce(MetadataValidator, SchemaCheckedOnce):
    """nbgrader's ``MetadataValidator``, whose ``super().validate_cell`` is ``SchemaCheckedOnce``'s.

    The method order is this class, ``MetadataValidatorV3``, ``SchemaCheckedOnce``,
    ``BaseMetadataValidator``: nbgrader's rules run as nbgrader wrote them, on top of the schema step.
    """


class CheckCellMetadataSchemaOnce(CheckCellMetadata):
    """nbgrader's ``CheckCellMetadata``: the same checks, errors and log, with ``MetadataValidatorSchemaOnce``."""

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        try:
            MetadataValidatorSchemaOnce().validate_nb(nb)
        except ValidationError:
            self.log.error(traceback.format_exc())
            msg = "Notebook failed to validate; the nbgrader metadata may be corrupted."
            self.log.error(msg)
            raise ValidationError(msg)  # noqa: B904 - chained to the cause, as nbgrader raises it
        return nb, resources
