"""Speed shortcuts with identical results: fewer parses, copies and JSON encodings per state.

* The ASL is parsed once per definition text (stock: once per execution), CreateStateMachine's validating
  parse included.
* jsonpath_ng parses are memoised, plain field paths (``$.a.b``) are looked up directly, and a plain
  ResultPath is set directly (stock walks the whole document after each update).
* The interpreter's ``copy.deepcopy`` of JSON data is a marshal round trip, and copies nobody could tell
  apart from the original are skipped (a state's input read for its history events and size check, a Task
  frame's input, the value OutputPath just sampled).
* A state's output is JSON-encoded once for its StateExited event, the next StateEntered and the size check
  (stock: three encodings), a Task's output once for its size check and TaskSucceeded event.
* boto3 clients of service integrations are cached per (region, service).

``install(fast=False)`` leaves all of them off (and ``growth.py``'s), so that a difference between the two
modes is a bug here. Like every patch, they are inert outside ``run_inline``.
"""

from __future__ import annotations

import copy as _stdlib_copy
import datetime
import functools
import marshal
from collections.abc import Callable
from typing import Any, Final, cast

from jsonpath_ng import jsonpath as _jsonpath_ng
from moto.core.models import botocore_stubber
from moto.stepfunctions.parser import models as _parser_models
from moto.stepfunctions.parser.api import (
    HistoryEventExecutionDataDetails,
    HistoryEventType,
    StateEnteredEventDetails,
    StateExitedEventDetails,
    TaskFailedEventDetails,
    TaskSucceededEventDetails,
)
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.common.path import result_path as _result_path_mod
from moto.stepfunctions.parser.asl.component.common.path.output_path import OutputPath
from moto.stepfunctions.parser.asl.component.common.string.string_expression import (
    StringContextPath,
    StringJsonPath,
)
from moto.stepfunctions.parser.asl.component.program.program import Program
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
    StateTaskService,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda
from moto.stepfunctions.parser.asl.component.state.state import CommonStateField
from moto.stepfunctions.parser.asl.eval import program_state as _program_state_mod
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.eval.program_state import ProgramRunning
from moto.stepfunctions.parser.asl.eval.states import StateData, States
from moto.stepfunctions.parser.asl.utils import json_path as _json_path_mod
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
from moto.stepfunctions.parser.asl.utils.json_path import NoSuchJsonPathError

from stepsaga.local._moto import driver, programs
from stepsaga.local._moto.run import ACTIVE, Patch, check_deadline, gate, gate_wrapping, gated, module
from stepsaga.local.quotas import MAX_PAYLOAD_BYTES


# ----------------------------------------------------------------------------------------------------
# The ASL parsed once per definition text
# ----------------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=256)
def _parse_program(definition: str) -> Program:
    # Stock parses the definition with ANTLR for every execution (backend/execution_worker.py:60-63,
    # ~25 ms). A Program keeps no per-execution state: that lives in the Environment (stack, heap, states),
    # and env.heap is cleared after every state (program.py:95-96). A cloud's definition registered as a
    # variant of its saga's canonical text is rebound from that text's Program, parsed once (programs.py).
    return programs.parse(definition)


def _validate_definition(original: Callable[..., None], definition: str) -> None:
    try:
        _parse_program(definition)
    except Exception:
        original(definition=definition)  # raises moto's own InvalidDefinition
        raise


# ----------------------------------------------------------------------------------------------------
# Fast JSON-only copy for the interpreter's copy.deepcopy
# ----------------------------------------------------------------------------------------------------
# The interpreter deep-copies state data at every step (asl/eval/states.py:95,107,121,130,
# asl/component/common/string/string_expression.py:80,120, ...). That data is JSON: dict, list, str, int,
# float, bool, None (and datetimes in the context object). marshal round-trips exactly those types, exactly
# (it rejects subclasses and everything else with ValueError) and keeps shared sub-objects shared, like
# deepcopy's memo, at C speed; what it rejects is copied structurally, and non-JSON values go to deepcopy.
_ATOMIC: Final = frozenset({str, int, float, bool, type(None), datetime.datetime})

