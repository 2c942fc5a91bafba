"""``stepsaga check``: committed outputs must equal a fresh compile, and must lint clean.

The committed outputs are the ASL in ``asl/`` and, when it exists, ``template.yaml``: it must be what
``stepsaga template`` would write, each state machine's DefinitionSubstitutions must name exactly
the placeholders its ASL file uses, and every event pattern in it, generated or the user's own, must be
one PutRule takes (``stepsaga.sam.pattern_problems``). When ``schemas/`` exists, it must hold exactly the
JSON Schema of every event of every saga (``stepsaga.choreography.schema_files``).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TextIO

from stepsaga.asl.lint import lint_text
from stepsaga.choreography.plan import event_names
from stepsaga.errors import DefinitionError, LintError, LoadError, Problem
from stepsaga.loader import blame, import_target, sagas_in, workflow_files
from stepsaga.model import Saga
from stepsaga.names import ASL_SUFFIX, SCHEMAS_DIR, asl_file_name
from stepsaga.orchestration import to_asl

DEFAULT_TEMPLATE = Path("template.yaml")
DEFAULT_SCHEMAS = Path(SCHEMAS_DIR)


def check(workflows: Path, asl: Path, out: TextIO, err: TextIO, template: Path | None = DEFAULT_TEMPLATE, root: Path | None = None,
          schemas: Path | None = DEFAULT_SCHEMAS) -> int:
    """Compare every compiled saga with its committed ASL, template and event schemas; 0 when all match, 1 on drift.

    Every handler is also imported the way Lambda imports it, from its code folder under ``root``
    (default: the current folder, as for ``stepsaga run`` and ``stepsaga template``); each one that
    fails is reported with its saga, step and field.
    """
    if not workflows.is_dir():
        print(f"{workflows}: no such folder", file=err)
        return 2
    failures = 0
    expected: set[str] = set()
    all_sagas: list[Saga] = []
    loaded = True
    for path in workflow_files(workflows):
        try:
            sagas = sagas_in(import_target(str(path)), where=str(path))
        except (DefinitionError, LoadError) as exc:
            for line in str(exc).splitlines():
                print(f"{path}: {line}", file=err)
            failures += 1
            loaded = False
            continue
        except Exception as exc:  # the workflow module itself crashed: report it, check the others
            at, users = blame(exc)
            if not users:
                raise
            print(f"{path}: {at}: {type(exc).__name__}: {exc}", file=err)
            failures += 1
            loaded = False
            continue
        all_sagas.extend(sagas)
        for saga in sagas:
            for problem in handler_problems(saga, root or Path.cwd()):
                print(f"{path}: {problem}", file=err)
                failures += 1
            dest = asl / asl_file_name(saga.name)
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
    for dest in sorted(asl.glob("*" + ASL_SUFFIX)) if asl.is_dir() else []:
        for problem in lint_text(dest.read_text(encoding="utf-8")):
            print(f"{dest}: {problem}", file=err)
            failures += 1
        if dest.name not in expected:
            print(f"{dest}: no saga in {workflows}/ compiles to this file; delete it or restore its saga", file=err)
            failures += 1
    checked_template = False
    if template is not None and template.is_file():
        checked_template = True
        failures += _check_template(template, asl, all_sagas if loaded else None, workflows, out, err)
    checked_schemas = False
    if schemas is not None and schemas.is_dir():
        checked_schemas = True
        if loaded:
            failures += _check_schemas(schemas, all_sagas, workflows, out, err)
        else:
            print(f"{schemas}/: not compared with {workflows}/, whose sagas did not all load", file=err)
    if failures:
        return 1
    also = f" and {template}" if checked_template else ""
    handlers = len({a for s in all_sagas for a in s.handlers().values()})
    events = f"; their {sum(len(event_names(s)) for s in all_sagas)} event schema(s) match {schemas}/" if checked_schemas else ""
    print(f"ok: {len(expected)} saga(s) in {workflows}/ match {asl}/{also}; their {handlers} handler(s) import as on Lambda{events}", file=out)
    return 0


def handler_problems(saga: Saga, root: Path) -> list[Problem]:
    """Every handler path of the saga that does not import as Lambda imports it (see stepsaga.sandbox)."""
    from stepsaga import sandbox

    functions = sandbox.functions_for(saga, root, lambda state: f"{saga.name}-{state}", lambda table: f"{saga.name}-{table}")
    try:
        sandbox.load_all(saga, functions)
    except sandbox.HandlerPathError as exc:
        return list(exc.problems)
    return []


def _check_template(template: Path, asl: Path, sagas: list[Saga] | None, workflows: Path, out: TextIO, err: TextIO) -> int:
    """Failures of template.yaml: invalid event patterns, and (unless ``sagas`` is None, when some did not
    load) out of date with the sagas, or substitutions that disagree with the ASL."""
    try:
        from stepsaga.sam import Layout, TemplateError, layer_problems, pattern_problems, render, substitution_problems
    except ModuleNotFoundError as exc:
        print(f"{template}: cannot check it without {exc.name}; pip install 'stepsaga[deploy]'", file=err)
        return 1
    committed = template.read_text(encoding="utf-8")
    try:
        # The patterns are checked whatever the sagas: most are the user's own rules.
        problems = pattern_problems(committed, where=str(template))
        if sagas is None:
            print(f"{template}: not compared with {workflows}/, whose sagas did not all load", file=err)
            for problem in problems:
                print(problem, file=err)
            return len(problems)
        layout = Layout(template, asl)
        fresh = render(committed, layout.generate(sagas), prune=True, where=str(template))
        problems += substitution_problems(committed, template.parent, where=str(template))
        problems += layer_problems(layout, sagas)
    except TemplateError as exc:
        print(str(exc), file=err)
        return 1
    failures = 0
    if fresh != committed:
        failures += 1
        print(f"{template} is out of date with {workflows}/; run: stepsaga template -t {template}", file=err)
        out.writelines(difflib.unified_diff(
            committed.splitlines(keepends=True), fresh.splitlines(keepends=True),
            fromfile=f"{template} (committed)", tofile=f"{template} (generated from {workflows}/)",
        ))
    for problem in problems:
        print(problem, file=err)
        failures += 1
    return failures


def _check_schemas(schemas: Path, sagas: list[Saga], workflows: Path, out: TextIO, err: TextIO) -> int:
    """Failures of schemas/: a missing, stale or extra event schema (the models need pydantic)."""
    try:
        from stepsaga.choreography.schema_files import check_schemas
    except ModuleNotFoundError as exc:
        print(f"{schemas}/: cannot check the event schemas without {exc.name}; pip install 'stepsaga[handlers]'", file=err)
        return 1
    return check_schemas(schemas, sagas, workflows, out, err)


def _attr(path: Path, saga: object) -> str:
    module = import_target(str(path))
    for name, value in vars(module).items():
        if value is saga:
            return name
    return "saga"
