"""``stepsaga import``: an existing ASL definition as Python that ``stepsaga compile`` turns back into it.

ASL that stepsaga compiled from a saga becomes that ``Saga`` again (``saga_reader``, written by
``saga_source``); any other definition becomes the low-level builder (``stepsaga.asl.builder``, written by
``builder_source``), with a header comment saying why it is not the Saga DSL (``hand_written`` recognises
a saga written by hand). Before anything is returned, the Python is run and compiled, and its ASL must be
semantically equal to the original (``stepsaga.asl.equal``); anything else is a bug of stepsaga's.
Standard library only; no boto3, no moto.
"""

from __future__ import annotations

import json
import os
import re
import textwrap

from stepsaga._record import Record
from stepsaga.asl.equal import differences
from stepsaga.asl.lint import lint_text
from stepsaga.errors import LintError

__all__ = ["Imported", "import_asl", "default_name"]

#: The width of the generated header comment, ``# `` included.
_HEADER_WIDTH = 110


class Imported(Record):
    """What ``import_asl`` wrote: ``kind`` is ``"saga"`` (the Saga DSL) or ``"builder"``; ``source`` the module's
    text; ``name`` the saga's or state machine's name; ``why`` one line on the choice, for the CLI to print."""

    __slots__ = ("kind", "source", "name", "why")
    kind: str
    source: str
    name: str
    why: str

    def __init__(self, kind: str, source: str, name: str, why: str) -> None:
        self._init(kind=kind, source=source, name=name, why=why)


def default_name(origin: str) -> str:
    """The name an imported definition takes from its file: ``asl/order_saga.asl.json`` -> ``OrderSaga``."""
    stem = os.path.basename(origin)
    for suffix in (".asl.json", ".json", ".asl"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    words = re.split(r"[^A-Za-z0-9]+", stem)
    name = "".join(w[:1].upper() + w[1:] for w in words if w)
    return name if name[:1].isalpha() else "Imported" + name


def import_asl(text: str, origin: str, name: str | None = None, builder: bool = False) -> Imported:
    """The Python module for an ASL definition given as JSON ``text`` (read from ``origin``, named in the header).

    ``name`` names a saga the ASL does not name, and the builder's state machine (default: from ``origin``);
    ``builder=True`` writes the builder even for stepsaga's compiled ASL. Raises ``LintError`` when the
    definition breaks the linter's rules (invalid JSON included): each problem names state, field and fix.
    """
    problems = lint_text(text)
    if problems:
        raise LintError(problems)
    doc = json.loads(text)
    name = name or default_name(origin)
    why_not_saga = "--builder was given"
    if not builder:
        from stepsaga.importer.saga_reader import NotASaga, read_saga

        try:
            reading = read_saga(doc, text, name)
        except NotASaga as exc:
            why_not_saga = str(exc)
        else:
            from stepsaga.importer.saga_source import saga_source

            source = saga_source(reading.saga, _saga_header(origin, reading))
            _verify(source, doc, origin)
            return Imported("saga", source, reading.saga.name, f"saga {reading.saga.name}, as the Saga DSL")
    from stepsaga.importer.builder_source import builder_source
    from stepsaga.importer.hand_written import explain, saga_shape

    header = [
        f"Imported from {origin} by `stepsaga import`, as stepsaga's low-level ASL builder (stepsaga.asl.builder).",
        f"`stepsaga compile` of this file writes ASL semantically equal to {origin} (README, \"Bring your existing ASL\").",
        "",
    ]
    shape = None if builder else saga_shape(doc)
    if builder:
        header.append("Written as the builder because --builder was given.")
        why = "the low-level builder, as --builder asks"
    elif shape is not None:
        header += explain(doc, shape, name)
        why = f"the low-level builder: a hand-written saga ({shape.describe()}) the Saga DSL would compile differently"
    elif doc.get("StartAt") == "BeginSaga":
        header.append(f"It starts as stepsaga's compiled sagas do, but no Saga compiles to it: {why_not_saga}.")
        why = f"the low-level builder: no Saga compiles to it ({why_not_saga})"
    else:
        header.append("Not a saga: no Lambda Task on its path catches into a chain of compensations ending in a Fail state.")
        why = "the low-level builder: not a saga"
    source = builder_source(doc, name, _wrap(header))
    _verify(source, doc, origin)
    return Imported("builder", source, name, why)


def _saga_header(origin: str, reading: object) -> list[str]:
    saga = reading.saga  # type: ignore[attr-defined]
    lines = [
        f"Imported from {origin} by `stepsaga import`: stepsaga's compiled ASL of saga {saga.name}, read back as a Saga.",
        f"`stepsaga compile` of this file writes ASL {'byte-identical' if reading.identical else 'semantically equal'} to {origin}.",  # type: ignore[attr-defined]
        "ASL does not hold the saga's tables, triggers, mode and events, nor each step's tables: declare them here "
        "(README, \"Define a saga\").",
    ]
    guessed = reading.guessed  # type: ignore[attr-defined]
    if guessed:
        lines.append(f"The ASL names no handler for {', '.join(guessed)} (their Comments are their own), so each of their "
                     "action= is named after its state: write the real one.")
    return _wrap(lines)


def _wrap(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if not line:
            out.append("")
            continue
        indent = "    " if line.startswith("  - ") else ""
        out += textwrap.wrap(line, _HEADER_WIDTH - 2, subsequent_indent=indent, break_on_hyphens=False, break_long_words=False)
    return out


def _verify(source: str, doc: dict, origin: str) -> None:
    """Run the generated module and compile what it defines: its ASL must be semantically equal to ``doc``."""
    from stepsaga.asl.builder import StateMachine
    from stepsaga.model import Saga
    from stepsaga.orchestration import to_asl

    namespace: dict = {"__name__": "stepsaga_import_check"}
    exec(compile(source, f"<stepsaga import {origin}>", "exec"), namespace)  # noqa: S102 - our own generated code
    made = [v for v in namespace.values() if isinstance(v, (Saga, StateMachine))]
    compiled = json.loads(to_asl(made[0]) if isinstance(made[0], Saga) else made[0].to_asl())
    found = differences(doc, compiled, limit=5)
    if found:
        raise RuntimeError(f"stepsaga import wrote Python for {origin} that compiles to other ASL: " + "; ".join(found))
