"""The fault scenarios of a mock configuration come from the saga, whatever the saga; ranges round-trip."""

from __future__ import annotations

from stepsaga import Compensation, Retry, Saga, Step
from stepsaga.mock_config import expand, ranges
from stepsaga.mock_scenarios import case_name, retries_granted, scenarios

SHIPPING = Saga(
    "Shipping",
    steps=[
        Step("Pack", action="tasks.pack.handler", compensation=Compensation("Unpack", "compensations.unpack.handler", retry=[Retry(["States.ALL"], max_attempts=2)]),
             retry=[Retry(["Jammed", "Stuck"], max_attempts=2)]),
        Step("Label", action="tasks.label.handler", compensation=Compensation("Unlabel", "compensations.unlabel.handler"), business_errors=["BadAddress"]),
        Step("Ship", action="tasks.ship.handler", business_errors=["NoCarrier"]),
    ],
)


def test_scenarios_follow_the_saga_not_the_order_saga():
    found = {s.name: s.fail_args for s in scenarios(SHIPPING)}
    assert list(found)[0] == "HappyPath" and found["HappyPath"] == []
    assert found["Pack-Jammed-Retried"] == ["Pack=Jammed@2"]  # its own retrier's first error, as often as it retries
    assert found["Pack-LambdaServiceException-Retried"] == ["Pack=Lambda.ServiceException@3"]  # the saga's Lambda default
    assert found["Label-BadAddress"] == ["Label=BadAddress"] and found["Ship-NoCarrier"] == ["Ship=NoCarrier"]
    assert "Pack-BadAddress" not in found  # business errors are the step's own
    for step in ("Pack", "Label", "Ship"):
        assert found[f"{step}-Timeout"] == [f"{step}=timeout"] and found[f"{step}-Exit"] == [f"{step}=exit"]
        assert found[f"{step}-FunctionTimeout"] == [f"{step}=function-timeout"]
    # a compensation failing for good: the last compensatable step's undeclared error runs every compensation
    assert found["Unpack-UnexpectedError"] == ["Label=UnexpectedError", "Unpack=UnexpectedError"]
    assert found["Unlabel-Timeout"] == ["Label=UnexpectedError", "Unlabel=timeout"]
    assert [n for n in found if n.startswith(("Unpack", "Unlabel"))] == ["Unlabel-UnexpectedError", "Unlabel-Timeout", "Unpack-UnexpectedError", "Unpack-Timeout"]


def test_the_summary_counts_the_attempts_the_retriers_grant():
    summaries = {s.name: s.summary for s in scenarios(SHIPPING)}
    assert "on all 3 attempts" in summaries["Unpack-UnexpectedError"]  # its own policy: 2 retries
    assert "on all 7 attempts" in summaries["Unlabel-UnexpectedError"]  # the patient default: 6 retries
    assert "on its only attempt" in summaries["Ship-UnexpectedError"]


def test_retries_granted_follow_asl():
    retriers = (Retry(["Jammed"], max_attempts=2), Retry(["States.ALL"], max_attempts=5))
    assert retries_granted(retriers, "Jammed") == 2  # the first match decides
    assert retries_granted(retriers, "Other") == 5
    assert retries_granted((Retry(["States.TaskFailed"]),), "States.Timeout") == 0  # TaskFailed does not match a timeout
    assert retries_granted((), "Other") == 0


def test_case_names_fit_the_arn_suffix():
    assert case_name("Pack", "Lambda.ServiceException", "Retried") == "Pack-LambdaServiceException-Retried"
    assert case_name("Step one", "Err/2") == "Stepone-Err2"


def test_ranges_join_equal_neighbours_and_expand_undoes_them():
    a, b = {"Throw": {"Error": "E", "Cause": ""}}, {"Return": 1}
    assert ranges([a, a, a, b]) == {"0-2": a, "3": b}
    assert ranges([a, b, a]) == {"0": a, "1": b, "2": a}
    assert ranges([b]) == {"0": b}
    for responses in ([a, a, a, b], [a, b, a], [b], [a] * 12):
        assert expand(ranges(responses)) == responses


def test_a_stack_trace_is_written_relative_to_the_project_folder():
    from stepsaga.lambda_errors import function_error_payload
    from stepsaga.mock_config import request_id, task_responses

    stack = ['  File "/home/ci/shop/tasks/pack.py", line 9, in handler\n    raise Jammed("belt")\n']
    history = [
        {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "Pack"}},
        {"type": "TaskFailed", "taskFailedEventDetails": {"error": "Jammed", "cause": function_error_payload("Jammed", "belt", "1f0e", stack)}},
    ]
    [[throw]] = task_responses("Shipping", history, "/home/ci/shop").values()
    assert throw["Throw"]["Cause"] == function_error_payload("Jammed", "belt", request_id("Shipping", "Pack"), [stack[0].replace("/home/ci/shop/", "")])
