"""The fields of every ASL object, in render order, and the query language each belongs to: the one home of them.

The builder (``stepsaga.asl.builder``) renders its objects in this order and takes these fields as keyword
arguments (ASL's names in snake_case); the linter checks hand-written states against them; ``stepsaga import``
writes one keyword argument per field. Standard library only (nothing, in fact): the compile path reads it.

A field is ``BOTH`` (either query language), ``JSONPATH`` or ``JSONATA`` only. Sources:
https://states-language.net/spec.html, https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html
(the five JSONPath fields become ``Arguments`` and ``Output`` in JSONata), the page of each state type under
https://docs.aws.amazon.com/step-functions/latest/dg/concepts-states.html, and
https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html (``Assign`` in Pass, Task, Map,
Parallel, Choice and Wait states, Choice rules and Catchers, in both languages).
"""

from __future__ import annotations

from stepsaga.names import snake_case


BOTH, JSONPATH, JSONATA = "both", "JSONPath", "JSONata"
#: The values ``QueryLanguage`` takes; JSONPath is the default.
QUERY_LANGUAGES = (JSONPATH, JSONATA)

_P, _A, _B = JSONPATH, JSONATA, BOTH

#: Every state type's fields after ``Type``, in render order (the order stepsaga's compiler writes them in).
STATE_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "Task": (
        ("Comment", _B), ("QueryLanguage", _B), ("Resource", _B), ("Credentials", _B),
        ("InputPath", _P), ("Parameters", _P), ("Arguments", _A), ("ResultSelector", _P), ("ResultPath", _P),
        ("OutputPath", _P), ("Output", _A), ("Assign", _B),
        ("TimeoutSeconds", _B), ("TimeoutSecondsPath", _P), ("HeartbeatSeconds", _B), ("HeartbeatSecondsPath", _P),
        ("Retry", _B), ("Catch", _B), ("Next", _B), ("End", _B),
    ),
    "Pass": (
        ("Comment", _B), ("QueryLanguage", _B), ("InputPath", _P), ("Parameters", _P), ("Result", _P),
        ("ResultPath", _P), ("OutputPath", _P), ("Output", _A), ("Assign", _B), ("Next", _B), ("End", _B),
    ),
    "Choice": (
        ("Comment", _B), ("QueryLanguage", _B), ("InputPath", _P), ("Choices", _B), ("Default", _B),
        ("OutputPath", _P), ("Output", _A), ("Assign", _B),
    ),
    "Wait": (
        ("Comment", _B), ("QueryLanguage", _B), ("InputPath", _P), ("Seconds", _B), ("SecondsPath", _P),
        ("Timestamp", _B), ("TimestampPath", _P), ("OutputPath", _P), ("Output", _A), ("Assign", _B),
        ("Next", _B), ("End", _B),
    ),
    "Succeed": (("Comment", _B), ("QueryLanguage", _B), ("InputPath", _P), ("OutputPath", _P), ("Output", _A)),
    "Fail": (("Comment", _B), ("QueryLanguage", _B), ("Error", _B), ("ErrorPath", _P), ("Cause", _B), ("CausePath", _P)),
    "Parallel": (
        ("Comment", _B), ("QueryLanguage", _B), ("InputPath", _P), ("Parameters", _P), ("Arguments", _A),
        ("Branches", _B), ("ResultSelector", _P), ("ResultPath", _P), ("OutputPath", _P), ("Output", _A),
        ("Assign", _B), ("Retry", _B), ("Catch", _B), ("Next", _B), ("End", _B),
    ),
    "Map": (
        ("Comment", _B), ("QueryLanguage", _B), ("InputPath", _P), ("ItemsPath", _P), ("Items", _A),
        ("ItemReader", _B), ("ItemSelector", _B), ("Parameters", _P), ("ItemBatcher", _B), ("ItemProcessor", _B),
        ("Iterator", _B), ("MaxConcurrency", _B), ("MaxConcurrencyPath", _P), ("ToleratedFailurePercentage", _B),
        ("ToleratedFailurePercentagePath", _P), ("ToleratedFailureCount", _B), ("ToleratedFailureCountPath", _P),
        ("Label", _B), ("ResultWriter", _B), ("ResultSelector", _P), ("ResultPath", _P), ("OutputPath", _P),
        ("Output", _A), ("Assign", _B), ("Retry", _B), ("Catch", _B), ("Next", _B), ("End", _B),
    ),
}

