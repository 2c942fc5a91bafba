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

from stepsaga.asl.fields import BOTH, JSONATA, JSONATA_INSTEAD, JSONPATH, JSONPATH_INSTEAD, LANGUAGES, QUERY_LANGUAGES
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
    # Judged by the walk in lint.py (the matchers' shape, the retriers' ranges, the timeouts).
    **dict.fromkeys(("Retry", "Catch", "ErrorEquals", "TimeoutSeconds", "HeartbeatSeconds", "IntervalSeconds", "MaxAttempts",
                     "BackoffRate", "MaxDelaySeconds", "JitterStrategy"), "matchers"),
    **dict.fromkeys(("MaxConcurrency", "ToleratedFailureCount", "MaxItemsPerBatch", "MaxInputBytesPerBatch", "Seconds"), "count"),
    "ToleratedFailurePercentage": "percentage",
    "QueryLanguage": "language",
    "End": "boolean",
    "Items": "items",
}


def is_jsonata(value: Any) -> bool:
    """Whether a value is a JSONata expression: a string that is ``{% ... %}`` as a whole."""
    return isinstance(value, str) and value.startswith("{%") and value.endswith("%}") and len(value) >= 4


def is_path(value: Any) -> bool:
    """Whether a value reads as a JSONPath: ``$``, ``$.a``, ``$[0]``, ``$$.Execution.Id`` or a variable ``$name``."""
    return isinstance(value, str) and value[:1] == "$"


def field_problems(kind: str, obj: dict[str, Any], language: str, where: str | None, prefix: str = "") -> list[LintProblem]:
    """Every field rule an object breaks; ``kind`` is its table in ``stepsaga.asl.fields`` (a state type, or
    ``StateMachine``, ``Branch``, ``ItemProcessor``, ``Retrier``, ``Catcher``, ``ItemReader``, ...), ``language``
    its query language, ``prefix`` how its fields are named in messages (``Catch[0].``)."""
    table = LANGUAGES[kind]
    skip = _SKIP.get(kind, ())
    out: list[LintProblem] = []
    for field, value in obj.items():
        if field in skip:
            continue
        belongs = table.get(field)
        if belongs is not None and (belongs == BOTH or belongs == language):
            # The common cases, decided without a call: the compile path lints every state it writes.
            holds = _KIND.get(field, "any")
            if holds == "matchers" or (value.__class__ is str and (
                (holds == "string") or (holds == "name" and value) or (holds in _PATHS and value[:1] == "$")
            )):
                continue
            if holds == "template" and language == JSONPATH and value.__class__ is dict:
                _template(value, where, prefix + field, out)
                continue
            found = value_problems(field, value, language, where, prefix + field)
            if found:
                out.extend(found)
        elif belongs is None:
            out.append(LintProblem(where, "unknown-field", f"{prefix}{field} is not a field of {_article(kind)}; {_closest(field, table, language)}"))
        elif belongs == JSONPATH:
            out.append(LintProblem(where, "query-language", f"{prefix}{field} is a JSONPath field, but this is a JSONata state; {JSONATA_INSTEAD.get(field) or 'write ' + field.removesuffix('Path') + ' with a {% %} expression'}"))
        else:
            out.append(LintProblem(where, "query-language", f"{prefix}{field} is a JSONata field, but this is a JSONPath state; {JSONPATH_INSTEAD[field]}"))
    return out


_PATHS = ("path", "path-or-null", "path-or-intrinsic")


#: The fields each object's own rules judge elsewhere: a state's Type, and Next and End where a state may not have them.
_SKIP = {kind: ("Type", "Next", "End") if kind in ("Succeed", "Fail", "Choice") else ("Type",)
         for kind in ("Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map")}


def _check_string(value: Any, language: str) -> tuple[str, str, str] | None:
    return None if isinstance(value, str) else (f"is {_show(value)}, not a string", "write a string", "field-type")


def _check_name(value: Any, language: str) -> tuple[str, str, str] | None:
    return None if isinstance(value, str) and value else (f"is {_show(value)}, not a state name", "write a string", "field-type")


def _check_path_or_null(value: Any, language: str) -> tuple[str, str, str] | None:
    return None if value is None or is_path(value) else (f"is {_show(value)}, not a JSONPath", "write a path such as \"$.result\", or null", "path")


def _check_path(value: Any, language: str) -> tuple[str, str, str] | None:
    return None if is_path(value) else (f"is {_show(value)}, not a JSONPath", "write a path such as \"$.value\"", "path")


def _check_path_or_intrinsic(value: Any, language: str) -> tuple[str, str, str] | None:
    if is_path(value) or (isinstance(value, str) and is_intrinsic_call(value)):
        return None
    return (f"is {_show(value)}, neither a JSONPath nor an intrinsic function", "write a path such as \"$.error.Cause\" or States.Format('...', $.x)", "path")


def _check_template(value: Any, language: str) -> tuple[str, str, str] | None:
    if isinstance(value, dict):
        return None
    if language == JSONATA:
        return None if is_jsonata(value) else (f"is {_show(value)}, not an object or a {{% %}} expression", "write an object, or \"{% expression %}\"", "field-type")
    return (f"is {_show(value)}, not an object", "write a JSON object (keys ending in .$ take paths)", "field-type")


