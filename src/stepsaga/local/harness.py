"""Call one handler with exactly the event the compiled state machine would send it.

After temporalio's ``ActivityEnvironment``: a unit test of one handler, without running the saga.
The event is not written by hand: it is the compiled Task's ``Parameters.Payload`` evaluated
(``stepsaga.asl.evaluate``) against the state document the saga would hold at that state, whose
``results`` are built with each earlier step's own ``ResultSelector`` and ``ResultPath``; for a JSONata
saga, its ``Arguments.Payload`` evaluated (``stepsaga.asl.evaluate_jsonata``) with the variables the saga
would hold, ``$results`` merged by each earlier step's own ``Assign`` and the error assigned by the steps'
Catch. So when the compiler's payload and a handler's model drift apart, a test calling the handler
through this fails.

    env = HandlerEnvironment(saga, cloud)            # cloud: a started EmbeddedCloud, for the tables
    out = env.call("ProcessPayment", order, results={"ValidateOrder": {"order_id": "o-1", ...}})
    env.call("RefundPayment", order, results=..., error={"Error": "OutOfStock", "Cause": "..."})

The handler is loaded and invoked as the local runtime does (``stepsaga.sandbox``): its own code
folder as the import root, its own environment, a Lambda context.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stepsaga import sandbox
from stepsaga.asl.evaluate import evaluate
from stepsaga.errors import EvaluationError
from stepsaga.local.engine import LambdaContext
from stepsaga.local.cloud import ACCOUNT, REGION, EmbeddedCloud, function_name
from stepsaga.model import Saga
from stepsaga.orchestration import dead_letter_state, to_asl

__all__ = ["HandlerEnvironment"]

#: Lambda's maximum timeout: the local runtime's context never gives a handler more (stepsaga.local._moto).
_MAX_FUNCTION_TIMEOUT_S = 900


class HandlerEnvironment:
    """Builds a state's Lambda event from the compiled ASL and calls the state's real handler with it.

    ``cloud``: a started ``EmbeddedCloud`` of the same saga. Its loaded functions are called (their
    tables are the cloud's), and execution ids point at its state machine. Without one, the handlers
    are loaded here with the tables' declared names as their physical names and no AWS behind them:
    enough for ``payload()`` and for handlers that call no AWS service.
    ``asl``: the compiled definition to read (default: ``to_asl(saga)``, what the cloud deploys).
    """

    def __init__(self, saga: Saga, cloud: EmbeddedCloud | None = None, *, asl: str | None = None, root: str | Path | None = None) -> None:
        if cloud is not None and cloud.saga != saga:
            raise ValueError(f"the cloud runs saga {cloud.saga.name}, not {saga.name}")
        self.saga = saga
        self.cloud = cloud
        definition = json.loads(asl if asl is not None else to_asl(saga))
        self.states: dict[str, Any] = definition["States"]
        self._jsonata = definition.get("QueryLanguage") == "JSONata"
        self._request = "Arguments" if self._jsonata else "Parameters"
        self._root = root
        self._functions: dict[str, sandbox.LocalFunction] | None = None

    # --- the event -------------------------------------------------------------------------

    def _task(self, state: str) -> dict[str, Any]:
        handlers = self.saga.handlers()
        if state not in handlers:
            raise KeyError(f"saga {self.saga.name} has no step or compensation {state!r}; it has {sorted(handlers)}")
        task = self.states.get(state)
        request = self._request
        if not isinstance(task, dict) or not isinstance(task.get(request), dict) or "Payload" not in task[request]:
            raise EvaluationError(f"state {state} of the compiled ASL is not a Lambda Task with {request}.Payload")
        return task

    def _error_path(self) -> str:
        """Where a failed step's Catch writes the error that compensations read: one path (JSONata: one
        variable its Assign sets), or loud."""
        paths = {
            ",".join(sorted(catcher.get("Assign", {}))) if self._jsonata else catcher.get("ResultPath")
            for step in self.saga.steps
            for catcher in self.states.get(step.name, {}).get("Catch", ())
            if catcher.get("Next") != dead_letter_state(step.name)
        }
        only = next(iter(paths)) if len(paths) == 1 else None
        if not isinstance(only, str) or not only or "," in only:
            where = "variables" if self._jsonata else "paths"
            raise EvaluationError(f"the compiled ASL's steps catch errors into {where} {sorted(map(str, paths))}, not one")
        return only

    def execution_id(self, name: str) -> str:
        """The execution ARN (``$$.Execution.Id``) of an execution ``name`` of this saga's state machine.

        A STANDARD execution's is ``...:execution:<machine>:<name>``; an EXPRESS one's is
        ``...:express:<machine>:<name>:<id>``, where AWS puts a random id and this a fixed one from the name.
        """
        machine = self.cloud.state_machine_arn if self.cloud is not None and self.cloud.state_machine_arn else (
            f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{self.saga.name}"
        )
        if self.saga.workflow_type == "EXPRESS":
            return machine.replace(":stateMachine:", ":express:", 1) + f":{name}:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"
        return machine.replace(":stateMachine:", ":execution:", 1) + f":{name}"

    def document(self, input: Any, results: Mapping[str, Any] | None = None, error: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The state document at a Task: ``input``, each step's handler output placed as that step's
        ``ResultSelector`` and ``ResultPath`` place it, and ``error`` where the steps' Catch writes it.

        For a JSONata saga, the workflow variables instead: ``input``, each step's output merged by that
        step's ``Assign``, and ``error`` in the variable the steps' Catch assigns.
        """
        for step in results or {}:
            if step not in {s.name for s in self.saga.steps}:
                raise KeyError(f"results: saga {self.saga.name} has no step {step!r}")
        if self._jsonata:
            return self._variables(input, results or {}, error)
        doc: dict[str, Any] = {"input": input, "results": {}}
        for step, output in (results or {}).items():
            task = self.states[step]
            selected = evaluate(task["ResultSelector"], {"Payload": output}, {}) if "ResultSelector" in task else output
            _put(doc, task.get("ResultPath", "$"), selected)
        if error is not None:
            _put(doc, self._error_path(), dict(error))
        return doc

    def _variables(self, input: Any, results: Mapping[str, Any], error: Mapping[str, Any] | None) -> dict[str, Any]:
        from stepsaga.asl.evaluate_jsonata import render

        variables: dict[str, Any] = {"input": input, "results": {}, "compensated": {}}
        for step, output in results.items():
            # the step's own Assign, with this output as its Lambda result's Payload
            variables.update(render(self.states[step].get("Assign", {}), variables, {"result": {"Payload": output}}))
        if error is not None:
            variables[self._error_path()] = dict(error)
        return variables

    def payload(
        self,
        state: str,
        input: Any,
        *,
        results: Mapping[str, Any] | None = None,
        error: Mapping[str, Any] | None = None,
        execution: str = "harness",
        execution_id: str | None = None,
    ) -> Any:
        """The event the compiled ASL sends ``state``'s handler.

        ``results``: step name -> what that step's handler returned (earlier steps only, as in a run);
        ``error``: ``{"Error": ..., "Cause": ...}``, the failure a compensation undoes; ``execution``:
        the execution's name (``$$.Execution.Name``); ``execution_id`` its ARN (``$$.Execution.Id``,
        default ``execution_id(execution)``).
        Raises ``EvaluationError`` when the payload reads a field not given (a compensation without
        ``error``), or uses a construct the evaluator does not know.
        """
        task = self._task(state)
        context = {
            "Execution": {"Id": execution_id or self.execution_id(execution), "Name": execution, "Input": input},
            "State": {"Name": state, "RetryCount": 0},
        }
        try:
            if self._jsonata:
                from stepsaga.asl.evaluate_jsonata import JsonataError, render

                try:
                    return render(task["Arguments"]["Payload"], self.document(input, results, error), {"input": {}, "context": context})
                except JsonataError as exc:
                    raise EvaluationError(str(exc)) from None
            return evaluate(task["Parameters"]["Payload"], self.document(input, results, error), context)
        except EvaluationError as exc:
            compensation = error is None and state not in {s.name for s in self.saga.steps}
            hint = "; a compensation undoes a failure: pass error={'Error': ..., 'Cause': ...}" if compensation else ""
            raise EvaluationError(f"saga {self.saga.name}, state {state}: {self._request}.Payload: {exc}{hint}") from None

    # --- the call --------------------------------------------------------------------------

    def function(self, state: str) -> sandbox.LocalFunction:
        """The state's Lambda function, its handler loaded as the local runtime loads it."""
        if self.cloud is not None:
            return self.cloud.function(state)
        if self._functions is None:
            root = self._root or Path.cwd()
            self._functions = sandbox.functions_for(self.saga, root, lambda s: function_name(self.saga, s), lambda table: table)
            sandbox.load_all(self.saga, self._functions)
        return self._functions[state]

    def context(self, state: str) -> LambdaContext:
        """A Lambda context as the local runtime gives the handler: the Task's timeout, capped at Lambda's."""
        timeout = self._task(state).get("TimeoutSeconds") or _MAX_FUNCTION_TIMEOUT_S
        name = function_name(self.saga, state)
        return LambdaContext(
            function_name=name,
            invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
            aws_request_id=str(uuid.uuid4()),
            timeout_seconds=min(timeout, _MAX_FUNCTION_TIMEOUT_S),
        )

    def call(self, state: str, input: Any, **event: Any) -> Any:
        """Invoke ``state``'s real handler with ``payload(state, input, **event)`` and return what it returns.

        ``event`` takes ``payload``'s keywords (``results``, ``error``, ``execution``, ``execution_id``).
        The handler's own exceptions propagate, as an activity's do from temporalio's ``ActivityEnvironment.run``.
        """
        return self.function(state).invoke(self.payload(state, input, **event), self.context(state))


def _put(doc: dict[str, Any], path: str, value: Any) -> None:
    """Write ``value`` at a ResultPath ``$.a.b`` of ``doc``, creating objects on the way."""
    names = path[2:].split(".") if path.startswith("$.") else None
    if not names or not all(names):
        raise EvaluationError(f"ResultPath {path!r}: the harness writes only $.a.b paths, which the compiler emits")
    *parents, last = names
    for name in parents:
        doc = doc.setdefault(name, {})
    doc[last] = value
