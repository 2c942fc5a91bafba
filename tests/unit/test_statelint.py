"""The committed ASL passes statelint, the independent States Language validator."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted((ROOT / "asl").glob("*.asl.json"))


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_committed_asl_passes_statelint(path):
    exe = shutil.which("statelint", path=str(Path(sys.executable).parent)) or shutil.which("statelint")
    assert exe, "statelint is a dev dependency: pip install -e '.[dev]'"
    proc = subprocess.run([exe, str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == "" and proc.stderr.strip() == ""


def test_statelint_does_reject_broken_asl(tmp_path):
    # Proves the check above can fail: statelint really validates.
    bad = tmp_path / "bad.asl.json"
    bad.write_text('{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke"}}}')
    exe = shutil.which("statelint", path=str(Path(sys.executable).parent)) or shutil.which("statelint")
    proc = subprocess.run([exe, str(bad)], capture_output=True, text=True)
    assert proc.returncode != 0 or proc.stdout.strip()


def test_there_is_committed_asl():
    # A user's own sagas may sit beside the reference one (issue 7.9).
    assert "order_saga.asl.json" in [p.name for p in FILES]