def _check_object(value: Any, language: str) -> tuple[str, str, str] | None:
    return None if isinstance(value, dict) else (f"is {_show(value)}, not an object", "write a JSON object", "field-type")


def _check_list(value: Any, language: str) -> tuple[str, str, str] | None:
    return None if isinstance(value, list) else (f"is {_show(value)}, not a list", "write a JSON array", "field-type")


def _check_count(value: Any, language: str) -> tuple[str, str, str] | None:
    if (_is_int(value) and 0 <= value <= ASL_MAX_INT) or (language == JSONATA and is_jsonata(value)):
        return None
    return (f"is {_show(value)}", f"it must be a whole number from 0 to {ASL_MAX_INT}" + (", or a {% %} expression" if language == JSONATA else ""), "field-type")


def _check_percentage(value: Any, language: str) -> tuple[str, str, str] | None:
    if (not isinstance(value, bool) and isinstance(value, (int, float)) and 0 <= value <= 100) or (language == JSONATA and is_jsonata(value)):
        return None
    return (f"is {_show(value)}", "it must be a number from 0 to 100" + (", or a {% %} expression" if language == JSONATA else ""), "field-type")


def _check_language(value: Any, language: str) -> tuple[str, str, str] | None:
    return None if value in QUERY_LANGUAGES else (f"is {_show(value)}", "write \"JSONPath\" or \"JSONata\"", "field-type")


def _check_boolean(value: Any, language: str) -> tuple[str, str, str] | None:
    return None if isinstance(value, bool) else (f"is {_show(value)}, not a boolean", "write true", "field-type")


def _check_items(value: Any, language: str) -> tuple[str, str, str] | None:
    if language != JSONATA or isinstance(value, list) or is_jsonata(value):
        return None
    return (f"is {_show(value)}, not a list or a {{% %}} expression", "write \"{% $states.input.items %}\" or a JSON array", "field-type")


_CHECKS = {
    "string": _check_string, "name": _check_name, "path-or-null": _check_path_or_null, "path": _check_path,
    "path-or-intrinsic": _check_path_or_intrinsic, "template": _check_template, "object": _check_object,
    "list": _check_list, "count": _check_count, "percentage": _check_percentage, "language": _check_language,
    "boolean": _check_boolean, "items": _check_items,
}
#: Kinds whose values the linter looks into no further here: structure judged by its own rules, or plain values.
_SHALLOW = {"object", "list", "matchers", "name", "boolean", "language", "count", "percentage", "path", "path-or-null"}


def value_problems(field: str, value: Any, language: str, where: str | None, name: str) -> list[LintProblem]:
    """What is wrong with one field's value, by what the field holds (``_KIND``), in the state's language."""
    kind = _KIND.get(field, "any")
    check = _CHECKS.get(kind)
    if check is not None:
        wrong = check(value, language)
        if wrong is not None:
            what, instead, rule = wrong
            return [LintProblem(where, rule, f"{name} {what}; {instead}")]
    if kind in _SHALLOW or kind == "matchers":
        return []
    if kind == "path-or-intrinsic":
        return _intrinsic_problems(value, where, name) if is_intrinsic_call(value) else []
    if language == JSONATA:
        return jsonata_problems(value, where, name)
    if kind == "template":
        return template_problems(value, where, name)
    if kind == "any":
        return jsonata_in_jsonpath(value, where, name)
    return []


def template_problems(template: Any, where: str | None, name: str) -> list[LintProblem]:
    """A JSONPath payload template: each ``key.$`` must hold a path or an intrinsic function call, nested too."""
    out: list[LintProblem] = []
    _template(template, where, name, out)
    return out


def _template(template: Any, where: str | None, name: str, out: list[LintProblem]) -> None:
    # Hot on the compile path (every compiled Task's payload): names are built only where a problem is.
    if template.__class__ is dict:
        for key, value in template.items():
            if key[-2:] == ".$":
                if value.__class__ is str and value[:1] == "$":
                    continue
                if isinstance(value, str) and is_intrinsic_call(value):
                    out.extend(_intrinsic_problems(value, where, f"{name}.{key}"))
                    continue
                out.append(LintProblem(where, "payload-template", f"{name}.{key} is {_show(value)}, but a key ending in .$ takes a path or an intrinsic function; write \"$.{key[:-2] or 'value'}\", or drop .$ from the key for a fixed value"))
            elif value.__class__ is dict or value.__class__ is list or (value.__class__ is str and value[:2] == "{%"):
                _template(value, where, f"{name}.{key}", out)
    elif isinstance(template, list):
        for i, item in enumerate(template):
            if isinstance(item, (dict, list, str)):
                _template(item, where, f"{name}[{i}]", out)
    elif is_jsonata(template):
        out.append(LintProblem(where, "jsonata", f"{name} is a JSONata expression in a JSONPath state, where it is passed on as text; set QueryLanguage to JSONata, or write a path in a key ending in .$"))


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
    if isinstance(value, str):
        return [LintProblem(where, "jsonata", f"{name} is a JSONata expression in a JSONPath state, where it is passed on as text; set QueryLanguage to JSONata")] if is_jsonata(value) else []
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
