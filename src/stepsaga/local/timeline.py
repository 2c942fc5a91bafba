"""The printable timeline of a run, rendered with rich: states and attempts on the virtual clock."""

from __future__ import annotations

import io
import json
from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

_KIND_STYLE = {"step": "bold", "compensation": "yellow", "dead_letter": "magenta", "control": "dim", "event": "cyan"}


def _outcome(attempt: Any) -> Text:
    if attempt.outcome == "ok":
        return Text("ok", style="green")
    label = attempt.error or attempt.outcome
    if attempt.injected:
        label += " (injected)" if attempt.injected == "fail" else f" (injected {attempt.injected})"
    return Text(label, style="red")


def _message(cause: str | None) -> str | None:
    """The errorMessage of a Lambda-shaped cause, or the cause itself."""
    if not cause:
        return None
    try:
        parsed = json.loads(cause)
    except ValueError:
        return cause
    return parsed.get("errorMessage", cause) if isinstance(parsed, dict) else cause


def render(result: Any) -> Group:
    """Header line plus one row per state or attempt."""
    style = "green" if result.succeeded else "red"
    head = Text.assemble(
        (result.saga, "bold"), "  ", (result.execution, "dim"), "  ", (result.status, f"bold {style}"),
    )
    if result.error:
        head.append(f"  {result.error}", style="red")
    head.append(f"   virtual {result.virtual_seconds:.1f}s, wall {result.wall_seconds * 1000:.0f} ms", style="dim")
    table = Table(box=None, show_header=True, header_style="dim", pad_edge=False, expand=False)
    for column in ("t+", "state", "kind", "attempt", "outcome"):
        table.add_column(column, no_wrap=column != "outcome")
    for s in result.states:
        name = Text(s.name, style=_KIND_STYLE.get(s.kind, ""))
        kind = s.kind.replace("_", " ")
        if not s.attempts:
            if s.note is not None:
                note = Text(s.note, style="dim")
            else:
                note = Text(result.error or "", style="red") if s.type == "Fail" else Text("")
            table.add_row(f"{s.at:.1f}s", name, kind, "", note)
            continue
        for a in s.attempts:
            when = f"{a.number}" + (f" after {a.waited:.1f}s" if a.number > 1 else "")
            table.add_row(f"{a.at:.1f}s", name if a.number == 1 else Text(""), kind if a.number == 1 else "", when, _outcome(a))
    parts: list[Any] = [head]
    message = _message(result.cause)
    if message:
        parts.append(Text(f"cause: {message}", style="red"))
    parts.append(table)
    summary = compensation_line(result)
    if summary:
        parts.append(Text(summary, style="red" if result.compensations_failed or result.compensations_pending else "yellow"))
    for record in result.dlq:
        parts.append(Text(_dlq_line(record), style="magenta"))
    for message in getattr(result, "undelivered", ()):
        parts.append(Text(_undelivered_line(message), style="bold magenta"))
    for violation in result.contract_violations:
        parts.append(Text(f"contract violation: {violation.message()}", style="bold red"))
    return Group(*parts)


def compensation_line(result: Any) -> str | None:
    """``compensations: done A, B; failed C; pending D`` when the run compensated anything, else None."""
    done, failed, pending = result.compensations, result.compensations_failed, result.compensations_pending
    if not (done or failed or pending):
        return None
    return "compensations: " + "; ".join(
        f"{label} {', '.join(names) or 'none'}" for label, names in (("done", done), ("failed", failed), ("pending", pending))
    )


def to_text(result: Any, width: int = 110) -> str:
    """The timeline as plain text, without colour."""
    console = Console(file=io.StringIO(), width=width, color_system=None, force_terminal=False)
    console.print(render(result))
    return console.file.getvalue()  # type: ignore[attr-defined]


def _dlq_line(record: dict[str, Any]) -> str:
    """One line per repair record: who failed, with which errors, and what is left to do."""
    error = (record.get("error") or {}).get("Error")
    if record.get("kind") == "CompensationFailed":
        comp_error = (record.get("compensation_error") or {}).get("Error")
        # the record's list starts with the failed compensation itself: everything an operator must still undo
        pending = ", ".join(record.get("compensations_pending") or [])
        return f"dead-letter queue: {record['failed_compensation']} failed with {comp_error} (original error {error}); left to undo: {pending}"
    return f"dead-letter queue: {record.get('step')} failed with {error}; the saga was kept"


def _undelivered_line(message: dict[str, Any]) -> str:
    """One line per message the event dead-letter queue holds: which event, and why it was not delivered."""
    try:
        event = json.loads(message.get("body") or "{}")
    except ValueError:
        event = {}
    attributes = message.get("attributes") or {}
    why = attributes.get("ERROR_CODE") or "the consumer could not process it"
    rule = (attributes.get("RULE_ARN") or "").rsplit("/", 1)[-1]
    return f"event dead-letter queue: {event.get('detail-type', '?')} not delivered" + (f" by rule {rule}" if rule else "") + f" ({why}); redrive it to go on"
