"""A typed Amazon States Language model, its deterministic renderer and its linter."""

from stepsaga.asl.lint import lint, lint_text
from stepsaga.asl.model import Catcher, ChoiceState, FailState, PassState, Retrier, StateMachine, SucceedState, TaskState
from stepsaga.asl.render import render

__all__ = [
    "Catcher",
    "ChoiceState",
    "FailState",
    "PassState",
    "Retrier",
    "StateMachine",
    "SucceedState",
    "TaskState",
    "lint",
    "lint_text",
    "render",
]