# Environment.program_state() deep-copies a ProgramState (asl/eval/environment.py:197) at every state; their
# attributes are strings, datetimes and (ProgramError) a dict of strings (asl/eval/program_state.py).
_PROGRAM_STATES: Final[frozenset[type]] = frozenset(
    v for v in vars(_program_state_mod).values() if isinstance(v, type) and issubclass(v, _program_state_mod.ProgramState)
)


def _json_copy(value: Any) -> Any:
    cls = type(value)
    if cls in _ATOMIC:
        return value
    if cls is dict or cls is list:
        try:
            return marshal.loads(marshal.dumps(value))
        except ValueError:  # a datetime or a non-JSON object inside
            return _structural_copy(value)
    if cls in _PROGRAM_STATES:
        clone = object.__new__(cls)
        clone.__dict__.update(_structural_copy(value.__dict__))
        return clone
    return _stdlib_copy.deepcopy(value)


def _structural_copy(value: Any) -> Any:
    cls = type(value)
    if cls is dict:
        return {k: v if type(v) in _ATOMIC else _structural_copy(v) for k, v in value.items()}
    if cls is list:
        return [v if type(v) in _ATOMIC else _structural_copy(v) for v in value]
    return _json_copy(value)


class _CopyModule:
    """Stands in for the ``copy`` module inside interpreter modules: ``deepcopy`` is JSON-fast during runs."""

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        if memo is None and ACTIVE.get() is not None:
            return _json_copy(value)
        return _stdlib_copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(_stdlib_copy, name)


def _cached_parse(original: Callable[[str], Any]) -> Callable[[str], Any]:
    # jsonpath_ng parses (asl/utils/json_path.py:48, asl/component/common/path/result_path.py:29) cost ~1 ms
    # each and run for every path of every state; find/update_or_create do not mutate the parsed tree.
    return functools.lru_cache(maxsize=4096)(original)


_MISSING: Final = object()


@functools.lru_cache(maxsize=4096)
def _field_chain(path: str) -> tuple[str, ...] | None:
    # The field names of a path jsonpath_ng parses to Root/Child/Fields only ("$", "$.a.b"), else None.
    return _chain_of(_json_path_mod.parse(path))  # type: ignore[attr-defined]


def _chain_of(node: Any) -> tuple[str, ...] | None:
    names: list[str] = []
    while type(node) is _jsonpath_ng.Child and type(node.right) is _jsonpath_ng.Fields:
        fields = node.right.fields
        if len(fields) != 1 or fields[0] == "*" or node.right._deprecated_wildcard_use:
            return None
        names.append(fields[0])
        node = node.left
    return tuple(reversed(names)) if type(node) is _jsonpath_ng.Root else None


def _extract_json(original: Callable[[str, Any], Any], path: str, data: Any) -> Any:
    # asl/utils/json_path.py:47-72 runs jsonpath_ng's find for every path (~20 us). For plain field chains
    # this is the same lookup: Fields.get_field_datum (jsonpath_ng/jsonpath.py:774-790) is
    # value.get(field) with TypeError/AttributeError meaning "no match", a miss raises NoSuchJsonPathError
    # (no slice or wildcard), and a single non-Index match returns its value.
    chain = _field_chain(path) if _jsonpath_ng.auto_id_field is None else None
    if chain is None:
        return original(path, data)
    value = data
    for name in chain:
        try:
            value = value.get(name, _MISSING)
        except (TypeError, AttributeError):
            value = _MISSING
        if value is _MISSING:
            raise _json_path_mod.NoSuchJsonPathError(json_path=path, data=data)
    return value


