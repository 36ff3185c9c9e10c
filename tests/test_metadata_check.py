"""course_tools/metadata_check.py: nbgrader's CheckCellMetadata, its schema checked once per process.

Every corruption of a real source notebook's nbgrader metadata fails both nbgrader's step and the
course's, with the same error and the same message; the course's checks nbgrader's schema against
the metaschema once, however many cells and notebooks it validates.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable
from pathlib import Path

import jsonschema
import nbformat
import pytest
from jsonschema import validators
from nbgrader.nbgraderformat import MetadataValidator
from nbgrader.preprocessors import CheckCellMetadata
from traitlets.config.loader import PyFileConfigLoader

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "assignments"))

from course_tools.metadata_check import (  # noqa: E402
    CheckCellMetadataSchemaOnce,
    MetadataValidatorSchemaOnce,
    checked_validator,
)

SOURCE = REPO / "assignments" / "source" / "cnn" / "02_convolution.ipynb"


def source_notebook() -> nbformat.NotebookNode:
    return nbformat.read(SOURCE, as_version=4)


def first(nb: nbformat.NotebookNode, cell_type: str, **flags: bool) -> nbformat.NotebookNode:
    """The notebook's first cell of ``cell_type`` whose nbgrader metadata has every one of ``flags``."""
    return next(cell for cell in nb.cells if cell.cell_type == cell_type and "nbgrader" in cell.metadata
                and all(cell.metadata.nbgrader.get(name) == value for name, value in flags.items()))


def meta(nb, cell_type, **flags):
    return first(nb, cell_type, **flags).metadata.nbgrader


def as_code(nb, cell):
    nb.cells[nb.cells.index(cell)] = nbformat.v4.new_code_cell(cell.source, metadata=cell.metadata)


def duplicate_id(nb):
    meta(nb, "code", locked=True, grade=False)["grade_id"] = meta(nb, "code", grade=True)["grade_id"]


CORRUPTIONS: dict[str, Callable[[nbformat.NotebookNode], object]] = {
    # the schema
    "points that are text": lambda nb: meta(nb, "code", grade=True).update(points="ten"),
    "negative points": lambda nb: meta(nb, "code", grade=True).update(points=-1),
    "a grade flag that is not boolean": lambda nb: meta(nb, "code", grade=True).update(grade="yes"),
    "an unknown key": lambda nb: meta(nb, "code", grade=True).update(bonus=True),
    "a grade_id with a space": lambda nb: meta(nb, "code", grade=True).update(grade_id="my cell"),
    "a missing required key": lambda nb: meta(nb, "code", grade=True).pop("locked"),
    "a short checksum": lambda nb: meta(nb, "code", grade=True).update(checksum="abc"),
    "an unknown cell type": lambda nb: meta(nb, "code", grade=True).update(cell_type="heading"),
    "several schema errors": lambda nb: meta(nb, "code", grade=True).update(points="ten", grade="yes", x=1),
    # the schema version
    "an old schema version": lambda nb: meta(nb, "code", grade=True).update(schema_version=2),
    "a new schema version": lambda nb: meta(nb, "code", grade=True).update(schema_version=4),
    "no schema version": lambda nb: meta(nb, "code", grade=True).pop("schema_version"),
    # nbgrader's rules beyond the schema
    "a grade cell without an id": lambda nb: meta(nb, "code", grade=True).pop("grade_id"),
    "an empty grade id": lambda nb: meta(nb, "code", grade=True).update(grade_id=""),
    "a grade cell without points": lambda nb: meta(nb, "code", grade=True).pop("points"),
    "a markdown grade cell that is no solution": lambda nb: meta(nb, "markdown", grade=True).update(solution=False),
    "a markdown solution that is not graded": lambda nb: meta(nb, "markdown", grade=True).update(grade=False),
    "a task cell that is code": lambda nb: (meta(nb, "markdown", grade=True).update(task=True, grade=False,
                                                                                    solution=False),
                                            as_code(nb, first(nb, "markdown", task=True))),
    "a duplicated grade id": duplicate_id,
}


def outcome(check: Callable[[nbformat.NotebookNode], object], nb: nbformat.NotebookNode) -> tuple[type, str] | None:
    """What ``check`` raises on a copy of ``nb`` (its type and message), or None."""
    try:
        check(copy.deepcopy(nb))
    except Exception as error:  # noqa: BLE001 - the error itself is what is compared
        return type(error), str(error)
    return None


def test_the_source_notebook_passes_both():
    nb = source_notebook()
    assert outcome(MetadataValidator().validate_nb, nb) is None
    assert outcome(MetadataValidatorSchemaOnce().validate_nb, nb) is None
    assert CheckCellMetadataSchemaOnce()(copy.deepcopy(nb), {})[0] == nb


@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_corrupted_metadata_fails_with_nbgraders_own_error(corruption):
    nb = source_notebook()
    CORRUPTIONS[corruption](nb)
    theirs = outcome(MetadataValidator().validate_nb, nb)
    assert theirs is not None, f"nbgrader accepts {corruption}: the case tests nothing"
    assert outcome(MetadataValidatorSchemaOnce().validate_nb, nb) == theirs
    step = outcome(lambda nb: CheckCellMetadata()(nb, {}), nb)
    assert outcome(lambda nb: CheckCellMetadataSchemaOnce()(nb, {}), nb) == step


ERROR = "jsonschema.exceptions.ValidationError:"


def test_the_step_logs_what_nbgraders_logs(caplog):
    nb = source_notebook()
    meta(nb, "code", grade=True).update(points="ten")
    logged = []
    for step in (CheckCellMetadata(), CheckCellMetadataSchemaOnce()):
        caplog.clear()
        with pytest.raises(jsonschema.ValidationError, match="the nbgrader metadata may be corrupted"):
            step(copy.deepcopy(nb), {})
        # the traceback from its error on (the frames differ), then nbgrader's message
        texts = [record.getMessage() for record in caplog.records]
        logged.append([text[text.find(ERROR):] if text.startswith("Traceback") else text for text in texts])
    assert logged[0] == logged[1]
    assert logged[0][0].startswith(f"{ERROR} 'ten' is not of type 'number'")
    assert logged[0][1] == "Notebook failed to validate; the nbgrader metadata may be corrupted."


def test_the_schema_is_checked_against_the_metaschema_once(monkeypatch):
    schema = MetadataValidator().schema
    validator_class = validators.validator_for(schema)
    checks = []
    real = validator_class.check_schema.__func__
    monkeypatch.setattr(validator_class, "check_schema",
                        classmethod(lambda cls, *args, **kw: (checks.append(1), real(cls, *args, **kw))[1]))
    nb = source_notebook()
    MetadataValidator().validate_nb(nb)
    assert len(checks) == len(nb.cells), "nbgrader's own checks the schema once per cell"
    checks.clear()
    checked_validator.cache_clear()
    for _ in range(3):
        CheckCellMetadataSchemaOnce()(copy.deepcopy(nb), {})
    assert len(checks) == 1


def test_a_schema_that_fails_its_metaschema_is_refused_on_every_call():
    for _ in range(2):
        with pytest.raises(jsonschema.SchemaError, match="5 is not valid"):
            checked_validator('{"$schema": "http://json-schema.org/draft-04/schema#", "type": 5}')


def test_the_course_config_checks_metadata_with_it():
    config = PyFileConfigLoader("nbgrader_config.py", str(REPO / "assignments")).load_config()
    for steps in (config.Autograde.sanitize_preprocessors, config.Autograde.autograde_preprocessors):
        assert CheckCellMetadataSchemaOnce in steps and CheckCellMetadata not in steps
