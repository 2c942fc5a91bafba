"""A SAM state machine for a definition stepsaga did not compile (an SDK workflow's), as plain data.

``definition_resource(definition)`` is an ``AWS::Serverless::StateMachine`` with the definition inline (or a
``DefinitionUri``) and one SAM policy template per thing its Task states call, found in the definition itself:
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/serverless-policy-template-list.html

* ``arn:aws:states:::lambda:invoke`` (any integration pattern): ``LambdaInvokePolicy`` of ``Parameters.FunctionName``'s name;
* ``arn:aws:lambda:<region>:<account>:function:<f>``: ``LambdaInvokePolicy`` of ``<f>``;
* ``arn:aws:states:::sqs:sendMessage``: ``SQSSendMessagePolicy`` of ``Parameters.QueueUrl``'s queue;
* ``arn:aws:states:::sns:publish``: ``SNSPublishMessagePolicy`` of ``Parameters.TopicArn``'s topic;
* ``arn:aws:states:::dynamodb:getItem``: ``DynamoDBReadPolicy``, and ``putItem``, ``updateItem``, ``deleteItem``:
  ``DynamoDBCrudPolicy``, of ``Parameters.TableName``.

Anything else (another service, a target chosen at run time with ``FunctionName.$``) is a ``TemplateError``
naming each such state: write that policy yourself. ``definition_template`` renders the resource as YAML
(ruamel.yaml, imported when called).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from stepsaga.errors import TemplateError

Json = dict[str, Any]

_LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
_DYNAMODB = "arn:aws:states:::dynamodb:"


def _tasks(states: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every Task state, also those in Parallel branches and Map iterations, as ``(where, state)``."""
    for name, state in states.items():
        where = prefix + name
        if state.get("Type") == "Task":
            yield where, state
        for index, branch in enumerate(state.get("Branches", [])):
            yield from _tasks(branch.get("States", {}), f"{where}.Branches[{index}].")
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from _tasks(state[key].get("States", {}), f"{where}.{key}.")


def _last(value: str, separator: str) -> str:
    return value.rstrip(separator).rsplit(separator, 1)[-1]


def _policy(state: Mapping[str, Any]) -> Json | str:
    """The policy template a Task needs, or why there is none."""
    resource = str(state.get("Resource", ""))
    params = state.get("Parameters") or {}

    def named(field: str) -> str | None:
        value = params.get(field)
        return value if isinstance(value, str) and value else None

    if resource.startswith(_LAMBDA_INVOKE) or (":lambda:" in resource and ":function:" in resource):
        function = named("FunctionName") if resource.startswith(_LAMBDA_INVOKE) else resource
        if function is None:
            return "its FunctionName is chosen at run time (FunctionName.$)"
        name = function.split(":function:", 1)[1] if ":function:" in function else function
        return {"LambdaInvokePolicy": {"FunctionName": name.split(":", 1)[0]}}
    if resource == "arn:aws:states:::sqs:sendMessage":
        queue = named("QueueUrl")
        return {"SQSSendMessagePolicy": {"QueueName": _last(queue, "/")}} if queue else "its QueueUrl is chosen at run time (QueueUrl.$)"
    if resource == "arn:aws:states:::sns:publish":
        topic = named("TopicArn")
        return {"SNSPublishMessagePolicy": {"TopicName": _last(topic, ":")}} if topic else "its TopicArn is chosen at run time (TopicArn.$)"
    if resource.startswith(_DYNAMODB) and resource[len(_DYNAMODB):] in ("getItem", "putItem", "updateItem", "deleteItem"):
        table = named("TableName")
        if table is None:
            return "its TableName is chosen at run time (TableName.$)"
        template = "DynamoDBReadPolicy" if resource.endswith("getItem") else "DynamoDBCrudPolicy"
        return {template: {"TableName": table}}
    return f"stepsaga has no SAM policy template for its Resource {resource!r}"


def definition_resource(definition: Mapping[str, Any], *, definition_uri: str | None = None, workflow_type: str = "STANDARD") -> Json:
    """The ``AWS::Serverless::StateMachine`` resource of an ASL document: ``Definition`` inline, or ``DefinitionUri``
    when given (the document then lives in that file), its ``Type``, and its ``Policies`` (the table above).

    Raises ``TemplateError`` listing every Task state whose permissions it cannot derive, and what to write.
    """
    policies: list[Json] = []
    problems = []
    for where, state in _tasks(definition.get("States", {})):
        found = _policy(state)
        if isinstance(found, str):
            problems.append(f"state {where}: {found}; add its policy to the resource's Policies yourself")
        elif found not in policies:
            policies.append(found)
    if problems:
        raise TemplateError("\n".join(problems))
    props: Json = {"Type": workflow_type}
    props.update({"DefinitionUri": definition_uri} if definition_uri else {"Definition": dict(definition)})
    props["Tracing"] = {"Enabled": True}
    props["Policies"] = policies
    return {"Type": "AWS::Serverless::StateMachine", "Properties": props}


def definition_template(name: str, resource: Json) -> str:
    """A ``Resources:`` YAML snippet holding the resource as ``<Name>StateMachine`` (``name`` made a logical id)."""
    from stepsaga.sam.resources import pascal
    from stepsaga.sam.sync import emit

    return "\n".join(emit("Resources", {f"{pascal(name)}StateMachine": resource}, 0)) + "\n"
