"""A Step Functions Local mock configuration's test case as moto's interpreter plays it (no patches).

moto 5.2.5 carries LocalStack's port of the mocked service integrations (``moto/stepfunctions/parser/mocking/``):
an execution whose environment holds a ``MockTestCase`` answers each mocked Task state from its responses,
one per attempt (``Environment.get_current_mocked_response``, by ``$$.State.RetryCount``), without calling the
service; moto only never loads the file (``mock_config.load_mock_test_case_for`` returns None). This module
builds that object from the file's JSON, with moto's own checks (consecutive, non-overlapping ranges), for
``run_inline(..., mock_test_case=...)``.

One change to the port: a mocked Throw of a predefined error (``States.Timeout``, as a Task timeout reports it)
fails the Task with that error; the port takes every mocked error for a custom one, and custom names must not
begin with ``States.`` (``CustomErrorName``). AWS's page on the file sets no such rule. It only changes the
Throws of mocked test cases, which only ``stepsaga.mock_config.replay`` plays.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import ILLEGAL_CUSTOM_ERROR_PREFIX
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent, FailureEventException
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.state.exec.state_task import mock_eval_utils
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.mocking.mock_config import (
    MockedResponse,
    MockedResponseReturn,
    MockedResponseThrow,
    MockTestCase,
    StateMockedResponses,
    _parse_mocked_response_range,
)


def test_case(config: Mapping[str, Any], state_machine: str, case: str) -> MockTestCase:
    """moto's ``MockTestCase`` for one test case of a MockConfigFile document; ``KeyError`` names a missing
    state machine, test case or response, ``RuntimeError`` (moto's) a gap or an overlap in a response's ranges."""
    _throws_predefined_errors()
    states = config["StateMachines"][state_machine]["TestCases"][case]
    mocked = []
    for state, name in states.items():
        responses: list[MockedResponse] = []
        for key, response in config["MockedResponses"][name].items():
            start, end = _parse_mocked_response_range(key)
            if "Return" in response:
                responses.append(MockedResponseReturn(start, end, response["Return"]))
            else:
                throw = response["Throw"]
                responses.append(MockedResponseThrow(start, end, throw["Error"], throw["Cause"]))
        mocked.append(StateMockedResponses(state, name, responses))
    return MockTestCase(state_machine, case, mocked)


_STOCK_THROW = mock_eval_utils._eval_mocked_response_throw


def _throw(env: Environment, mocked_response: MockedResponseThrow) -> None:
    # mock_eval_utils._eval_mocked_response_throw (mock_eval_utils.py:20-33) with a States error name where the
    # mocked error is one
    if not mocked_response.error.startswith(ILLEGAL_CUSTOM_ERROR_PREFIX):
        return _STOCK_THROW(env, mocked_response)
    details = TaskFailedEventDetails(error=mocked_response.error, cause=copy.copy(mocked_response.cause))
    raise FailureEventException(failure_event=FailureEvent(
        env=env, error_name=StatesErrorName.from_name(mocked_response.error),
        event_type=HistoryEventType.TaskFailed, event_details=EventDetails(taskFailedEventDetails=details),
    ))


def _throws_predefined_errors() -> None:
    # eval_mocked_response looks the function up on its module at each call
    mock_eval_utils._eval_mocked_response_throw = _throw
