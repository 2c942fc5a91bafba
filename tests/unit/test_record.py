"""Record keeps its promise: slots and annotations agree, fields follow the class hierarchy, the compile path stays light."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stepsaga._record import Record

ROOT = Path(__file__).resolve().parents[2]


def test_a_slot_without_annotation_fails_at_class_creation():
    with pytest.raises(TypeError, match=r"test_record\..*\.Point: slot 'y' has no annotation; add 'y: <type>'"):
        class Point(Record):  # noqa: F841
            __slots__ = ("x", "y")
            x: int


def test_an_annotation_without_slot_fails_at_class_creation():
    with pytest.raises(TypeError, match=r"test_record\..*\.Point: field 'y' is annotated but not in __slots__"):
        class Point(Record):  # noqa: F841
            __slots__ = ("x",)
            x: int
            y: int


def test_a_subclass_that_redeclares_a_base_slot_fails_at_class_creation():
    class Base(Record):
        __slots__ = ("attempts",)
        attempts: int

    with pytest.raises(TypeError, match=r"Kind: slot 'attempts' is already a field of a base class; remove it"):
        class Kind(Base):  # noqa: F841
            __slots__ = ("error", "attempts")
            error: str
            attempts: int


class _Base(Record):
    __slots__ = ("attempts",)
    attempts: int


class _Kind(_Base):
    __slots__ = ("error",)
    error: str

    def __init__(self, error: str, attempts: int = 1) -> None:
        self._init(error=error, attempts=attempts)


def test_fields_run_along_the_class_hierarchy():
    a = _Kind("Boom", 2)
    assert _Kind._fields == ("attempts", "error")
    assert repr(a) == "_Kind(attempts=2, error='Boom')"
    assert a != _Kind("Boom", 3) and a == _Kind("Boom", 2) and hash(a) == hash(_Kind("Boom", 2))
    assert a.replace(attempts=5) == _Kind("Boom", 5)


def test_init_must_set_every_field():
    class Half(Record):
        __slots__ = ("x", "y")
        x: int
        y: int

        def __init__(self, x: int) -> None:
            self._init(x=x)

    with pytest.raises(TypeError, match=r"Half\._init\(\) leaves y unset"):
        Half(1)


def test_every_record_of_the_package_passes_its_own_check():
    # importing is the check: a mismatch raises at class creation
    import stepsaga.asl.model
    import stepsaga.errors
    import stepsaga.functions
    import stepsaga.model

    for module in (stepsaga.asl.model, stepsaga.errors, stepsaga.functions, stepsaga.model):
        records = [v for v in vars(module).values() if isinstance(v, type) and issubclass(v, Record) and v is not Record]
        assert records and all(r._fields for r in records), module.__name__


def test_compile_path_imports_neither_dataclasses_nor_typing():
    code = (
        "import sys; from stepsaga.cli import main; rc = main(['compile', 'workflows/order_saga.py']);"
        "print(rc, sorted({'dataclasses', 'typing'} & set(sys.modules)), file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert proc.stderr.strip().splitlines()[-1] == "0 []"
    assert json.loads(proc.stdout)["StartAt"] == "BeginSaga"
