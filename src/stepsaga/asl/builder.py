"""A faithful, low-level builder of any ASL definition: one class per state type, every field of both query languages.

Where a ``Saga`` says what a saga does and the compiler writes its states, this module writes the states you
give it, field for field. Each class takes ASL's own field names in snake_case as keyword arguments
(``result_path="$.x"`` is ``"ResultPath": "$.x"``, ``timeout_seconds_path`` is ``TimeoutSecondsPath``) and
renders them in a fixed order (``stepsaga.asl.fields``); a field left out is absent from the JSON, and ``None``
is JSON ``null`` (``result_path=None`` discards the result, as ``"ResultPath": null`` does). Payload templates,
Choice rules, ``Assign`` and the Map's reader, batcher and writer configuration are ASL dicts, written as in
the ASL; retriers, catchers, branches and item processors may be the classes here or ASL dicts.

``stepsaga compile`` takes a module that defines a ``StateMachine`` as it takes one that defines a ``Saga``,
and lints it first: https://states-language.net/spec.html,
https://docs.aws.amazon.com/step-functions/latest/dg/concepts-amazon-states-language.html.
Standard library only: the compile path imports it.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

from stepsaga.asl.fields import KEYWORD, OBJECT_FIELDS, STATE_FIELDS

__all__ = [
    "UNSET", "Branch", "Catcher", "Choice", "Fail", "ItemProcessor", "Map", "Parallel", "Pass", "Retrier",
    "StateMachine", "Succeed", "Task", "Wait",
]


class _Unset:
    """The default of every field: left out of the JSON (``None`` is JSON null)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNSET"


#: A field not given: absent from the rendered JSON.
UNSET: Any = _Unset()


class _Node:
    """An ASL object: its fields by ASL name, rendered in the order of its table in ``stepsaga.asl.fields``."""

    __slots__ = ("_values",)
    _table: tuple[tuple[str, str], ...] = ()
    _type: str | None = None  # the ASL Type of a state

    def __init_subclass__(cls, kind: str = "", **kwargs: Any) -> None:
        """Bind the class to its field table, and check its keyword arguments are exactly the table's fields.

        Raises TypeError at class creation when they drift apart, naming the class and the field.
        """
        super().__init_subclass__(**kwargs)
        if not kind:
            return
        cls._table = STATE_FIELDS.get(kind) or OBJECT_FIELDS[kind]
        code = cls.__init__.__code__
        params = set(code.co_varnames[1:code.co_argcount + code.co_kwonlyargcount]) - {"name"}
        wanted = {KEYWORD[field] for field, _ in cls._table}
        if params != wanted:
            raise TypeError(f"{cls.__name__}.__init__ takes {sorted(params ^ wanted)} unlike the {kind} fields of stepsaga.asl.fields")

    def _set(self, given: dict[str, Any]) -> None:
        values = {field: given[KEYWORD[field]] for field, _ in self._table if given[KEYWORD[field]] is not UNSET}
        object.__setattr__(self, "_values", values)

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; build a new one")

    @property
    def fields(self) -> dict[str, Any]:
        """The fields given, by ASL name, in render order (nested objects as given, not rendered)."""
        return dict(self._values)

    def to_json(self) -> dict[str, Any]:
        """This object as ASL JSON: ``Type`` first for a state, then its fields in the table's order."""
        out: dict[str, Any] = {"Type": self._type} if self._type else {}
        for field, value in self._values.items():
            out[field] = _json(value)
        return out

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._values == self._values  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # the fields hold dicts

    def __repr__(self) -> str:
        args = ", ".join(f"{KEYWORD[k]}={v!r}" for k, v in self._values.items())
        return f"{type(self).__name__}({args})"


def _json(value: Any) -> Any:
    """A field's value as JSON: nodes rendered, tuples as lists, the rest as given."""
    if isinstance(value, _Node):
        return value.to_json()
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}  # JSON keys are strings, as the renderer writes them
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    return value


# --- error handling ---------------------------------------------------------------------------------


class Retrier(_Node, kind="Retrier"):
    """A ``Retry`` entry: ``max_attempts`` counts retries (ASL's default 3; 0 means none).

    https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html#error-handling-retrying-after-an-error
    """

    __slots__ = ()

    def __init__(self, *, error_equals: Sequence[str] = UNSET, comment: str = UNSET, interval_seconds: int = UNSET,
                 max_attempts: int = UNSET, backoff_rate: float = UNSET, max_delay_seconds: int = UNSET,
                 jitter_strategy: str = UNSET) -> None:
        self._set(locals())


class Catcher(_Node, kind="Catcher"):
    """A ``Catch`` entry: the errors, where they go (``next``), and (JSONPath) ``result_path`` or (JSONata) ``output``.

    https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html#error-handling-fallback-states
    """

    __slots__ = ()

    def __init__(self, *, error_equals: Sequence[str] = UNSET, comment: str = UNSET, result_path: str | None = UNSET,
                 output: Any = UNSET, assign: Mapping[str, Any] = UNSET, next: str = UNSET) -> None:
        self._set(locals())


