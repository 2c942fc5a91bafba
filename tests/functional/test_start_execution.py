"""StartExecution's own rules on the embedded cloud, both engines: names and input size, checked before anything runs.

AWS: https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stepsaga.local import EmbeddedCloud, default_seed
from stepsaga.asl.limits import MAX_PAYLOAD_BYTES
from stepsaga.local.quotas import StartExecutionError, check_start_execution, name_problem

ROOT = Path(__file__).resolve().parents[2]
INPUTS = ROOT / "workflows" / "inputs"
ORDER = json.loads((INPUTS / "order.json").read_text())


def _saga():
    from workflows.order_saga import saga

    return saga


@pytest.fixture(scope="module")
def cloud():
    with EmbeddedCloud(_saga(), seed=default_seed(_saga(), INPUTS), root=ROOT) as c:
        yield c


def executions(cloud) -> list[str]:
    return [e["name"] for e in cloud.client("stepfunctions").list_executions(stateMachineArn=cloud.state_machine_arn)["executions"]]


@pytest.mark.parametrize("engine", ["inline", "stock"])
@pytest.mark.parametrize("name", ["order 1", "ord:1:First"])
def test_the_issue_names_are_rejected_before_anything_runs(cloud, engine, name):
    before = (executions(cloud), cloud.items("orders"), cloud.items("payments"))
    with pytest.raises(StartExecutionError) as caught:
        cloud.run(ORDER, name=name, engine=engine)
    assert caught.value.code == "InvalidName"
    assert f"Invalid Name: '{name}'" in str(caught.value)
    assert (executions(cloud), cloud.items("orders"), cloud.items("payments")) == before


@pytest.mark.parametrize(
    "name",
    [c for c in '<>{}[]?*"#%\\^|~`$&,;:/']
    + ["\t", "\n", "\u00a0", "\u2003", "\x00", "\x1f", "\x7f", "\x85", "\x9f", "\ufffe", "\uffff", "\U0010ffff"],
)
def test_every_forbidden_character_is_invalid_name(name):
    assert name_problem(f"ord{name}1") == ("InvalidName", f"Invalid Name: 'ord{name}1'")


def test_names_that_aws_accepts_pass():
    for name in ["a", "x" * 80, "order-1_2.3", "ordre-été", "注文-1", "a@b+c=d(e)!'", "\u00a1"]:
        assert name_problem(name) is None, name
        check_start_execution(name, "{}")


def test_name_length_is_a_validation_exception():
    assert name_problem("x" * 81)[0] == "ValidationException"
    assert "Member must have length less than or equal to 80" in name_problem("x" * 81)[1]
    assert name_problem("")[0] == "ValidationException"


def test_an_empty_name_is_not_replaced_by_a_generated_one(cloud):
    with pytest.raises(StartExecutionError, match="greater than or equal to 1"):
        cloud.run(ORDER, name="")


@pytest.mark.parametrize("engine", ["inline", "stock"])
def test_an_input_over_256_kib_is_rejected_by_start_execution_itself(cloud, engine):
    before = executions(cloud)
    big = {**ORDER, "note": "x" * 300_000}
    with pytest.raises(StartExecutionError) as caught:
        cloud.run(big, engine=engine)
    assert caught.value.code == "ValidationException"
    assert "at 'input' failed to satisfy constraint" in caught.value.message
    assert executions(cloud) == before  # not started: no BeginSaga, no execution at all


def test_the_input_limit_is_utf8_bytes_of_the_text_sent_inclusive():
    # {"n":"…"}: 8 bytes of JSON around the text
    two_byte = "é" * 100_000
    at_limit = json.dumps({"n": two_byte + "x" * (MAX_PAYLOAD_BYTES - 8 - 200_000)}, separators=(",", ":"), ensure_ascii=False)
    assert len(at_limit.encode()) == MAX_PAYLOAD_BYTES
    check_start_execution("ok", at_limit)  # 262,144 bytes: accepted
    with pytest.raises(StartExecutionError, match="262145 bytes"):
        check_start_execution("ok", at_limit[:-2] + "x\"}")


def test_an_input_at_the_limit_starts_and_fails_later_like_aws(cloud):
    # 262,144 bytes are accepted by StartExecution; BeginSaga's larger output then exceeds the state quota
    order = {**ORDER, "note": ""}
    size = len(json.dumps(order, separators=(",", ":"), ensure_ascii=False).encode())
    order["note"] = "é" * ((MAX_PAYLOAD_BYTES - size) // 2) + "x" * ((MAX_PAYLOAD_BYTES - size) % 2)
    result = cloud.run(order)
    assert result.execution in executions(cloud) and result.status == "FAILED"


def test_input_that_is_not_json_is_invalid_execution_input(cloud):
    with pytest.raises(StartExecutionError) as caught:
        cloud.run({"amount": float("nan")})
    assert caught.value.code == "InvalidExecutionInput"
    with pytest.raises(StartExecutionError, match="InvalidExecutionInput"):
        check_start_execution("ok", '{"a": NaN}')


def test_the_cli_rejects_a_bad_name_as_a_bad_call():
    proc = subprocess.run(
        [sys.executable, "-m", "stepsaga.cli", "run", "workflows/order_saga.py", "--input", "@workflows/inputs/order.json",
         "--name", "order 1"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "InvalidName" in proc.stderr and "Traceback" not in proc.stderr
