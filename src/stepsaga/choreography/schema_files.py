"""The committed schemas/ folder: ``stepsaga template`` writes it, ``stepsaga check`` compares it.

One folder per saga (``schemas/<saga_in_snake_case>/``) holds one ``<DetailType>.json`` per event of the
saga (``stepsaga.choreography.schemas``), golden files like ``asl/``. They are written for every saga,
whatever its ``mode``: the local runtime runs any saga as a choreography, and an event contract reviewed in
a diff before the saga deploys as one is cheaper than after. A saga's folder is the generator's own, so
``sync_schemas`` also deletes the files in it that no event writes any more.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from stepsaga.errors import TemplateError
from stepsaga.names import SCHEMA_SUFFIX, SCHEMAS_DIR, snake_case
from stepsaga.output_files import write_if_changed

if TYPE_CHECKING:
    from stepsaga.model import Saga


def expected_files(folder: Path, sagas: Sequence[Saga]) -> dict[Path, str]:
    """Every schema file the sagas give, under ``folder``: path -> text, saga by saga in plan order."""
    from stepsaga.choreography.schemas import schema_files

    return {folder / rel: text for saga in sagas for rel, text in schema_files(saga).items()}


def sync_schemas(folder: Path, sagas: Sequence[Saga]) -> list[tuple[Path, str]]:
    """Write each saga's schemas under ``folder``: (path, "wrote" | "unchanged" | "removed") per file.

    Files in a saga's folder that none of its events writes are removed. Raises ``TemplateError`` when
    a file cannot be written or removed.
    """
    expected = expected_files(folder, sagas)
    out: list[tuple[Path, str]] = []
    for path, text in expected.items():
        out.append((path, "wrote" if write_if_changed(path, text) else "unchanged"))
    for saga_folder in sorted({folder / snake_case(s.name) for s in sagas}):
        for stale in sorted(saga_folder.glob("*" + SCHEMA_SUFFIX)):
            if stale not in expected:
                try:
                    stale.unlink()
                except OSError as exc:
                    raise TemplateError(f"{stale}: cannot remove: {exc.strerror}") from None
                out.append((stale, "removed"))
    return out


def check_schemas(folder: Path, sagas: Sequence[Saga], workflows: Path, out: TextIO, err: TextIO) -> int:
    """The number of drifted files: missing, out of date (with a diff on ``out``), or written by no event.

    A folder of ``folder`` that no saga writes to is reported too, as an ASL file no saga compiles to is.
    """
    expected = expected_files(folder, sagas)
    fix = "run: stepsaga template" + ("" if folder == Path(SCHEMAS_DIR) else f" --schemas {folder}")
    failures = 0
    for path, fresh in expected.items():
        committed = path.read_text(encoding="utf-8") if path.is_file() else ""
        if committed == fresh:
            continue
        failures += 1
        print(f"{path} {'is missing' if not committed else 'is out of date'}; {fix}", file=err)
        out.writelines(difflib.unified_diff(
            committed.splitlines(keepends=True), fresh.splitlines(keepends=True),
            fromfile=f"{path} (committed)", tofile=f"{path} (generated from {workflows}/)",
        ))
    owners = {folder / snake_case(s.name): s.name for s in sagas}
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []:
        if sub not in owners:
            print(f"{sub}: no saga in {workflows}/ writes its event schemas here; delete it or restore its saga", file=err)
            failures += 1
            continue
        for path in sorted(sub.glob("*" + SCHEMA_SUFFIX)):
            if path not in expected:
                print(f"{path}: saga {owners[sub]} has no event {path.name[: -len(SCHEMA_SUFFIX)]}; delete it, or {fix}", file=err)
                failures += 1
    return failures