class _FieldChainPath:
    """A ResultPath that jsonpath_ng parses to a plain field chain ("$.a.b"), updated without a document walk."""

    __slots__ = ("expr", "chain")

    def __init__(self, expr: Any, chain: tuple[str, ...]) -> None:
        self.expr = expr
        self.chain = chain

    def update_or_create(self, data: Any, val: Any) -> Any:
        # jsonpath_ng's (1.16.0) Child.update_or_create (jsonpath_ng/jsonpath.py:375-378) on such a chain: find_or_create
        # sets every missing field on the way to {} (Fields.get_field_datum, :774-790), the last Fields sets the
        # value (Fields._update_base, :828-845), then _clean_list_keys(data) (:1263) walks the whole document
        # to collapse {LIST_KEY: [...]} nodes. LIST_KEY is a private object() that only Index/Slice creation
        # inserts, within this same call, so for a field chain that walk changes nothing. Anything but plain
        # dicts on the way (jsonpath_ng skips None, raises TypeError on str/list/...) goes to jsonpath_ng,
        # before anything is modified.
        chain = self.chain
        if type(data) is not dict or callable(val) or _jsonpath_ng.auto_id_field is not None:
            return self.expr.update_or_create(data, val)
        node = data
        for name in chain[:-1]:
            child = node.get(name, _MISSING)
            if child is _MISSING:
                break
            if type(child) is not dict:
                return self.expr.update_or_create(data, val)
            node = child
        node = data
        for name in chain[:-1]:
            child = node.get(name, _MISSING)
            if child is _MISSING:
                child = node[name] = {}
            node = child
        node[chain[-1]] = val
        return data


@functools.lru_cache(maxsize=4096)
def _result_path_parse(original: Callable[[str], Any], path: str) -> Any:
    # ResultPath parses with jsonpath_ng.parse (asl/component/common/path/result_path.py:29), and only calls
    # update_or_create on the result.
    expr = original(path)
    chain = _chain_of(expr)
    return _FieldChainPath(expr, chain) if chain else expr


# ----------------------------------------------------------------------------------------------------
# Fewer copies and JSON encodings of the state data
# ----------------------------------------------------------------------------------------------------
# What makes these exact: the object a States holds as its input (_states_data["input"]) is never mutated in
# place. Every write stores a private object: States.reset deep-copies (asl/eval/states.py:106-110), __init__
# stores the context's Execution.Input, which is only ever read through copies; every read returns a copy
# (States._extract, :89-95); nothing else touches _states_data["input"] (the JSONata bindings only encode it,
# asl/jsonata/jsonata.py:124-132). So code that only reads the input can read it in place, an input can be
# shared between two States, and its JSON text stays valid for as long as the same object is stored.
INPUT_JSON_ATTR: Final = "_stepsaga_input_json"
_COMPACT: Final = (",", ":")
# the _verify_size_quota methods that only check the size (is_within_size_quota, made AWS's by fidelity.py)
_STOCK_QUOTA_CHECKS: Final[frozenset[Any]] = frozenset(
    cls.__dict__["_verify_size_quota"] for cls in (CommonStateField, StateTaskService, StateTaskLambda)
)


def _input_json(states: States) -> str:
    """``to_json_str(states.get_input(), separators=(",", ":"))`` without the copy, memoised per stored input."""
    value = states._states_data["input"]
    memo = states.__dict__.get(INPUT_JSON_ATTR)
    if memo is not None and memo[0] is value:
        return cast(str, memo[1])
    text = to_json_str(value, separators=_COMPACT)
    states.__dict__[INPUT_JSON_ATTR] = (value, text)  # keeps value alive: its id is not reused
    return text


def _set_input(states: States, value: Any) -> None:
    # States.reset (asl/eval/states.py:106-110) for a value nothing else references: no copy.
    data = states._states_data
    data["input"] = value
    data["result"] = None
    data["errorOutput"] = None


