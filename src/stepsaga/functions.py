"""Each Lambda of a saga as SAM deploys it: its code folder, its Handler, its environment variables.

The template (``stepsaga.sam.resources``) and the local runtime (``stepsaga.sandbox``) both read these, so the
function that runs locally is the one that deploys. Standard library only: on the compile path.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeVar

    from stepsaga.model import Saga

    V = TypeVar("V")

from stepsaga._record import Record

#: The memory of every Lambda function the template deploys, in MB (``stepsaga cost`` prices its duration).
LAMBDA_MEMORY_MB = 256


class LambdaHandler(Record):
    """A dotted action split the way SAM deploys it.

    ``tasks.process_payment.handler`` is the code folder ``tasks/`` (the function's ``CodeUri``) and
    the Lambda ``Handler`` ``process_payment.handler``: the module ``process_payment``, imported by its
    top-level name with the code folder as the import root, and its attribute ``handler``.
    https://docs.aws.amazon.com/lambda/latest/dg/python-handler.html
    """

    __slots__ = ("action", "code_dir", "module", "function")
    action: str
    code_dir: str  # the top-level folder of the project: the CodeUri
    module: str  # dotted module path inside the code folder; "" when the action names none
    function: str

    def __init__(self, action: str) -> None:
        code_dir, _, handler = action.partition(".")
        module, _, function = handler.rpartition(".")
        self._init(action=action, code_dir=code_dir, module=module, function=function)

    @property
    def handler(self) -> str:
        """The Lambda ``Handler`` setting: ``module.function`` relative to the code folder."""
        return f"{self.module}.{self.function}" if self.module else self.function


def declared_tables(saga: Saga, state: str) -> tuple[str, ...]:
    """The logical tables a step or compensation (by state name) declares it uses."""
    for step in saga.steps:
        if step.name == state:
            return tuple(step.tables)
        if step.compensation is not None and step.compensation.name == state:
            return tuple(step.compensation.tables)
    raise KeyError(state)


def variables(saga: Saga, state: str, physical: Callable[[str], V]) -> dict[str, V | str]:
    """A function's own environment variables: one per declared table, and the service name.

    ``physical`` maps a logical table name to what the variable holds: a CloudFormation ``Ref`` in
    the template, the embedded cloud's table name locally. Tables the function does not declare are
    not in its environment, on AWS or locally.
    """
    out: dict[str, V | str] = {saga.table(t).env_var: physical(t) for t in declared_tables(saga, state)}
    out["POWERTOOLS_SERVICE_NAME"] = saga.name
    return out


def where_declared(saga: Saga, state: str) -> tuple[str, str]:
    """(the step, the field) where a state's handler path is written: for messages naming the source."""
    for step in saga.steps:
        if step.name == state:
            return step.name, "action"
        if step.compensation is not None and step.compensation.name == state:
            return step.name, "compensation.action"
    raise KeyError(state)
