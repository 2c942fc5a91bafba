"""The linter's rules of single state types: what a Task, Wait, Fail, Parallel or Map state must have.

Rules: ``exclusive-fields`` (a field and its ``...Path`` form, or two names of one field, together),
``task-resource``, ``task-token`` (a ``.waitForTaskToken`` Task that never sends its token, so no callback
can ever end it), ``wait-time`` (not exactly one of Seconds, SecondsPath, Timestamp, TimestampPath),
``branches``, ``item-processor`` and ``map-config`` (the Map's processor and its ProcessorConfig), and
``distributed-only`` (distributed-Map fields in an inline Map). Pages: ``state-task.html``,
``connect-to-resource.html#connect-wait-token``, ``state-wait.html``, ``state-fail.html``,
``state-parallel.html``, ``state-map-distributed.html`` under https://docs.aws.amazon.com/step-functions/latest/dg/.
Standard library only.
"""

from __future__ import annotations

import json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

from stepsaga.asl.fields import JSONATA, LANGUAGES
from stepsaga.asl.lint_fields import field_problems, is_jsonata
from stepsaga.errors import LintProblem

#: Fields that exclude each other in one object: a value and the path that reads it, or a legacy name.
EXCLUSIVE = (
    ("TimeoutSeconds", "TimeoutSecondsPath"), ("HeartbeatSeconds", "HeartbeatSecondsPath"),
    ("Error", "ErrorPath"), ("Cause", "CausePath"), ("MaxConcurrency", "MaxConcurrencyPath"),
    ("ToleratedFailurePercentage", "ToleratedFailurePercentagePath"),
    ("ToleratedFailureCount", "ToleratedFailureCountPath"), ("ItemSelector", "Parameters"),
    ("ItemProcessor", "Iterator"), ("MaxItemsPerBatch", "MaxItemsPerBatchPath"),
    ("MaxInputBytesPerBatch", "MaxInputBytesPerBatchPath"),
)
#: The pairs each state type can have both fields of: the rest cannot clash (unknown fields are another rule's).
_EXCLUSIVE_OF = {kind: tuple((a, b) for a, b in EXCLUSIVE if a in LANGUAGES[kind] and b in LANGUAGES[kind])
                 for kind in ("Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map")}
_WAIT_FIELDS = ("Seconds", "SecondsPath", "Timestamp", "TimestampPath")
#: The fields only a distributed Map has: https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html
DISTRIBUTED_ONLY = ("ItemReader", "ItemBatcher", "ResultWriter", "ToleratedFailurePercentage", "ToleratedFailurePercentagePath",
                    "ToleratedFailureCount", "ToleratedFailureCountPath", "Label")
_TOKEN = {"JSONPath": "$$.Task.Token", JSONATA: "$states.context.Task.Token"}


def exclusive_problems(obj: dict[str, Any], where: str | None, prefix: str = "", kind: str | None = None) -> list[LintProblem]:
    """Pairs of fields of ``EXCLUSIVE`` given together (only the pairs an object of ``kind`` can have, when given)."""
    return [
        LintProblem(where, "exclusive-fields", f"{prefix}{a} and {prefix}{b} are both given; write only one of them")
        for a, b in (_EXCLUSIVE_OF.get(kind, EXCLUSIVE) if kind else EXCLUSIVE) if a in obj and b in obj
    ]


def state_problems(kind: str, state: dict[str, Any], language: str, where: str | None) -> list[LintProblem]:
    """The rules of the state's own type (the fields common to all states are ``lint_fields``' concern)."""
    out = exclusive_problems(state, where, kind=kind)
    if kind == "Task":
        out += _task(state, language, where)
    elif kind == "Wait":
        given = [f for f in _WAIT_FIELDS if f in state]
        if len(given) != 1:
            out.append(LintProblem(where, "wait-time", ("has " + " and ".join(given) if given else "has no time to wait")
                                   + "; write exactly one of Seconds, SecondsPath, Timestamp and TimestampPath"))
    elif kind == "Parallel":
        branches = state.get("Branches")
        if not isinstance(branches, list) or not branches or not all(isinstance(b, dict) for b in branches):
            out.append(LintProblem(where, "branches", "has no Branches; write a list of branches, each with its StartAt and States"))
    elif kind == "Map":
        out += _map(state, language, where)
    return out


