"""Issue 7.9: the reference saga's tests keep passing after a user adds a saga the documented way.

A copy of the project gets a second saga (`stepsaga compile`, `stepsaga template`, a passing
`stepsaga check`), then the template and statelint tests run there, against its template.yaml and asl/.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NESTED = "STEPSAGA_SECOND_SAGA_COPY"

SHIPMENT = '''\
"""A user's own saga in another domain, beside the reference one."""

from stepsaga import Compensation, EventTrigger, HttpTrigger, Saga, Step, Table

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["shipment_id"],
    "properties": {"shipment_id": {"type": "string", "maxLength": 64}},
}

saga = Saga(
    "ShipmentSaga",
    tables=[Table("shipments", partition_key="shipment_id")],
    steps=[
        Step("BookCarrier", "shipping.book.handler", tables={"shipments": ["GetItem", "PutItem"]},
             compensation=Compensation("CancelCarrier", "shipping.cancel.handler", tables={"shipments": ["UpdateItem"]})),
        Step("PrintLabel", "shipping.label.handler", retriable=True),
    ],
    triggers=[HttpTrigger("/shipments", schema=SCHEMA), EventTrigger("shop.orders", "OrderPaid")],
)
'''


def _stepsaga(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "stepsaga"
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True)


@pytest.mark.skipif(os.environ.get(NESTED) == "1", reason="already inside the copy")
def test_the_reference_saga_tests_pass_with_a_second_saga_in_the_project(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    for name in ("workflows", "tasks", "compensations", "asl", "tests"):
        shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    for name in ("template.yaml", "pyproject.toml"):
        shutil.copy(ROOT / name, project / name)
    (project / "shipping").mkdir()
    for module in ("book", "cancel", "label"):
        (project / "shipping" / f"{module}.py").write_text("def handler(event, context):\n    return {}\n")
    (project / "workflows" / "shipment_saga.py").write_text(SHIPMENT)

    for args in (("compile", "workflows/shipment_saga.py", "-o", "asl/"), ("template",), ("check",)):
        proc = _stepsaga(*args, cwd=project)
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    assert (project / "asl" / "shipment_saga.asl.json").is_file()
    assert "ShipmentSagaStateMachine" in (project / "template.yaml").read_text()

    env = {**os.environ, NESTED: "1", "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "not hash_seeds",  # determinism is tested at home
         "tests/unit/test_template.py", "tests/unit/test_statelint.py"],
        cwd=project, env=env, capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert " failed" not in proc.stdout and " passed" in proc.stdout