def _input_within_quota(state: Any, states: States) -> bool:
    # True only if the state's _verify_size_quota(get_input()) is sure to pass. It is a stock one, which
    # checks is_within_size_quota, here fidelity.py's _within_size_quota: the UTF-8 bytes of the compact JSON with
    # non-ASCII text as is. _input_json is that text with every non-ASCII character escaped (6 or 12 ASCII
    # bytes for 2 to 4 UTF-8 bytes), so its length is never below the measured size.
    if type(state)._verify_size_quota not in _STOCK_QUOTA_CHECKS:
        return False
    return len(_input_json(states)) <= MAX_PAYLOAD_BYTES


def _state_entered_details(self: CommonStateField, env: Environment) -> StateEnteredEventDetails:
    # CommonStateField._get_state_entered_event_details (asl/component/state/state.py:146-155), no copy.
    return StateEnteredEventDetails(
        name=self.name,
        input=_input_json(env.states),
        inputDetails=HistoryEventExecutionDataDetails(truncated=False),
    )


def _state_exited_details(self: CommonStateField, env: Environment) -> StateExitedEventDetails:
    # CommonStateField._get_state_exited_event_details (asl/component/state/state.py:157-173), no copy; the
    # text is usually the one the size check just made, and the next state's StateEntered reuses it.
    event_details = StateExitedEventDetails(
        name=self.name,
        output=_input_json(env.states),
        outputDetails=HistoryEventExecutionDataDetails(truncated=False),
    )
    assigned_variables = env.variable_store.get_assigned_variables()
    env.variable_store.reset_tracing()
    if assigned_variables:
        event_details["assignedVariables"] = assigned_variables  # type: ignore[typeddict-unknown-key]
        event_details["assignedVariablesDetails"] = {"truncated": False}  # type: ignore[typeddict-unknown-key]
    return event_details


def _state_eval_body(self: CommonStateField, env: Environment) -> None:
    # Copy of CommonStateField._eval_body (asl/component/state/state.py:218-275) with the size check of the
    # output (:257, a copy and a JSON encoding) decided from the StateExited event's text when it surely
    # passes, and the program state read in place (:253 deep-copies it for an isinstance).
    check_deadline(ACTIVE.get())  # a Parallel branch or Map iteration reached the limit
    env.event_manager.add_event(
        context=env.event_history_context,
        event_type=self.state_entered_event_type,
        event_details=EventDetails(stateEnteredEventDetails=self._get_state_entered_event_details(env=env)),
    )
    env.states.context_object.context_object_data["State"] = StateData(
        EnteredTime=datetime.datetime.now(tz=datetime.timezone.utc).isoformat(),
        Name=self.name,
    )
    self._eval_state_input(env=env)
    try:
        self._eval_state(env)
    except NoSuchJsonPathError as no_such_json_path_error:
        data_json_str = to_json_str(no_such_json_path_error.data)
        cause = (
            f"The JSONPath '{no_such_json_path_error.json_path}' specified for the field '{env.next_field_name}' "
            f"could not be found in the input '{data_json_str}'"
        )
        raise _runtime_failure(env, cause)
    if not isinstance(env._program_state, ProgramRunning):
        return
    self._eval_state_output(env=env)
    if not _input_within_quota(self, env.states):
        self._verify_size_quota(env=env, value=env.states.get_input())
    self._set_next(env)
    if self.state_exited_event_type is not None:
        env.event_manager.add_event(
            context=env.event_history_context,
            event_type=self.state_exited_event_type,
            event_details=EventDetails(stateExitedEventDetails=self._get_state_exited_event_details(env=env)),
        )


def _runtime_failure(env: Environment, cause: str) -> FailureEventException:
    """The States.Runtime failure moto raises for a missing JSONPath (same event, same cause)."""
    return FailureEventException(
        failure_event=FailureEvent(
            env=env,
            error_name=StatesErrorName(typ=StatesErrorNameType.StatesRuntime),
            event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(
                taskFailedEventDetails=TaskFailedEventDetails(
                    error=StatesErrorNameType.StatesRuntime.to_name(),
                    cause=cause,
                )
            ),
        )
    )


