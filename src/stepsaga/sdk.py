"""The AWS Step Functions Data Science SDK, both ways: its workflows into stepsaga's ASL, sagas out to its steps.

The optional extra ``stepsaga[sdk]`` installs ``stepfunctions-without-sagemaker`` 3.0.0, a fork of the SDK
(``stepfunctions`` 2.3.0 installs SageMaker 3 and then fails to import; docs/decisions.md). Nothing of it is
imported until a function here needs it.

* ``from_sdk(obj)``: an SDK ``Workflow``, ``Graph``, ``Chain`` or single state -> its ASL document (a dict), the
  SDK's own rendering. stepsaga then lints it (``stepsaga.asl.lint.lint``), runs it locally
  (``stepsaga.local.definition.run_definition``) and templates it (``stepsaga.sam.definition_resource``).
* ``to_sdk(definition)`` / ``export_saga(saga)``: an ASL document, or a saga's compiled one, -> an SDK ``Graph``
  of its states, linked as in the document: each Task the SDK's ``Task`` with its ``Resource`` as written
  (``LambdaStep`` would rebuild the ARN from the boto3 session's partition), ``Pass``, ``Choice`` with its rules,
  ``Wait``, ``Succeed``, ``Fail``, each ``Retry`` and ``Catch``. The SDK knows a subset of ASL: what each of its
  classes accepts is asked of the class itself (``allowed_fields``). A field it cannot hold (``ResultSelector``,
  ``MaxDelaySeconds``, ``JitterStrategy``, a Fail's ``ErrorPath`` and ``CausePath``, ``Arguments``, ``Assign``,
  ``QueryLanguage``...) is an ``SdkExportError`` naming every one, unless ``drop_unsupported=True``, which drops
  them with a warning naming each.

Importing the SDK sets the root logger to ERROR (its ``__init__``); ``_steps`` puts the level back.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Mapping
from typing import Any

from stepsaga.errors import SdkError, SdkExportError, SdkNotInstalledError
from stepsaga.model import Saga
from stepsaga.names import snake_case

#: What the extra installs, for the error that says how to get it.
DISTRIBUTION = "stepfunctions-without-sagemaker"
#: The state types a saga compiles to, which this module exports.
_EXPORTED_TYPES = ("Task", "Pass", "Choice", "Wait", "Succeed", "Fail")
#: Keys ``to_sdk`` writes through the SDK's own structure, not as fields.
_STRUCTURE = ("Type", "Next", "End", "Retry", "Catch", "Choices", "Default")
_RULE_COMBINATIONS = ("And", "Or", "Not")


def _steps() -> Any:
    """The SDK's ``stepfunctions.steps`` module, imported on first use; ``SdkNotInstalledError`` when it does not import."""
    root = logging.getLogger()
    level = root.level
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
            import stepfunctions.steps as steps
    except ImportError as exc:
        raise SdkNotInstalledError(f"the Data Science SDK does not import ({exc}); install it with: pip install 'stepsaga[sdk]' (the {DISTRIBUTION} package)") from exc
    finally:
        root.setLevel(level)  # stepfunctions/__init__.py sets the root logger to ERROR
    return steps


def from_sdk(obj: Any) -> dict[str, Any]:
    """The ASL document of an SDK ``Workflow``, ``Graph``, ``Chain`` or state, as the SDK renders it, as plain JSON.

    Raises ``SdkError`` when ``obj`` is none of them (naming its type), or when the SDK rejects it (its message).
    """
    steps = _steps()
    from stepfunctions.workflow import Workflow

    if isinstance(obj, Workflow):
        obj = obj.definition
    try:
        if isinstance(obj, (steps.Chain, steps.states.State)):
            obj = steps.Graph(obj)
        if not isinstance(obj, steps.Graph):
            raise SdkError(f"{type(obj).__name__} is not a Data Science SDK workflow; pass a Workflow, a Graph, a Chain or a state")
        return json.loads(json.dumps(obj.to_dict()))
    except (TypeError, ValueError) as exc:  # the SDK's own checks (duplicate states, placeholders, ...)
        raise SdkError(f"the Data Science SDK rejects the workflow: {exc}") from exc


