"""``stepsaga check``: committed outputs must equal a fresh compile, and must lint clean."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TextIO

from stepsaga.asl.lint import lint_text
from stepsaga.errors import DefinitionError, LintError, LoadError
from stepsaga.loader import import_target, sagas_in, snake_case, workflow_files
from stepsaga.orchestration import to_asl


def check(workflows: Path, asl: Path, out: TextIO, err: TextIO) -> int:
    """Compare every compiled saga with its committed ASL; 0 when all match, 1 on drift."""
    if not workflows.is_dir():
        print(f"{workflows}: no such folder", file=err)
        return 2
    failures = 0
    expected: set[str] = set()
    for path in workflow_files(workflows):
        try:
            sagas = sagas_in(import_target(str(path)), where=str(path))
        except (DefinitionError, LoadError) as exc:
            for line in str(exc).splitlines():
                print(f"{path}: {line}", file=err)
            failures += 1
            continue
        for saga in sagas:
            dest = asl / f"{snake_case(saga.name)}.asl.json"
            expected.add(dest.name)
            try:
                fresh = to_asl(saga)
            except LintError as exc:
                print(f"{path}: saga {saga.name}: {exc}", file=err)
                failures += 1
                continue
            committed = dest.read_text(encoding="utf-8") if dest.is_file() else ""
            if committed != fresh:
                failures += 1
                why = "is missing" if not committed else "is out of date"
                print(f"{dest} {why}; run: stepsaga compile {path}:{_attr(path, saga)} -o {asl}/", file=err)
                out.writelines(difflib.unified_diff(
                    committed.splitlines(keepends=True), fresh.splitlines(keepends=True),
                    fromfile=f"{dest} (committed)", tofile=f"{dest} (compiled from {path})",
                ))
    for dest in sorted(asl.glob("*.asl.json")) if asl.is_dir() else []:
        for problem in lint_text(dest.read_text(encoding="utf-8")):
            print(f"{dest}: {problem}", file=err)
            failures += 1
        if dest.name not in expected:
            print(f"{dest}: no saga in {workflows}/ compiles to this file; delete it or restore its saga", file=err)
            failures += 1
    if failures:
        return 1
    print(f"ok: {len(expected)} saga(s) in {workflows}/ match {asl}/", file=out)
    return 0


def _attr(path: Path, saga: object) -> str:
    module = import_target(str(path))
    for name, value in vars(module).items():
        if value is saga:
            return name
    return "saga"
