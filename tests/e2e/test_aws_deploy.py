"""The order saga on real AWS: sam build and deploy template.yaml, run the happy and the compensated
path (from the AWS API and through the signed HTTP endpoint), then tear everything down.

Opt-in, because it creates billable resources in a real account and needs network access to AWS:

    STEPSAGA_E2E_AWS=1 AWS_PROFILE=... AWS_DEFAULT_REGION=eu-west-1 .venv/bin/python -m pytest tests/e2e

Needs: credentials allowed to deploy the stack (see docs/deploy.md), the tools venv made by
scripts/lint-template.sh (for `sam`), Python 3.12 for `sam build`, and API Gateway's account-level
CloudWatch Logs role set in the region (the API stage writes access logs). About 5 minutes.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
INPUTS = ROOT / "workflows" / "inputs"
SAM = ROOT / ".venv" / "tools" / "bin" / "sam"


def _why_skipped() -> str | None:
    if os.environ.get("STEPSAGA_E2E_AWS") != "1":
        return ("deploys to a real AWS account (billable, needs network access to AWS): "
                "set STEPSAGA_E2E_AWS=1 with AWS credentials to run it")
    import boto3

    if boto3.Session().get_credentials() is None:
        return "STEPSAGA_E2E_AWS=1, but boto3 finds no AWS credentials"
    if not SAM.exists() and not shutil.which("sam"):
        return "no sam CLI: run scripts/lint-template.sh once to install it into .venv/tools"
    return None


pytestmark = pytest.mark.skipif(_why_skipped() is not None, reason=_why_skipped() or "")


def _python312() -> str:
    """A python3.12 for `sam build` (the functions' runtime): on PATH, else from pyenv."""
    candidates = [shutil.which("python3.12") or ""]
    root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates += sorted(glob.glob(f"{root}/versions/3.12*/bin/python3.12"), reverse=True)
    for candidate in candidates:
        if candidate and subprocess.run([candidate, "-c", "import sys; sys.exit(sys.version_info[:2] != (3, 12))"],
                                        capture_output=True).returncode == 0:
            return candidate
    pytest.fail("sam build needs Python 3.12 for the python3.12 runtime: pyenv install 3.12, or put python3.12 on PATH")


def _sam(*args: str, check: bool = True) -> None:
    sam = str(SAM) if SAM.exists() else "sam"
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "PATH": f"{Path(_python312()).parent}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run([sam, *args], cwd=ROOT, env=env, check=check)


def _wait(sfn: Any, arn: str, timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        desc = sfn.describe_execution(executionArn=arn)
        if desc["status"] != "RUNNING":
            return desc
        time.sleep(3)
    pytest.fail(f"{arn} still RUNNING after {timeout} s")


def _order(order_id: str, card: str = "tok_visa") -> dict[str, Any]:
    order = json.loads((INPUTS / "order.json").read_text())
    order["order_id"] = order_id
    order["payment"]["card_token"] = card
    return order


def _signed_post(url: str, body: dict[str, Any], region: str) -> tuple[int, dict[str, Any]]:
    import boto3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    data = json.dumps(body).encode()
    request = AWSRequest(method="POST", url=url, data=data, headers={"Content-Type": "application/json"})
    SigV4Auth(boto3.Session().get_credentials().get_frozen_credentials(), "execute-api", region).add_auth(request)
    return _post(url, data, dict(request.headers))


def _post(url: str, data: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers, method="POST"), timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


@pytest.fixture(scope="module")
def stack():
    import boto3

    region = boto3.Session().region_name or pytest.fail("set AWS_DEFAULT_REGION")
    account = boto3.client("apigateway", region_name=region).get_account()
    if not account.get("cloudwatchRoleArn"):
        pytest.fail("API Gateway has no CloudWatch Logs role in this region, so the stage cannot write access logs; "
                    "set one once per account and region (docs/deploy.md, 'Before the first deploy')")
    name = f"stepsaga-e2e-{uuid.uuid4().hex[:8]}"
    cfn = boto3.client("cloudformation", region_name=region)
    resources: dict[str, str] = {}
    kinds: dict[str, str] = {}
    try:
        _sam("build", "--build-dir", ".aws-sam/e2e/build")
        _sam("deploy", "--template-file", ".aws-sam/e2e/build/template.yaml", "--stack-name", name, "--resolve-s3",
             "--capabilities", "CAPABILITY_IAM", "--no-confirm-changeset", "--no-fail-on-empty-changeset", "--region", region)
        summaries = cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]
        resources = {s["LogicalResourceId"]: s["PhysicalResourceId"] for s in summaries}
        kinds = {s["LogicalResourceId"]: s["ResourceType"] for s in summaries}
        outputs = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=name)["Stacks"][0]["Outputs"]}
        yield {"name": name, "region": region, "outputs": outputs, "resources": resources}
    finally:
        _sam("delete", "--stack-name", name, "--region", region, "--no-prompts", check=False)
        # The tables (the choreography's ledger and saga log too), the dead-letter queues and the key are
        # retained by design (DeletionPolicy: Retain): remove this run's.
        ddb, sqs, kms = (boto3.client(s, region_name=region) for s in ("dynamodb", "sqs", "kms"))
        for logical, physical in resources.items():
            if kinds.get(logical) == "AWS::DynamoDB::Table":
                ddb.delete_table(TableName=physical)
            elif logical.endswith("DeadLetterQueue"):
                sqs.delete_queue(QueueUrl=physical)
            elif logical.endswith("Key"):
                kms.schedule_key_deletion(KeyId=physical, PendingWindowInDays=7)