# --- states -----------------------------------------------------------------------------------------


class Task(_Node, kind="Task"):
    """A Task state: one unit of work, a service integration (``resource``) such as ``arn:aws:states:::lambda:invoke``,
    with ``.sync`` or ``.waitForTaskToken`` for the other integration patterns. https://docs.aws.amazon.com/step-functions/latest/dg/state-task.html
    """

    __slots__ = ()
    _type = "Task"

    def __init__(self, *, comment: str = UNSET, query_language: str = UNSET, resource: str = UNSET,
                 credentials: Mapping[str, Any] = UNSET, input_path: str | None = UNSET,
                 parameters: Mapping[str, Any] = UNSET, arguments: Any = UNSET,
                 result_selector: Mapping[str, Any] = UNSET, result_path: str | None = UNSET,
                 output_path: str | None = UNSET, output: Any = UNSET, assign: Mapping[str, Any] = UNSET,
                 timeout_seconds: int | str = UNSET, timeout_seconds_path: str = UNSET,
                 heartbeat_seconds: int | str = UNSET, heartbeat_seconds_path: str = UNSET,
                 retry: Sequence[Retrier | dict] = UNSET, catch: Sequence[Catcher | dict] = UNSET,
                 next: str = UNSET, end: bool = UNSET) -> None:
        self._set(locals())


class Pass(_Node, kind="Pass"):
    """A Pass state: passes its input on, shaped (``parameters``, ``result``; JSONata ``output``), without work.
    https://docs.aws.amazon.com/step-functions/latest/dg/state-pass.html
    """

    __slots__ = ()
    _type = "Pass"

    def __init__(self, *, comment: str = UNSET, query_language: str = UNSET, input_path: str | None = UNSET,
                 parameters: Mapping[str, Any] = UNSET, result: Any = UNSET, result_path: str | None = UNSET,
                 output_path: str | None = UNSET, output: Any = UNSET, assign: Mapping[str, Any] = UNSET,
                 next: str = UNSET, end: bool = UNSET) -> None:
        self._set(locals())


class Choice(_Node, kind="Choice"):
    """A Choice state: ``choices`` is the list of ASL rules in order (each a dict with its ``Next``), then ``default``.
    https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html
    """

    __slots__ = ()
    _type = "Choice"

    def __init__(self, *, comment: str = UNSET, query_language: str = UNSET, input_path: str | None = UNSET,
                 choices: Sequence[Mapping[str, Any]] = UNSET, default: str = UNSET,
                 output_path: str | None = UNSET, output: Any = UNSET, assign: Mapping[str, Any] = UNSET) -> None:
        self._set(locals())


class Wait(_Node, kind="Wait"):
    """A Wait state: exactly one of ``seconds``, ``seconds_path``, ``timestamp`` (RFC 3339) or ``timestamp_path``.
    https://docs.aws.amazon.com/step-functions/latest/dg/state-wait.html
    """

    __slots__ = ()
    _type = "Wait"

    def __init__(self, *, comment: str = UNSET, query_language: str = UNSET, input_path: str | None = UNSET,
                 seconds: int | str = UNSET, seconds_path: str = UNSET, timestamp: str = UNSET,
                 timestamp_path: str = UNSET, output_path: str | None = UNSET, output: Any = UNSET,
                 assign: Mapping[str, Any] = UNSET, next: str = UNSET, end: bool = UNSET) -> None:
        self._set(locals())


class Succeed(_Node, kind="Succeed"):
    """A Succeed state: ends the execution (or its branch or iteration) successfully.
    https://docs.aws.amazon.com/step-functions/latest/dg/state-succeed.html
    """

    __slots__ = ()
    _type = "Succeed"

    def __init__(self, *, comment: str = UNSET, query_language: str = UNSET, input_path: str | None = UNSET,
                 output_path: str | None = UNSET, output: Any = UNSET) -> None:
        self._set(locals())


class Fail(_Node, kind="Fail"):
    """A Fail state: ends the execution with an error and a cause, fixed or (JSONPath) read by ``error_path``/``cause_path``.
    https://docs.aws.amazon.com/step-functions/latest/dg/state-fail.html
    """

    __slots__ = ()
    _type = "Fail"

    def __init__(self, *, comment: str = UNSET, query_language: str = UNSET, error: str = UNSET,
                 error_path: str = UNSET, cause: str = UNSET, cause_path: str = UNSET) -> None:
        self._set(locals())


class Branch(_Node, kind="Branch"):
    """One branch of a Parallel state: its own ``start_at`` and ``states`` (name -> state)."""

    __slots__ = ()

    def __init__(self, *, comment: str = UNSET, start_at: str = UNSET, states: Mapping[str, Any] = UNSET) -> None:
        self._set(locals())