def _task(state: dict[str, Any], language: str, where: str | None) -> list[LintProblem]:
    resource = state.get("Resource")
    if resource is None:
        return [LintProblem(where, "task-resource", "has no Resource; write the integration's ARN, such as \"arn:aws:states:::lambda:invoke\"")]
    if isinstance(resource, str) and resource.endswith(".waitForTaskToken"):
        payload = state.get("Arguments" if language == JSONATA else "Parameters")
        if _TOKEN[language] not in json.dumps(payload):
            field = "Arguments" if language == JSONATA else "Parameters"
            write = '"TaskToken": "{% $states.context.Task.Token %}"' if language == JSONATA else '"TaskToken.$": "$$.Task.Token"'
            return [LintProblem(where, "task-token", f"calls {resource}, which waits for a task token, but {field} never sends {_TOKEN[language]}, so no callback can end it; write {write} in {field}")]
    return []


def _map(state: dict[str, Any], language: str, where: str | None) -> list[LintProblem]:
    out: list[LintProblem] = []
    processor = state.get("ItemProcessor", state.get("Iterator"))
    if not isinstance(processor, dict):
        out.append(LintProblem(where, "item-processor", "has no ItemProcessor; write one with its ProcessorConfig, StartAt and States"))
        return out
    config = processor.get("ProcessorConfig", {})
    mode = config.get("Mode", "INLINE") if isinstance(config, dict) else None
    if isinstance(config, dict):
        out += field_problems("ProcessorConfig", config, "JSONPath", where, "ItemProcessor.ProcessorConfig.")
        if mode not in ("INLINE", "DISTRIBUTED"):
            out.append(LintProblem(where, "map-config", f"ItemProcessor.ProcessorConfig.Mode is {mode!r}; write \"INLINE\" or \"DISTRIBUTED\""))
        execution = config.get("ExecutionType")
        if mode == "DISTRIBUTED" and execution not in ("STANDARD", "EXPRESS"):
            out.append(LintProblem(where, "map-config", f"ItemProcessor.ProcessorConfig.ExecutionType is {execution!r}, but a distributed Map runs child workflows; write \"STANDARD\" or \"EXPRESS\""))
        if mode == "INLINE" and execution is not None:
            out.append(LintProblem(where, "map-config", "ItemProcessor.ProcessorConfig.ExecutionType is set, but an inline Map runs no child workflows; remove it, or write \"Mode\": \"DISTRIBUTED\""))
    if mode != "DISTRIBUTED":
        for field in DISTRIBUTED_ONLY:
            if field in state:
                out.append(LintProblem(where, "distributed-only", f"{field} is a field of a distributed Map, but this Map is inline; write \"ProcessorConfig\": {{\"Mode\": \"DISTRIBUTED\", \"ExecutionType\": \"STANDARD\"}} in its ItemProcessor, or remove {field}"))
    for field in ("ItemReader", "ItemBatcher", "ResultWriter"):
        sub = state.get(field)
        if isinstance(sub, dict):
            out += field_problems(field, sub, language, where, f"{field}.")
            out += exclusive_problems(sub, where, f"{field}.")
    reader = state.get("ItemReader")
    if isinstance(reader, dict) and "Resource" not in reader:
        out.append(LintProblem(where, "map-config", "ItemReader has no Resource; write the reader's ARN, such as \"arn:aws:states:::s3:getObject\""))
    return out


def is_expression(value: Any, language: str) -> bool:
    """Whether a numeric field holds a JSONata expression instead of its number (JSONata states only)."""
    return language == JSONATA and is_jsonata(value)