@pytest.fixture(scope="module")
def seeded(stack):
    import boto3

    table = boto3.resource("dynamodb", region_name=stack["region"]).Table(stack["outputs"]["OrderSagaInventoryTableName"])
    with table.batch_writer() as batch:
        for item in json.loads((INPUTS / "inventory_seed.json").read_text()):
            batch.put_item(Item=item)
    return stack


def test_the_happy_path_confirms_the_order(seeded):
    import boto3

    sfn = boto3.client("stepfunctions", region_name=seeded["region"])
    order_id = f"e2e-{uuid.uuid4().hex[:8]}"
    arn = sfn.start_execution(stateMachineArn=seeded["outputs"]["OrderSagaStateMachineArn"], name=order_id,
                              input=json.dumps(_order(order_id)))["executionArn"]
    desc = _wait(sfn, arn)
    assert desc["status"] == "SUCCEEDED", desc
    orders = boto3.resource("dynamodb", region_name=seeded["region"]).Table(seeded["outputs"]["OrderSagaOrdersTableName"])
    assert orders.get_item(Key={"order_id": order_id}, ConsistentRead=True)["Item"]["status"] != "CANCELLED"


def test_a_declined_payment_is_compensated(seeded):
    import boto3

    sfn = boto3.client("stepfunctions", region_name=seeded["region"])
    order_id = f"e2e-{uuid.uuid4().hex[:8]}"
    arn = sfn.start_execution(stateMachineArn=seeded["outputs"]["OrderSagaStateMachineArn"], name=order_id,
                              input=json.dumps(_order(order_id, card="tok_declined")))["executionArn"]
    desc = _wait(sfn, arn)
    assert (desc["status"], desc.get("error")) == ("FAILED", "PaymentDeclined")
    orders = boto3.resource("dynamodb", region_name=seeded["region"]).Table(seeded["outputs"]["OrderSagaOrdersTableName"])
    assert orders.get_item(Key={"order_id": order_id}, ConsistentRead=True)["Item"]["status"] == "CANCELLED"


def test_the_http_endpoint_needs_a_signature_and_a_valid_order(seeded):
    import boto3

    url = seeded["outputs"]["OrderSagaHttpPostOrdersUrl"]
    order_id = f"e2e-{uuid.uuid4().hex[:8]}"
    status, _ = _post(url, json.dumps(_order(order_id)).encode(), {"Content-Type": "application/json"})
    assert status == 403  # unsigned
    status, body = _signed_post(url, {"order_id": order_id}, seeded["region"])
    assert status == 400 and "required" in body.get("message", "")  # validated before any execution starts
    status, body = _signed_post(url, _order(order_id), seeded["region"])
    assert status == 200, body
    desc = _wait(boto3.client("stepfunctions", region_name=seeded["region"]), body["executionArn"])
    assert desc["status"] == "SUCCEEDED", desc