class Parallel(_Node, kind="Parallel"):
    """A Parallel state: runs every ``Branch`` of ``branches`` on the same input; its result is their outputs, in order.
    https://docs.aws.amazon.com/step-functions/latest/dg/state-parallel.html
    """

    __slots__ = ()
    _type = "Parallel"

    def __init__(self, *, comment: str = UNSET, query_language: str = UNSET, input_path: str | None = UNSET,
                 parameters: Mapping[str, Any] = UNSET, arguments: Any = UNSET,
                 branches: Sequence[Branch | dict] = UNSET, result_selector: Mapping[str, Any] = UNSET,
                 result_path: str | None = UNSET, output_path: str | None = UNSET, output: Any = UNSET,
                 assign: Mapping[str, Any] = UNSET, retry: Sequence[Retrier | dict] = UNSET,
                 catch: Sequence[Catcher | dict] = UNSET, next: str = UNSET, end: bool = UNSET) -> None:
        self._set(locals())


class ItemProcessor(_Node, kind="ItemProcessor"):
    """What a Map state runs for each item: ``processor_config`` (``{"Mode": "INLINE"}``, or ``"DISTRIBUTED"`` with an
    ``ExecutionType``), ``start_at`` and ``states``. Also the legacy ``Iterator`` (without ``processor_config``).
    https://docs.aws.amazon.com/step-functions/latest/dg/state-map.html
    """

    __slots__ = ()

    def __init__(self, *, comment: str = UNSET, processor_config: Mapping[str, Any] = UNSET, start_at: str = UNSET,
                 states: Mapping[str, Any] = UNSET) -> None:
        self._set(locals())


class Map(_Node, kind="Map"):
    """A Map state, inline or distributed: the items (``items_path``; JSONata ``items``; or a distributed
    ``item_reader``), each shaped by ``item_selector``, batched by ``item_batcher``, run by ``item_processor``,
    results written by ``result_writer``. https://docs.aws.amazon.com/step-functions/latest/dg/state-map.html
    """

    __slots__ = ()
    _type = "Map"

    def __init__(self, *, comment: str = UNSET, query_language: str = UNSET, input_path: str | None = UNSET,
                 items_path: str = UNSET, items: Any = UNSET, item_reader: Mapping[str, Any] = UNSET,
                 item_selector: Mapping[str, Any] = UNSET, parameters: Mapping[str, Any] = UNSET,
                 item_batcher: Mapping[str, Any] = UNSET, item_processor: ItemProcessor | dict = UNSET,
                 iterator: ItemProcessor | dict = UNSET, max_concurrency: int | str = UNSET,
                 max_concurrency_path: str = UNSET, tolerated_failure_percentage: float | str = UNSET,
                 tolerated_failure_percentage_path: str = UNSET, tolerated_failure_count: int | str = UNSET,
                 tolerated_failure_count_path: str = UNSET, label: str = UNSET,
                 result_writer: Mapping[str, Any] = UNSET, result_selector: Mapping[str, Any] = UNSET,
                 result_path: str | None = UNSET, output_path: str | None = UNSET, output: Any = UNSET,
                 assign: Mapping[str, Any] = UNSET, retry: Sequence[Retrier | dict] = UNSET,
                 catch: Sequence[Catcher | dict] = UNSET, next: str = UNSET, end: bool = UNSET) -> None:
        self._set(locals())


# --- the definition ---------------------------------------------------------------------------------


class StateMachine(_Node, kind="StateMachine"):
    """A whole definition. ``name`` is not ASL: it names the file ``stepsaga compile -o DIR/`` writes
    (``PaymentFlow`` -> ``payment_flow.asl.json``); without it, the module's variable name does.
    """

    __slots__ = ("name",)
    name: str | None

    def __init__(self, *, name: str | None = None, comment: str = UNSET, query_language: str = UNSET,
                 version: str = UNSET, start_at: str = UNSET, timeout_seconds: int = UNSET,
                 states: Mapping[str, Any] = UNSET) -> None:
        object.__setattr__(self, "name", name)
        self._set(locals())

    def __eq__(self, other: object) -> bool:
        return super().__eq__(other) and other.name == self.name  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        text = super().__repr__()
        return text if self.name is None else text.replace("StateMachine(", f"StateMachine(name={self.name!r}, ", 1)

    def to_asl(self) -> str:
        """Lint the definition and render its exact JSON text (``stepsaga.asl.render``).

        Raises ``LintError`` listing every problem, each with its state's path, the field and what to write.
        """
        from stepsaga.asl.lint import lint
        from stepsaga.asl.render import render
        from stepsaga.errors import LintError

        doc = self.to_json()
        problems = lint(doc)
        if problems:
            raise LintError(problems)
        return render(doc)
