"""asl-validator (npm) validates the compiled ASL, JSONata expressions included, which statelint does not parse.

The committed JSONPath ASL and the JSONata golden file both pass; a JSONata machine with one broken expression
is rejected by asl-validator, naming its field, while statelint and stepsaga's own linter let it through.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stepsaga.asl import lint_text

ROOT = Path(__file__).resolve().parents[2]
VALIDATOR = ROOT / "tests" / "asl-validator" / "node_modules" / ".bin" / "asl-validator"
JSONATA_GOLDEN = ROOT / "tests" / "golden" / "order_saga_jsonata.asl.json"
FILES = [*sorted((ROOT / "asl").glob("*.asl.json")), JSONATA_GOLDEN]


@pytest.fixture(scope="module")
def validator() -> Path:
    if shutil.which("node") is None:
        pytest.skip("node is not installed: asl-validator cannot run (make test installs it with npm)")
    if not VALIDATOR.is_file():
        pytest.skip("asl-validator is not installed: run `npm ci --prefix tests/asl-validator` (make test does)")
    return VALIDATOR


def validate(validator: Path, *paths: Path) -> subprocess.CompletedProcess[str]:
    args = [arg for path in paths for arg in ("--json-path", str(path))]
    return subprocess.run([str(validator), *args], capture_output=True, text=True, timeout=120)


def test_the_compiled_asl_in_both_query_languages_passes_asl_validator(validator):
    proc = validate(validator, *FILES)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count(" is valid") == len(FILES) >= 2


def broken(tmp_path: Path) -> Path:
    """The JSONata golden file with one expression cut short: ValidateOrder's input to its handler."""
    doc = json.loads(JSONATA_GOLDEN.read_text())
    payload = doc["States"]["ValidateOrder"]["Arguments"]["Payload"]
    assert payload["input"] == "{% $input %}"
    payload["input"] = "{% $merge([$input, %}"
    path = tmp_path / "broken.asl.json"
    path.write_text(json.dumps(doc, indent=2))
    return path


def test_asl_validator_rejects_a_broken_jsonata_expression_naming_its_field(validator, tmp_path):
    proc = validate(validator, broken(tmp_path))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "/States/ValidateOrder/Arguments/Payload/input is invalid" in proc.stdout + proc.stderr


def test_statelint_and_stepsagas_linter_do_not_parse_jsonata_so_they_let_it_through(tmp_path):
    # Why asl-validator is run at all: the other two check the machine, not its expressions.
    path = broken(tmp_path)
    assert lint_text(path.read_text()) == []
    exe = shutil.which("statelint", path=str(Path(sys.executable).parent)) or shutil.which("statelint")
    assert exe, "statelint is a dev dependency: pip install -e '.[dev]'"
    for target in (JSONATA_GOLDEN, path):
        proc = subprocess.run([exe, str(target)], capture_output=True, text=True)
        assert proc.returncode == 0 and proc.stdout.strip() == "", proc.stdout + proc.stderr