def export_saga(saga: Saga, *, drop_unsupported: bool = False) -> Any:
    """The saga's compiled ASL as an SDK ``Graph`` (``to_sdk``); its ``${...}`` placeholders stay for SAM to fill."""
    from stepsaga.orchestration import to_asl

    return to_sdk(json.loads(to_asl(saga)), drop_unsupported=drop_unsupported, what=f"saga {saga.name}")


def unsupported(definition: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every ``(where, field)`` of an ASL document that the SDK cannot express, in document order: ``where`` is
    ``"(definition)"``, a state name, or ``"<state>.Retry[0]"``, ``"<state>.Catch[1]"``, ``"<state>.Choices[0]"``."""
    return _Exporter(_steps(), definition).missing


def to_sdk(definition: Mapping[str, Any], *, drop_unsupported: bool = False, what: str = "the definition") -> Any:
    """An ASL document as an SDK ``Graph`` whose rendering (``.to_dict()``) is the document, less what it cannot say.

    Raises ``SdkExportError`` listing every field the SDK cannot express, unless ``drop_unsupported``: then each is
    left out with a ``UserWarning`` naming it. ``SdkError`` for a state type this module does not export (``Map``,
    ``Parallel``) or a document the SDK rejects.
    """
    exporter = _Exporter(_steps(), definition)
    if exporter.missing and not drop_unsupported:
        raise SdkExportError(what, exporter.missing)
    for where, field in exporter.missing:
        warnings.warn(f"{what}: {where}: the Data Science SDK cannot express {field}; dropped", UserWarning, stacklevel=2)
    return exporter.graph()


class _Exporter:
    """One ASL document, checked against the SDK's classes and built from them."""

    def __init__(self, steps: Any, definition: Mapping[str, Any]) -> None:
        self.steps = steps
        self.definition = definition
        self.missing: list[tuple[str, str]] = []
        self._classes = {"Task": steps.Task, "Pass": steps.Pass, "Choice": steps.Choice, "Wait": steps.Wait,
                         "Succeed": steps.Succeed, "Fail": steps.Fail}
        probe = steps.Pass("probe")  # the SDK asks an instance which fields it takes (allowed_fields)
        self._retry_fields = self._allowed(steps.Retry())
        self._catch_fields = self._allowed(steps.Catch(next_step=probe))
        self._fields = {kind: self._allowed(self._instance(kind)) for kind in _EXPORTED_TYPES}
        self._graph_fields = {"Comment", "TimeoutSeconds", "Version"}  # steps.Graph.allowed_fields
        for key in definition:
            if key not in ("StartAt", "States") and key not in self._graph_fields:
                self.missing.append(("(definition)", key))
        for name, state in definition.get("States", {}).items():
            self._check(name, state)

    def _instance(self, kind: str) -> Any:
        return self._classes[kind]("probe", seconds=1) if kind == "Wait" else self._classes[kind]("probe")

    @staticmethod
    def _allowed(block: Any) -> set[str]:
        from stepfunctions.steps.states import to_pascalcase

        return {to_pascalcase(field.value) for field in block.allowed_fields()}

    def _check(self, name: str, state: Mapping[str, Any]) -> None:
        kind = state.get("Type")
        if kind not in _EXPORTED_TYPES:
            raise SdkError(f"state {name}: Type {kind!r} is not exported to the Data Science SDK; stepsaga exports {', '.join(_EXPORTED_TYPES)}")
        allowed = self._fields[kind]
        self.missing += [(name, key) for key in state if key not in _STRUCTURE and key not in allowed]
        for index, retrier in enumerate(state.get("Retry", [])):
            self.missing += [(f"{name}.Retry[{index}]", key) for key in retrier if key not in self._retry_fields]
        for index, catcher in enumerate(state.get("Catch", [])):
            self.missing += [(f"{name}.Catch[{index}]", key) for key in catcher if key != "Next" and key not in self._catch_fields]
        for index, rule in enumerate(state.get("Choices", [])):
            self.missing += [(f"{name}.Choices[{index}]", key) for key in self._rule_problems(rule, top=True)]

    def _rule_problems(self, rule: Mapping[str, Any], top: bool = False) -> list[str]:
        # a rule is a Variable with one comparison the SDK's ChoiceRule knows, or And/Or/Not of rules; Next at the top
        from stepfunctions.steps.choice_rule import ChoiceRule

        keys = [k for k in rule if not (top and k == "Next")]
        combined = [k for k in keys if k in _RULE_COMBINATIONS]
        if combined:
            inner = rule[combined[0]]
            out = [k for k in keys if k != combined[0]]
            for sub in inner if isinstance(inner, list) else [inner]:
                out += self._rule_problems(sub)
            return out
        if "Variable" not in keys:
            return keys or ["Variable"]  # a JSONata Condition, say
        return [k for k in keys if k != "Variable" and not hasattr(ChoiceRule, k)]

    def _rule(self, rule: Mapping[str, Any]) -> Any:
        from stepfunctions.steps.choice_rule import ChoiceRule, CompoundRule, NotRule, Rule

        for combination in _RULE_COMBINATIONS:
            if combination in rule:
                inner = rule[combination]
                if combination == "Not":
                    return NotRule(self._rule(inner))
                return CompoundRule(combination, [self._rule(sub) for sub in inner])
        operator = next(k for k in rule if k not in ("Variable", "Next") and hasattr(ChoiceRule, k))
        return Rule(rule["Variable"], operator, rule[operator])

    def graph(self) -> Any:
        steps, states = self.steps, self.definition["States"]
        built = {}
        for name, state in states.items():
            allowed = self._fields[state["Type"]]
            fields = {snake_case(key): value for key, value in state.items() if key not in _STRUCTURE and key in allowed}
            built[name] = self._classes[state["Type"]](name, **fields)
        for name, state in states.items():
            sdk_state = built[name]
            if state["Type"] == "Choice":
                for rule in state.get("Choices", []):
                    sdk_state.add_choice(self._rule(rule), built[rule["Next"]])
                if "Default" in state:
                    sdk_state.default_choice(built[state["Default"]])
            elif "Next" in state:
                sdk_state.next(built[state["Next"]])
            for retrier in state.get("Retry", []):
                sdk_state.add_retry(steps.Retry(**{snake_case(k): v for k, v in retrier.items() if k in self._retry_fields}))
            for catcher in state.get("Catch", []):
                kept = {snake_case(k): v for k, v in catcher.items() if k != "Next" and k in self._catch_fields}
                sdk_state.add_catch(steps.Catch(next_step=built[catcher["Next"]], **kept))
        top = {snake_case(k): v for k, v in self.definition.items() if k in self._graph_fields}
        try:
            graph = steps.Graph(built[self.definition["StartAt"]], **top)
        except (TypeError, ValueError) as exc:
            raise SdkError(f"the Data Science SDK rejects the definition: {exc}") from exc
        lost = [name for name in states if name not in graph.states]
        if lost:
            raise SdkError(f"states {', '.join(lost)} are not reachable from StartAt {self.definition['StartAt']}; the SDK's Graph keeps only reachable states")
        return graph


def workflows_in(module: Any, attr: str | None = None) -> list[tuple[str, Any]]:
    """The SDK workflows a module defines at top level, ``(name, object)``: each ``Workflow``, ``Graph`` and
    ``Chain``, or the one named ``attr`` (a single state too). ``SdkError`` when ``attr`` names none of them."""
    steps = _steps()
    from stepfunctions.workflow import Workflow

    kinds: tuple[type, ...] = (Workflow, steps.Graph, steps.Chain)
    if attr is not None:
        value = getattr(module, attr, None)
        if not isinstance(value, (*kinds, steps.states.State)):
            raise SdkError(f"{attr} is {type(value).__name__}, not a Data Science SDK Workflow, Graph, Chain or state")
        return [(attr, value)]
    return [(name, value) for name, value in vars(module).items() if isinstance(value, kinds)]
