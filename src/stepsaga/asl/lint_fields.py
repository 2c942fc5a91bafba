"""The linter's field rules: which fields an ASL object may have in its query language, and what each holds.

An object is a state, the definition, a branch, a retrier, a catcher or a Map configuration object; its
fields and their languages come from ``stepsaga.asl.fields``. Each problem names the field and says what to
write instead. Rules:

* ``unknown-field``: a field the object does not have (with the closest one it does have);
* ``query-language``: a JSONPath-only field in a JSONata state, or the other way round, with the field to
  write instead (https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html);
* ``field-type``: a value of the wrong JSON type or range;
* ``path``: a JSONPath field that holds no path (``$``, ``$.a``, ``$$.Execution.Id``, ``$variable``);
* ``payload-template``: a ``key.$`` of a JSONPath payload template whose value is neither a path nor an
  intrinsic function call (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html);
* ``intrinsic``: a call of an intrinsic function Step Functions does not have (``stepsaga.asl.intrinsics``);
* ``jsonata``: a ``key.$`` in a JSONata state, a ``{% ... %}`` expression that is not closed, or one in a
  JSONPath state, where it would be passed on as text.

Standard library only: the compile path lints every definition it writes.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

from stepsaga.asl.fields import JSONATA, JSONATA_INSTEAD, JSONPATH, JSONPATH_INSTEAD, LANGUAGES, QUERY_LANGUAGES
from stepsaga.asl.intrinsics import is_intrinsic_call, suggest, unknown_functions
from stepsaga.asl.limits import ASL_MAX_INT
from stepsaga.errors import LintProblem

#: The fields a state's own transition rules judge (Next and End on a Succeed, Fail or Choice state).
_TRANSITIONS = ("Next", "End")

#: What each field holds; fields not named here hold any JSON (``Output``, ``Result``, ``Arguments``...).
_KIND: dict[str, str] = {
    **dict.fromkeys(("Comment", "Resource", "Error", "Cause", "Label", "Version", "Timestamp"), "string"),
    **dict.fromkeys(("Next", "Default", "StartAt"), "name"),
    **dict.fromkeys(("InputPath", "OutputPath", "ResultPath"), "path-or-null"),
    **dict.fromkeys(("ItemsPath", "SecondsPath", "TimestampPath", "TimeoutSecondsPath", "HeartbeatSecondsPath",
                     "MaxConcurrencyPath", "ToleratedFailurePercentagePath", "ToleratedFailureCountPath",
                     "MaxItemsPerBatchPath", "MaxInputBytesPerBatchPath"), "path"),
    **dict.fromkeys(("ErrorPath", "CausePath"), "path-or-intrinsic"),
    **dict.fromkeys(("Parameters", "ResultSelector", "ItemSelector", "Credentials", "Assign", "BatchInput"), "template"),
    # Objects and lists the linter judges on their own (each state, rule, branch, retrier, catcher, configuration):
    # only their JSON type is checked here.
    **dict.fromkeys(("States", "ItemReader", "ItemBatcher", "ResultWriter", "ProcessorConfig", "ItemProcessor", "Iterator",
                     "ReaderConfig", "WriterConfig"), "object"),
    **dict.fromkeys(("Choices", "Branches"), "list"),
    **dict.fromkeys(("Retry", "Catch"), "matchers"),  # the walk in lint.py judges them, their shape included
    **dict.fromkeys(("MaxConcurrency", "ToleratedFailureCount", "MaxItemsPerBatch", "MaxInputBytesPerBatch", "Seconds"), "count"),
    "ToleratedFailurePercentage": "percentage",
    "QueryLanguage": "language",
    "End": "boolean",
    "ErrorEquals": "errors",
    "Items": "items",
}


def is_jsonata(value: Any) -> bool:
    """Whether a value is a JSONata expression: a string that is ``{% ... %}`` as a whole."""
    return isinstance(value, str) and value.startswith("{%") and value.endswith("%}") and len(value) >= 4


def is_path(value: Any) -> bool:
    """Whether a value reads as a JSONPath: ``$``, ``$.a``, ``$[0]``, ``$$.Execution.Id`` or a variable ``$name``."""
    return isinstance(value, str) and value.startswith("$") and not value.startswith("{%")


def field_problems(kind: str, obj: dict[str, Any], language: str, where: str | None, prefix: str = "") -> list[LintProblem]:
    """Every field rule an object breaks; ``kind`` is its table in ``stepsaga.asl.fields`` (a state type, or
    ``StateMachine``, ``Branch``, ``ItemProcessor``, ``Retrier``, ``Catcher``, ``ItemReader``, ...), ``language``
    its query language, ``prefix`` how its fields are named in messages (``Catch[0].``)."""
    table = LANGUAGES[kind]
    out: list[LintProblem] = []
    for field, value in obj.items():
        if field == "Type" and kind not in ("Retrier", "Catcher"):
            continue
        if field in _TRANSITIONS and kind in ("Succeed", "Fail", "Choice"):
            continue
        name = prefix + field
        belongs = table.get(field)
        if belongs is None:
            out.append(LintProblem(where, "unknown-field", f"{name} is not a field of {_article(kind)}; {_closest(field, table, language)}"))
        elif belongs == JSONPATH and language == JSONATA:
            out.append(LintProblem(where, "query-language", f"{name} is a JSONPath field, but this is a JSONata state; {JSONATA_INSTEAD.get(field) or 'write ' + field.removesuffix('Path') + ' with a {% %} expression'}"))
        elif belongs == JSONATA and language == JSONPATH:
            out.append(LintProblem(where, "query-language", f"{name} is a JSONata field, but this is a JSONPath state; {JSONPATH_INSTEAD[field]}"))
        else:
            out.extend(value_problems(field, value, language, where, name))
    return out


def value_problems(field: str, value: Any, language: str, where: str | None, name: str) -> list[LintProblem]:
    """What is wrong with one field's value, by what the field holds (``_KIND``), in the state's language."""
    kind = _KIND.get(field, "any")
    expression = language == JSONATA and is_jsonata(value)

    def bad(what: str, instead: str, rule: str = "field-type") -> list[LintProblem]:
        return [LintProblem(where, rule, f"{name} {what}; {instead}")]

    if kind in ("string", "name"):
        if not isinstance(value, str) or (kind == "name" and not value):
            return bad(f"is {_show(value)}, not a {'state name' if kind == 'name' else 'string'}", "write a string")
    elif kind == "path-or-null":
        if value is not None and not is_path(value):
            return bad(f"is {_show(value)}, not a JSONPath", f"write a path such as \"$.result\", or null", "path")
    elif kind == "path":
        if not is_path(value):
            return bad(f"is {_show(value)}, not a JSONPath", "write a path such as \"$.value\"", "path")
    elif kind == "path-or-intrinsic":
        if not (is_path(value) or (isinstance(value, str) and is_intrinsic_call(value))):
            return bad(f"is {_show(value)}, neither a JSONPath nor an intrinsic function", "write a path such as \"$.error.Cause\" or States.Format('...', $.x)", "path")
        if is_intrinsic_call(value):
            return _intrinsic_problems(value, where, name)
    elif kind == "template":
        if language == JSONATA:
            if not (isinstance(value, dict) or expression):
                return bad(f"is {_show(value)}, not an object or a {{% %}} expression", "write an object, or \"{% expression %}\"")
            return jsonata_problems(value, where, name)
        if not isinstance(value, dict):
            return bad(f"is {_show(value)}, not an object", "write a JSON object (keys ending in .$ take paths)")
        return template_problems(value, where, name)
    elif kind == "object":
        return [] if isinstance(value, dict) else bad(f"is {_show(value)}, not an object", "write a JSON object")
    elif kind == "list":
        return [] if isinstance(value, list) else bad(f"is {_show(value)}, not a list", "write a JSON array")
    elif kind == "matchers":
        return []
    elif kind == "count":
        if not expression and not (_is_int(value) and 0 <= value <= ASL_MAX_INT):
            return bad(f"is {_show(value)}", f"it must be a whole number from 0 to {ASL_MAX_INT}" + (", or a {% %} expression" if language == JSONATA else ""))
    elif kind == "percentage":
        if not expression and (isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100):
            return bad(f"is {_show(value)}", "it must be a number from 0 to 100" + (", or a {% %} expression" if language == JSONATA else ""))
    elif kind == "language":
        if value not in QUERY_LANGUAGES:
            return bad(f"is {_show(value)}", "write \"JSONPath\" or \"JSONata\"")
    elif kind == "boolean":
        if not isinstance(value, bool):
            return bad(f"is {_show(value)}, not a boolean", "write true")
    elif kind == "errors":
        if isinstance(value, list) and not all(isinstance(e, str) and e for e in value):
            return bad("holds something that is not an error name", "write error names as strings, such as \"States.ALL\"")
    elif kind == "items":
        if language == JSONATA and not (isinstance(value, list) or expression):
            return bad(f"is {_show(value)}, not a list or a {{% %}} expression", "write \"{% $states.input.items %}\" or a JSON array")
    if language == JSONATA:
        return jsonata_problems(value, where, name)
    if kind == "any":
        return jsonata_in_jsonpath(value, where, name)
    return []


def template_problems(template: Any, where: str | None, name: str) -> list[LintProblem]:
    """A JSONPath payload template: each ``key.$`` must hold a path or an intrinsic function call, nested too."""
    out: list[LintProblem] = []
    if isinstance(template, dict):
        for key, value in template.items():
            inner = f"{name}.{key}"
            if isinstance(key, str) and key.endswith(".$"):
                if not isinstance(value, str) or not (is_path(value) or is_intrinsic_call(value)):
                    out.append(LintProblem(where, "payload-template", f"{inner} is {_show(value)}, but a key ending in .$ takes a path or an intrinsic function; write \"$.{key[:-2] or 'value'}\", or drop .$ from the key for a fixed value"))
                elif is_intrinsic_call(value):
                    out.extend(_intrinsic_problems(value, where, inner))
            else:
                out.extend(template_problems(value, where, inner))
    elif isinstance(template, list):
        for i, item in enumerate(template):
            out.extend(template_problems(item, where, f"{name}[{i}]"))
    elif is_jsonata(template):
        out.append(LintProblem(where, "jsonata", f"{name} is a JSONata expression in a JSONPath state, where it is passed on as text; set QueryLanguage to JSONata, or write a path in a key ending in .$"))
    return out


def jsonata_problems(value: Any, where: str | None, name: str) -> list[LintProblem]:
    """A value in a JSONata state: no ``key.$`` (JSONPath's way to evaluate), and every ``{%`` closed by ``%}``."""
    out: list[LintProblem] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            if isinstance(key, str) and key.endswith(".$"):
                out.append(LintProblem(where, "jsonata", f"{name}.{key} ends in .$, JSONPath's way to take a path, but this is a JSONata state; write \"{key[:-2]}\": \"{{% ... %}}\""))
            out.extend(jsonata_problems(inner, where, f"{name}.{key}"))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out.extend(jsonata_problems(item, where, f"{name}[{i}]"))
    elif isinstance(value, str) and (value.startswith("{%") != value.endswith("%}") or value in ("{%", "%}", "{%}")):
        out.append(LintProblem(where, "jsonata", f"{name} is {_show(value)}, a JSONata expression that is not closed; write the whole value as \"{{% expression %}}\""))
    return out


def jsonata_in_jsonpath(value: Any, where: str | None, name: str) -> list[LintProblem]:
    """A ``{% ... %}`` string in a JSONPath state's free JSON (``Result``): passed on as text, so a mistake."""
    if is_jsonata(value):
        return [LintProblem(where, "jsonata", f"{name} is a JSONata expression in a JSONPath state, where it is passed on as text; set QueryLanguage to JSONata")]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in jsonata_in_jsonpath(v, where, f"{name}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in jsonata_in_jsonpath(v, where, f"{name}[{i}]")]
    return []


def _intrinsic_problems(expression: str, where: str | None, name: str) -> list[LintProblem]:
    return [
        LintProblem(where, "intrinsic", f"{name} calls {fn}, which is not an intrinsic function; did you mean {suggest(fn)}?")
        for fn in unknown_functions(expression)
    ]


def _article(kind: str) -> str:
    named = {"StateMachine": "the definition", "Branch": "a Parallel branch", "ItemProcessor": "an ItemProcessor",
             "Iterator": "an Iterator", "Retrier": "a retrier", "Catcher": "a catcher"}
    if kind in named:
        return named[kind]
    if kind in ("ItemReader", "ItemBatcher", "ResultWriter", "ProcessorConfig"):
        return kind
    return f"{'an' if kind[0] in 'AEIOU' else 'a'} {kind} state"


def _closest(field: str, table: dict[str, str], language: str) -> str:
    import difflib  # only on the error path

    fits = [f for f, lang in table.items() if lang in ("both", language)]
    match = difflib.get_close_matches(field, fits, n=1, cutoff=0.6)
    return f"did you mean {match[0]}?" if match else f"remove it (fields: {', '.join(fits)})"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _show(value: Any) -> str:
    import json

    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 50 else text[:47] + "..."