def _task_after_eval_execution(
    self: Any, env: Environment, resource_runtime_part: Any, normalised_parameters: dict[str, Any], state_credentials: Any
) -> None:
    # Copy of StateTaskService._after_eval_execution (state_task_service.py:307-327): the size check and the
    # TaskSucceeded event both encode the output; encode it once. The event's text (", " separators, ASCII
    # escapes) is never shorter than the measured size (compact, UTF-8), so only a longer one is measured.
    output = env.stack[-1]
    text: str | None = None
    if type(self)._verify_size_quota in _STOCK_QUOTA_CHECKS:
        text = to_json_str(output)
        if len(text) > MAX_PAYLOAD_BYTES:
            self._verify_size_quota(env=env, value=output)
    else:
        self._verify_size_quota(env=env, value=output)
    env.event_manager.add_event(
        context=env.event_history_context,
        event_type=HistoryEventType.TaskSucceeded,
        event_details=EventDetails(
            taskSucceededEventDetails=TaskSucceededEventDetails(
                resource=self._get_sfn_resource(),
                resourceType=self._get_sfn_resource_type(),
                output=text if text is not None else to_json_str(output),
                outputDetails=HistoryEventExecutionDataDetails(truncated=False),
            )
        ),
    )


_FRESH_SAMPLERS: Final = (StringJsonPath, StringContextPath)


def _output_path_eval_body(original: Callable[..., None], self: OutputPath, env: Environment) -> None:
    # OutputPath._eval_body (asl/component/common/path/output_path.py:29-52) resets the state input to a copy
    # of what its sampler pushed. A StringJsonPath/StringContextPath pushes a fresh deep copy
    # (string_expression.py:80,120) that the pop below leaves referenced nowhere else: store it as is.
    if type(self.string_sampler) not in _FRESH_SAMPLERS:
        return original(self, env)
    try:
        self.string_sampler.eval(env=env)
    except NoSuchJsonPathError as no_such_json_path_error:
        json_path = no_such_json_path_error.json_path
        cause = f"Invalid path '{json_path}' : No results for path: $['{json_path[2:]}']"
        raise _runtime_failure(env, cause)
    _set_input(env.states, env.stack.pop())


@functools.lru_cache(maxsize=64)
def _cached_boto_client(original: Callable[..., Any], region: str, service: str) -> Any:
    return original(region=region, service=service)


def _boto_client_for(original: Callable[..., Any], region: str, service: str, state_credentials: Any = None) -> Any:
    # asl/utils/boto_client.py:14-33 builds a new boto3 client (~10 ms) per service call. Stock ignores
    # state_credentials too. Only cached while moto intercepts boto calls (no endpoint_url involved).
    if not botocore_stubber.enabled:
        return original(region=region, service=service, state_credentials=state_credentials)
    return _cached_boto_client(original, region, service)


