"""Declaring faults and catching stepsaga's errors load neither boto3 nor moto (issue 8.1, 8.5); `stepsaga run` loads
only the moto services it uses (issue 10)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = {"boto3", "botocore", "moto"}


def heavy_after(statement: str) -> list[str]:
    """The heavy top-level packages in sys.modules after running ``statement`` in a fresh interpreter."""
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return sorted(set(json.loads(proc.stdout.strip().splitlines()[-1])) & HEAVY)


@pytest.mark.parametrize(
    "statement",
    [
        "import stepsaga.local.faults",
        "from stepsaga.local import Fail, Timeout, FunctionTimeout, Exit, CrashAfter, Fault, parse_fault",
        "from stepsaga.local import FaultError, SeedError, SagaFailedError, ContractViolationError",
        "from stepsaga.testing import Fail, Timeout, CrashAfter, SagaFailedError, ContractViolationError",
        "import stepsaga.local.engine",
        "import stepsaga.local.dispatch",
        "from stepsaga.errors import MotoVersionError, StartExecutionError, TemplateError, HandlerPathError, PatternError",
        "import stepsaga.choreography.pattern",
    ],
)
def test_declaring_faults_and_errors_stays_light(statement: str) -> None:
    assert heavy_after(statement) == []


def test_the_engine_names_still_load_on_first_use() -> None:
    # the lazy names are real: asking for EmbeddedCloud loads the engine, and the objects are the same
    assert heavy_after("from stepsaga.local import EmbeddedCloud") == ["boto3", "botocore", "moto"]
    import stepsaga.local
    import stepsaga.testing
    from stepsaga.local.cloud import EmbeddedCloud
    from stepsaga.local.result import SagaResult

    assert stepsaga.local.EmbeddedCloud is EmbeddedCloud and stepsaga.testing.EmbeddedCloud is EmbeddedCloud
    assert stepsaga.testing.SagaResult is SagaResult
    with pytest.raises(AttributeError):
        stepsaga.local.NoSuchName  # noqa: B018


def test_every_error_class_lives_in_errors() -> None:
    # old import paths keep working by re-export, and they are the same classes
    import stepsaga.errors as errors
    from stepsaga.choreography.pattern import PatternError
    from stepsaga.local import ContractViolationError, FaultError, SagaFailedError, SeedError
    from stepsaga.local.quotas import StartExecutionError
    from stepsaga.sandbox import HandlerPathError

    for cls in (ContractViolationError, FaultError, SagaFailedError, SeedError, StartExecutionError, HandlerPathError, PatternError):
        assert cls.__module__ == "stepsaga.errors" and getattr(errors, cls.__name__) is cls
        assert issubclass(cls, errors.StepsagaError)


#: What the compile path and the choreography's read-only commands must not load (issue 9: graph, compile, cost).
NOT_ON_THE_LIGHT_PATH = HEAVY | {"pydantic", "rich", "ruamel", "yaml", "jsonata"}


@pytest.mark.parametrize(
    "argv",
    [
        ["graph", "workflows/order_saga.py", "--mode", "choreography"],
        ["compile", "workflows/order_saga.py", "--mode", "choreography"],
        ["compile", "tests/golden/jsonata_order_saga.py"],  # a JSONata saga: its evaluator is the runtime's only
        ["cost", "workflows/order_saga.py", "--per-day", "10000"],
        ["cost", "workflows/order_saga.py", "--per-day", "10000", "--json"],
        # issue 11.4: importing and linting ASL, and compiling a module of the low-level builder
        ["import", "asl/order_saga.asl.json"],
        ["lint", "asl/order_saga.asl.json"],
        ["compile", "tests/asl_corpus/imported/travel_booking.py"],
    ],
)
def test_the_choreography_commands_stay_light(argv: list[str]) -> None:
    code = (
        f"import json, sys\nfrom stepsaga.cli import main\nrc = main({argv!r})\n"
        "print(json.dumps([rc, sorted({m.split('.')[0] for m in sys.modules}), 'dataclasses' in sys.modules]), file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    rc, loaded, dataclasses = json.loads(proc.stderr.strip().splitlines()[-1])
    assert rc == 0 and sorted(set(loaded) & NOT_ON_THE_LIGHT_PATH) == []
    if argv[0] == "compile":
        assert not dataclasses  # the compile path is measured (bench/compile.py): no dataclasses there


#: The moto packages `stepsaga run` may load, and why: the services it calls, moto's own machinery, and what
#: those import. Batch (with EC2, ECS and their tables, about a second) is left out: no run calls it (issue 10).
RUN_MAY_LOAD = {
    "dynamodb", "sqs", "stepfunctions", "events",  # the services a run calls (events: a choreography's rules)
    "core", "backends", "backend_index", "settings", "utilities", "moto_api",  # moto itself
    "logs", "s3", "cloudwatch",  # the interpreter's execution logging imports moto.logs.models, which imports S3's
    "iam", "sts",  # moto's request authorisation (core/authorization.py)
    "batch",  # deferred: in sys.modules, its __init__ not run (stepsaga.local._moto.imports)
}


@pytest.mark.parametrize("mode", ["orchestration", "choreography", "both"])
def test_stepsaga_run_imports_only_the_moto_services_it_uses(mode: str) -> None:
    code = (
        "import json, sys\nfrom stepsaga.cli import main\n"
        f"rc = main(['run', 'workflows/order_saga.py', '--input', '@workflows/inputs/order.json', '--json', '--mode', {mode!r}])\n"
        "from stepsaga.local._moto import imports\n"
        "print(json.dumps([rc, sorted(m for m in sys.modules if m.startswith('moto.')), imports.deferred('moto.batch')]), file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    rc, loaded, batch_deferred = json.loads(proc.stderr.strip().splitlines()[-1])
    assert rc == 0
    assert not [m for m in loaded if m.startswith(("moto.ec2", "moto.ecs", "moto.batch.models"))]
    assert batch_deferred
    assert {m.split(".")[1] for m in loaded} <= RUN_MAY_LOAD


def test_a_deferred_moto_package_still_serves_its_service() -> None:
    # what a user's own Batch tests in the same process need: the package completes on first use
    code = (
        "import sys, types\nimport stepsaga.local.cloud\nfrom stepsaga.local._moto import imports\n"
        "assert imports.deferred('moto.batch') and 'moto.ec2' not in sys.modules\n"
        "import boto3\nfrom moto import mock_aws\n"
        "with mock_aws():\n"
        "    queues = boto3.client('batch', region_name='us-east-1').describe_job_queues()['jobQueues']\n"
        "from moto.batch import batch_backends\n"
        "assert queues == [] and not imports.deferred('moto.batch') and type(sys.modules['moto.batch']) is types.ModuleType\n"
        "assert sys.modules['moto.batch'].batch_backends is batch_backends and 'moto.ec2' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
