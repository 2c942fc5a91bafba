"""A project ``stepsaga init`` writes works at once: its own tests pass, and the SAM CLI accepts its template.

The wheel-and-fresh-venv proof of the same is ``test_init_from_wheel.py``; this one runs with this checkout, fast.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stepsaga.cli import main

ROOT = Path(__file__).resolve().parents[2]
#: Where scripts/lint-template.sh (run by `make test` before pytest) installs the SAM CLI.
TOOLS_SAM = ROOT / ".venv" / "tools" / "bin" / "sam"


def child_env(**extra: str) -> dict[str, str]:
    """This process's environment without pytest's own variables (a nested pytest must not think it is a worker)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHONPATH"))}
    return {**env, "PYTHONDONTWRITEBYTECODE": "1", **extra}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("init") / "trip"
    assert main(["init", str(folder), "--name", "TripSaga"]) == 0
    return folder


def test_the_new_projects_tests_pass(project):
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project, env=child_env(),
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    [summary] = [line for line in proc.stdout.splitlines() if " passed" in line]
    assert re.fullmatch(r"\d+ passed in [\d.]+s", summary), summary  # nothing failed, skipped or errored


def test_sam_validate_and_its_lint_accept_the_template(project):
    sam = str(TOOLS_SAM) if TOOLS_SAM.exists() else shutil.which("sam")
    if sam is None:
        pytest.fail(f"no SAM CLI: run scripts/lint-template.sh once (make test does, before pytest) to install it into "
                    f"{TOOLS_SAM.parent.parent.relative_to(ROOT)}, or put sam on PATH")
    # Offline and credential-free, as scripts/lint-template.sh runs it.
    env = child_env(AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
                    AWS_EC2_METADATA_DISABLED="true", SAM_CLI_TELEMETRY="0")
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        env.pop(key, None)
    proc = subprocess.run(["make", "validate", f"SAM={sam}"], cwd=project, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert f"{project / 'template.yaml'} is a valid SAM Template. This is according to basic SAM Validation" in out  # sam validate
    assert f"{project / 'template.yaml'} is a valid SAM Template\n" in out  # sam validate --lint: cfn-lint found nothing


def test_the_guide_shows_the_payload_bookhotel_really_receives_and_names_every_field(project):
    import json

    from stepsaga.loader import load
    from stepsaga.local import EmbeddedCloud, default_seed
    from stepsaga.orchestration import to_asl
    from stepsaga.testing import HandlerEnvironment

    guide = (ROOT / "docs" / "guide.md").read_text(encoding="utf-8")
    section = guide[guide.index("### What a handler receives"):guide.index("### The contract of a business error")]
    [shown] = re.findall(r"```json\n(.*?)```", section, re.S)
    [saga] = load(str(project / "workflows" / "trip_saga.py"))
    trip = json.loads((project / "workflows" / "inputs" / "trip.json").read_text())
    with EmbeddedCloud(saga, seed=default_seed(saga, project / "workflows" / "inputs"), root=project) as cloud:
        env = HandlerEnvironment(saga, cloud)
        flight = env.call("BookFlight", trip, execution="trip-1001")  # the real handler: its real booking id
        assert json.loads(shown) == env.payload("BookHotel", trip, results={"BookFlight": flight}, execution="trip-1001")
    states = json.loads(to_asl(saga))["States"]
    fields = {k.removesuffix(".$") for name in saga.handlers() for k in states[name]["Parameters"]["Payload"]}
    assert fields == {"saga_id", "step", "idempotency_key", "input", "results", "compensates", "error"}
    assert set(re.findall(r"^\| `(\w+)` \|", section, re.M)) == fields
