"""Every event pattern in template.yaml, linted as PutRule would check it (``stepsaga check``).

The patterns are each ``AWS::Events::Rule``'s ``Properties.EventPattern`` and, on an
``AWS::Serverless::Function`` or ``AWS::Serverless::StateMachine``, each ``EventBridgeRule`` or
``CloudWatchEvent`` event source's ``Properties.Pattern``: the generated ones and the user's own alike.
CloudFormation takes an ``EventPattern`` as an object or as its JSON text
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-events-rule.html); SAM's
``Pattern`` is an object (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-statemachine-statemachineeventbridgerule.html).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from stepsaga.choreography.pattern import OR, validate
from stepsaga.sam.sync import plain_load

#: The SAM event source types whose ``Pattern`` is an EventBridge event pattern.
SAM_PATTERN_EVENTS = ("EventBridgeRule", "CloudWatchEvent")
_SAM_TARGETS = ("AWS::Serverless::Function", "AWS::Serverless::StateMachine")


class _Unresolved(Exception):
    """An intrinsic function where only a deployed stack knows the value: the pattern cannot be checked here."""


def pattern_problems(text: str, where: str = "template.yaml") -> list[str]:
    """``<where>: <LogicalId>: EventPattern <reason>``, one line per reason a pattern of the template is invalid.

    A pattern that is itself an intrinsic function, or that has one anywhere but as a field's value (where
    any string would do), is skipped: its value is only known once deployed. TemplateError when the file
    is not YAML.
    """
    problems = []
    for owner, label, pattern in _patterns(plain_load(text, where)):
        try:
            checkable = _stand_ins(pattern)
        except _Unresolved:
            continue
        problems.extend(f"{where}: {owner}: {label} {reason}" for reason in validate(checkable))
    return problems


def _patterns(doc: Any) -> Iterator[tuple[str, str, Any]]:
    """(logical id, the property's name, its pattern) for each pattern in the template's Resources."""
    resources = doc.get("Resources") if isinstance(doc, dict) else None
    for key, resource in (resources.items() if isinstance(resources, dict) else ()):
        if not isinstance(resource, dict) or not isinstance(resource.get("Properties"), dict):
            continue
        props = resource["Properties"]
        if resource.get("Type") == "AWS::Events::Rule" and "EventPattern" in props:
            yield key, "EventPattern", props["EventPattern"]
        elif resource.get("Type") in _SAM_TARGETS and isinstance(props.get("Events"), dict):
            for name, event in props["Events"].items():
                if isinstance(event, dict) and event.get("Type") in SAM_PATTERN_EVENTS:
                    source = event.get("Properties")
                    if isinstance(source, dict) and "Pattern" in source:
                        yield key, f"Events.{name}.Pattern", source["Pattern"]


def _intrinsic(node: Any) -> bool:
    """``{"Ref": ...}`` or ``{"Fn::...": ...}``, as ``plain`` writes a short-form tag: CloudFormation resolves it anywhere."""
    if not isinstance(node, dict) or len(node) != 1:
        return False
    name = str(next(iter(node)))
    return name == "Ref" or name.startswith("Fn::")


def _stand_ins(pattern: Any) -> Any:
    """The pattern with each intrinsic that is a field's value replaced by a stand-in string; _Unresolved otherwise."""
    if _intrinsic(pattern):
        raise _Unresolved
    if not isinstance(pattern, dict):
        return pattern  # JSON text, or something validate() names as not an object
    out: dict[str, Any] = {}
    for key, value in pattern.items():
        if _intrinsic(value):
            raise _Unresolved
        if key == OR and isinstance(value, list):
            out[key] = [_stand_ins(branch) for branch in value]
        elif isinstance(value, dict):
            out[key] = _stand_ins(value)
        elif isinstance(value, list):
            out[key] = [f"<{next(iter(v))}>" if _intrinsic(v) else _opaque_free(v) for v in value]
        else:
            out[key] = value
    return out


def _opaque_free(node: Any) -> Any:
    """``node`` when no intrinsic function is inside it; _Unresolved otherwise."""
    if _intrinsic(node):
        raise _Unresolved
    for child in node.values() if isinstance(node, dict) else node if isinstance(node, list) else ():
        _opaque_free(child)
    return node