#: The other ASL objects: the definition itself, a Parallel branch, a Map's ItemProcessor (or legacy Iterator),
#: a retrier, a catcher, and the Map's configuration objects.
OBJECT_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "StateMachine": (("Comment", _B), ("QueryLanguage", _B), ("Version", _B), ("StartAt", _B), ("TimeoutSeconds", _B), ("States", _B)),
    "Branch": (("Comment", _B), ("StartAt", _B), ("States", _B)),
    "ItemProcessor": (("Comment", _B), ("ProcessorConfig", _B), ("StartAt", _B), ("States", _B)),
    "Iterator": (("Comment", _B), ("StartAt", _B), ("States", _B)),  # the legacy name of an inline ItemProcessor
    "Retrier": (
        ("ErrorEquals", _B), ("Comment", _B), ("IntervalSeconds", _B), ("MaxAttempts", _B), ("BackoffRate", _B),
        ("MaxDelaySeconds", _B), ("JitterStrategy", _B),
    ),
    "Catcher": (("ErrorEquals", _B), ("Comment", _B), ("ResultPath", _P), ("Output", _A), ("Assign", _B), ("Next", _B)),
    "ItemReader": (("Resource", _B), ("ReaderConfig", _B), ("Parameters", _P), ("Arguments", _A)),
    "ItemBatcher": (
        ("MaxItemsPerBatch", _B), ("MaxItemsPerBatchPath", _P), ("MaxInputBytesPerBatch", _B),
        ("MaxInputBytesPerBatchPath", _P), ("BatchInput", _B),
    ),
    "ResultWriter": (("Resource", _B), ("Parameters", _P), ("Arguments", _A), ("WriterConfig", _B)),
    "ProcessorConfig": (("Mode", _B), ("ExecutionType", _B)),
}

#: The comparison operators of a JSONPath Choice rule (``Variable`` plus exactly one of these), each with the JSON
#: type its value must have: ``path`` for the ``...Path`` forms, ``timestamp`` for an RFC 3339 string.
COMPARISONS: dict[str, str] = {
    **{f"String{op}": "string" for op in ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")},
    "StringMatches": "string",
    **{f"Numeric{op}": "number" for op in ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")},
    "BooleanEquals": "boolean",
    **{f"Timestamp{op}": "timestamp" for op in ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")},
    **{f"{kind}{op}Path": "path" for kind in ("String", "Numeric", "Timestamp")
       for op in ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")},
    "BooleanEqualsPath": "path",
    **{f"Is{kind}": "boolean" for kind in ("Null", "Present", "Numeric", "String", "Boolean", "Timestamp")},
}

#: The fields of a Choice rule besides its comparison: ``Next`` only at the top of a rule, ``Condition`` the
#: JSONata form, ``Variable`` with a comparison or ``And``/``Or``/``Not`` the JSONPath one.
CHOICE_RULE_FIELDS: tuple[tuple[str, str], ...] = (
    ("Comment", _B), ("Condition", _A), ("Variable", _P), ("And", _P), ("Or", _P), ("Not", _P),
    ("Output", _A), ("Assign", _B), ("Next", _B),
)

#: What to write in a JSONata state instead of each JSONPath-only field.
JSONATA_INSTEAD: dict[str, str] = {
    "InputPath": "read the input as {% $states.input %} in Arguments (or Output) instead",
    "Parameters": "write Arguments, with {% %} expressions and no .$ keys",
    "ResultSelector": "shape the result in Output with {% $states.result %}",
    "ResultPath": "write Output (or Assign a variable) with {% $states.result %}; in a Catch, {% $states.errorOutput %}",
    "OutputPath": "write Output with a {% %} expression",
    "Result": "write Output",
    "ItemsPath": "write Items with a {% %} expression",
    "Variable": "write Condition with a {% %} expression",
    "And": "write Condition: {% a and b %}",
    "Or": "write Condition: {% a or b %}",
    "Not": "write Condition: {% $not(a) %}",
}

#: What to write in a JSONPath state instead of each JSONata-only field.
JSONPATH_INSTEAD: dict[str, str] = {
    "Arguments": "write Parameters (keys ending in .$ take paths), or set QueryLanguage to JSONata",
    "Output": "write OutputPath or ResultSelector, or set QueryLanguage to JSONata",
    "Items": "write ItemsPath, or set QueryLanguage to JSONata",
    "Condition": "write Variable with a comparison such as StringEquals, or set QueryLanguage to JSONata",
}


#: ASL field name -> the builder's keyword argument: ``TimeoutSecondsPath`` -> ``timeout_seconds_path``.
KEYWORD: dict[str, str] = {
    name: snake_case(name)
    for table in (*STATE_FIELDS.values(), *OBJECT_FIELDS.values())
    for name, _ in table
}


#: Each object's fields as a mapping, field -> its query language: ``LANGUAGES["Task"]["Parameters"] == JSONPATH``.
LANGUAGES: dict[str, dict[str, str]] = {kind: dict(table) for kind, table in (*STATE_FIELDS.items(), *OBJECT_FIELDS.items())}