# Modules that bound boto_client.boto_client_for by name.
BOTO_CLIENT_MODULES: Final = (
    "asl.component.state.exec.state_task.lambda_eval_utils",
    "asl.component.state.exec.state_task.service.state_task_service_sqs",
    "asl.component.state.exec.state_task.service.state_task_service_sns",
    "asl.component.state.exec.state_task.service.state_task_service_dynamodb",
    "asl.component.state.exec.state_task.service.state_task_service_events",
    "asl.component.state.exec.state_task.service.state_task_service_sfn",
    "asl.component.state.exec.state_task.service.state_task_service_aws_sdk",
    "asl.component.state.exec.state_task.service.state_task_service_unsupported",
    "asl.component.state.exec.state_task.service.state_task_service_glue",
    "asl.component.state.exec.state_task.service.state_task_service_ecs",
    "asl.component.state.exec.state_task.service.state_task_service_batch",
    "asl.component.state.exec.state_map.item_reader.eval.resource_eval_s3",
    "asl.component.state.exec.state_map.result_writer.resource_eval.resource_eval_s3",
)
# Modules that bound json_path.extract_json by name (from ... import extract_json).
EXTRACT_JSON_MODULES: Final = (
    "asl.utils.json_path",
    "asl.eval.states",
    "asl.component.common.string.string_expression",
    "asl.component.intrinsic.argument.argument",
    "asl.component.state.choice.comparison.operator.implementations.boolean_equals",
    "asl.component.state.choice.comparison.operator.implementations.numeric",
    "asl.component.state.choice.comparison.operator.implementations.string_operators",
    "asl.component.state.choice.comparison.operator.implementations.timestamp_operators",
)
# Modules whose copy.deepcopy calls copy JSON state data (the hot ones, measured with cProfile).
COPY_MODULES: Final = (
    "asl.eval.states",  # get_input/_extract/reset/set_result/set_error_output (:95,107,121,130)
    "asl.eval.environment",  # frame context and program_state() (:150,156,197)
    "asl.eval.event.event_manager",  # get_event_history (:216)
    "asl.component.common.path.result_path",  # ResultPath (:31)
    "asl.component.common.string.string_expression",  # every JSONPath sample (:80,120)
    "asl.component.state.exec.state_task.service.state_task_service",  # task parameters (:343)
    "asl.component.state.exec.state_parallel.state_parallel",  # branch input (:70)
    "asl.component.state.exec.state_map.state_map",  # frame stack (:192)
    "asl.component.intrinsic.function.statesfunction.json_manipulation.json_merge",  # States.JsonMerge (:90)
)


def _shared_frame_input(frame: States, states: States) -> None:
    # the Task frame shares the state's input instead of two copies of it (see _set_input)
    _set_input(frame, states._states_data["input"])


def clear_caches() -> None:
    """Forget every memoised parse and client (uninstall calls it)."""
    _cached_boto_client.cache_clear()
    _parse_program.cache_clear()
    programs.clear()
    _result_path_parse.cache_clear()


PATCHES: Final[tuple[Patch, ...]] = (
    # the driver's seams
    (driver, "_program", lambda original: _parse_program),
    (driver, "_frame_input", lambda original: _shared_frame_input),
    (driver, "_copy_stack", lambda original: _json_copy),
    # over the driver's own patch of _eval_body: this copy checks the deadline too
    (CommonStateField, "_eval_body", gate(_state_eval_body)),
    (CommonStateField, "_get_state_entered_event_details", gate(_state_entered_details)),
    (CommonStateField, "_get_state_exited_event_details", gate(_state_exited_details)),
    (StateTaskService, "_after_eval_execution", gate(_task_after_eval_execution)),
    (OutputPath, "_eval_body", gate_wrapping(_output_path_eval_body)),
    (_json_path_mod, "parse", lambda original: gated(original, _cached_parse(original))),
    (_result_path_mod, "parse", lambda original: gated(original, functools.partial(_result_path_parse, original))),
    *((module(dotted), "boto_client_for", gate_wrapping(_boto_client_for)) for dotted in BOTO_CLIENT_MODULES),
    *((module(dotted), "extract_json", gate_wrapping(_extract_json)) for dotted in EXTRACT_JSON_MODULES),
    # Ungated: CreateStateMachine parses the definition only to validate it (parser/models.py:64-76),
    # and the inline run parses it again; each embedded cloud's definition is new (its queue URL), a variant
    # of its saga's canonical text (programs.py).
    (
        _parser_models.StepFunctionsParserBackend,
        "_validate_definition",
        lambda original: staticmethod(functools.partial(_validate_definition, original.__func__)),
    ),
    *((module(dotted), "copy", lambda original: _CopyModule()) for dotted in COPY_MODULES),
)
