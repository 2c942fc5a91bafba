"""The ``stepsaga`` command line.

Exit codes: 0 ok; 1 a definition (or committed output, or a handler path) was rejected; 2 a bad
call or an unreadable file; 3 only for a bug of ours (see ``loader.blame``). The compile path
imports neither boto3 nor moto.
"""

from __future__ import annotations

import argparse
import os
import sys

TYPE_CHECKING = False  # keep typing and pathlib off the compile path: cold start is measured
if TYPE_CHECKING:
    from collections.abc import Sequence

    from stepsaga.model import Saga

from stepsaga.errors import DefinitionError, LintError, LoadError

OK, REJECTED, BAD_CALL, INTERNAL = 0, 1, 2, 3


def _subparser(**kwargs: object) -> argparse.ArgumentParser:
    kwargs.setdefault("formatter_class", _Formatter)
    return argparse.ArgumentParser(**kwargs)  # type: ignore[arg-type]


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def _rejected(where: str, exc: DefinitionError | LintError) -> int:
    for problem in exc.problems:
        _err(f"{where}: {problem}")
    return REJECTED


def _load(target: str) -> tuple[str, list[Saga]] | int:
    """The sagas a target names, or the exit code after reporting why there are none."""
    from stepsaga.loader import load, split_target

    where = split_target(target)[0]
    try:
        sagas = load(target)
    except LoadError as exc:
        _err(str(exc))
        return BAD_CALL
    except DefinitionError as exc:
        return _rejected(where, exc)
    if not sagas:
        _err(f"{where}: defines no Saga; write `saga = Saga(...)` at module level, or name one with {where}:ATTR")
        return REJECTED
    return where, sagas


def _cmd_compile(args: argparse.Namespace) -> int:
    from stepsaga.names import asl_file_name
    from stepsaga.orchestration import to_asl

    loaded = _load(args.target)
    if isinstance(loaded, int):
        return loaded
    where, sagas = loaded
    out = args.output
    to_dir = out is not None and (os.path.isdir(out) or out.endswith(("/", os.sep)) or len(sagas) > 1)
    if len(sagas) > 1 and not to_dir:
        names = ", ".join(s.name for s in sagas)
        _err(f"{where}: defines several sagas ({names}); name one with {where}:ATTR, or write them to a folder with -o DIR/")
        return BAD_CALL
    for saga in sagas:
        try:
            text = to_asl(saga)
        except LintError as exc:
            return _rejected(f"{where}: saga {saga.name}", exc)
        if out is None:
            sys.stdout.write(text)
            continue
        dest = os.path.join(out, asl_file_name(saga.name)) if to_dir else out
        try:
            os.makedirs(os.path.dirname(dest) or ".", exist_ok=True)
            with open(dest, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
        except OSError as exc:
            _err(f"{dest}: cannot write: {_why_not_written(dest, exc)}")
            return BAD_CALL
        print(f"wrote {dest}", file=sys.stderr)
    return OK


def _why_not_written(dest: str, exc: OSError) -> str:
    """The reason a file cannot be written, naming a parent that is a file rather than a folder."""
    parent = os.path.dirname(os.path.abspath(dest))
    while parent and not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if parent and not os.path.isdir(parent):
        return f"{parent} is a file, not a folder; write -o to a folder or a file path in one"
    if os.path.isdir(dest):
        return f"{dest} is a folder; end -o with / to write <saga>.asl.json into it"
    return exc.strerror or str(exc)


def _cmd_graph(args: argparse.Namespace) -> int:
    import json

    from stepsaga.graph import outline
    from stepsaga.orchestration import to_asl

    loaded = _load(args.target)
    if isinstance(loaded, int):
        return loaded
    where, sagas = loaded
    for saga in sagas:
        try:
            doc = json.loads(to_asl(saga))
        except LintError as exc:
            return _rejected(f"{where}: saga {saga.name}", exc)
        sys.stdout.write(outline(f"{saga.name} ({saga.workflow_type})", doc))
    return OK


def _read_json_arg(value: str, what: str) -> object:
    """JSON text, or ``@FILE``; ValueError names the option and says what to write."""
    import json

    text = value
    if value.startswith("@"):
        try:
            with open(value[1:], encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise ValueError(f"{what} {value}: cannot read {value[1:]}: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise ValueError(f"{what} {value}: {value[1:]} is not UTF-8 text ({exc.reason})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{what} {value!r} is not JSON ({exc.msg} at line {exc.lineno}); write JSON or @FILE") from exc


def _seed_arg(item: str) -> tuple[str, object]:
    """``TABLE=JSON`` or ``TABLE=@FILE`` from ``--seed``; ValueError when it is neither."""
    table, sep, value = item.partition("=")
    if not sep or not table.strip() or not value:
        raise ValueError(f"--seed {item!r} is not TABLE=JSON or TABLE=@FILE; write for example --seed 'inventory=[{{\"pk\": \"SKU#1\"}}]'")
    return table.strip(), (value[1:] if value.startswith("@") else _read_json_arg(value, f"--seed {table.strip()}"))


def _cmd_run(args: argparse.Namespace) -> int:
    import json

    loaded = _load(args.target)
    if isinstance(loaded, int):
        return loaded
    where, sagas = loaded
    if len(sagas) != 1:
        _err(f"{where}: defines {len(sagas)} sagas; name one with {where}:ATTR")
        return BAD_CALL
    saga = sagas[0]
    from stepsaga.errors import FaultError, SeedError, StartExecutionError
    from stepsaga.local import EmbeddedCloud, default_seed, parse_fault, seed_items
    from stepsaga.local.faults import normalise

    try:
        payload = _read_json_arg(args.input, "--input")
        faults = normalise(dict(parse_fault(f) for f in args.fail), list(saga.handlers()))
        seed: dict[str, object] = {} if args.no_seed else dict(default_seed(saga, os.path.join(os.path.dirname(where) or ".", "inputs")))
        seed.update(_seed_arg(item) for item in args.seed)
        seed_items(saga, seed)  # every bad seed is a bad call, found before anything starts
    except (ValueError, FaultError) as exc:  # SeedError is a ValueError
        _err(str(exc))
        return BAD_CALL
    if not args.logs:
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    # Handlers print their logs to stdout, as in Lambda; keep stdout for the result alone.
    sys.stdout.flush()
    saved_stdout = os.dup(1)
    os.dup2(2, 1)
    try:
        with EmbeddedCloud(saga, seed=seed) as cloud:
            result = cloud.run(payload, faults, name=args.name)
    except DefinitionError as exc:  # handler paths that do not load as Lambda loads them
        return _rejected(where, exc)
    except (FaultError, SeedError, StartExecutionError) as exc:
        _err(str(exc))
        return BAD_CALL
    finally:
        sys.stdout.flush()
        os.dup2(saved_stdout, 1)
        os.close(saved_stdout)
    if args.json:
        print(json.dumps(result.to_json(), indent=2, default=str))
    else:
        from rich.console import Console

        # Piped output (make demo, CI logs) gets room for a timeline row instead of rich's 80 columns.
        console = Console(width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 120)
        if args.title:
            console.rule(args.title)
        console.print(result.timeline())
    return OK


def _cmd_check(args: argparse.Namespace) -> int:
    from pathlib import Path

    from stepsaga.check import check

    for option, path in (("--asl", args.asl), ("--template", args.template), ("--schemas", args.schemas)):
        if option == "--asl" and os.path.exists(path) and not os.path.isdir(path):
            _err(f"{option} {path}: is a file; name the folder of the compiled ASL")
            return BAD_CALL
        if option == "--schemas" and os.path.exists(path) and not os.path.isdir(path):
            _err(f"{option} {path}: is a file; name the folder of the event schemas")
            return BAD_CALL
        if option == "--template" and os.path.isdir(path):
            _err(f"{option} {path}: is a folder; name the SAM template file, for example template.yaml")
            return BAD_CALL
    return check(Path(args.workflows), Path(args.asl), out=sys.stdout, err=sys.stderr, template=Path(args.template),
                 schemas=Path(args.schemas))


def _cmd_template(args: argparse.Namespace) -> int:
    from pathlib import Path

    from stepsaga.loader import import_target, sagas_in, split_target, workflow_files

    targets = args.paths or [str(p) for p in workflow_files(Path(args.workflows))]
    if not targets:
        _err(f"{args.workflows}: no workflow files; name one: stepsaga template PATH[:ATTR]")
        return BAD_CALL
    sagas = []
    for target in targets:
        where, attr = split_target(target)
        try:
            sagas.extend(s for s in sagas_in(import_target(where), attr, where) if all(s is not t for t in sagas))
        except LoadError as exc:
            _err(str(exc))
            return BAD_CALL
        except DefinitionError as exc:
            return _rejected(where, exc)
    try:
        from stepsaga.sam import Layout, TemplateError, schema_warnings, sync_asl, sync_file
    except ModuleNotFoundError as exc:
        _err(f"stepsaga template needs {exc.name}: pip install 'stepsaga[deploy]'")
        return BAD_CALL
    try:
        from stepsaga.choreography.schema_files import sync_schemas
    except ModuleNotFoundError as exc:  # the event models are pydantic's
        _err(f"stepsaga template needs {exc.name} for the event schemas: pip install 'stepsaga[handlers]'")
        return BAD_CALL
    layout = Layout(Path(args.template), Path(args.asl))
    written = []
    try:
        for saga in sagas:
            # DefinitionUri must name a current file: the ASL is compiled with the template (issue 7.10).
            try:
                written += sync_asl(layout, [saga])
            except LintError as exc:
                return _rejected(f"saga {saga.name}", exc)
        # Without PATHs the template describes every saga in the folder, so sagas gone from it go too.
        changed = sync_file(layout, sagas, prune=not args.paths)
        schema_changes = sync_schemas(Path(args.schemas), sagas)
    except TemplateError as exc:
        _err(str(exc))
        return BAD_CALL
    for path, wrote in written:
        print(f"{'wrote' if wrote else 'unchanged:'} {path.as_posix()}", file=sys.stderr)
    print(f"{'wrote' if changed else 'unchanged:'} {args.template} ({len(sagas)} saga(s))", file=sys.stderr)
    for path, what in schema_changes:
        if what != "unchanged":
            print(f"{what} {path.as_posix()}", file=sys.stderr)
    kept = sum(what == "unchanged" for _, what in schema_changes)
    if kept:
        print(f"unchanged: {kept} event schema(s) in {args.schemas}/", file=sys.stderr)
    for saga in sagas:
        for line in schema_warnings(saga):
            _err(f"warning: {line}")
    return OK


class _Formatter(argparse.HelpFormatter):
    """argparse's default formatter imports shutil (~4 ms) per argument to size the terminal."""

    def __init__(self, prog: str) -> None:
        try:
            width = os.get_terminal_size().columns
        except OSError:
            width = 80
        super().__init__(prog, width=max(width - 2, 40))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stepsaga", description="Sagas on AWS Step Functions, defined in Python.", formatter_class=_Formatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_subparser)

    p = sub.add_parser("compile", help="compile a saga to ASL", description="Compile a saga to Amazon States Language.")
    p.add_argument("target", metavar="PATH[:ATTR]", help="workflow file or module, optionally with the saga's variable name")
    p.add_argument("-o", "--output", metavar="FILE_OR_DIR", help="write <name>.asl.json here instead of printing it")
    p.set_defaults(func=_cmd_compile)

    p = sub.add_parser("graph", help="print an outline of the compiled states", description="Print each compiled state with its type and transitions.")
    p.add_argument("target", metavar="PATH[:ATTR]")
    p.set_defaults(func=_cmd_graph)

    p = sub.add_parser("run", help="run a saga locally and print its timeline", description="Run a saga in-process on moto's Step Functions interpreter with its real handlers. Exits 0 when the run completed, whatever the saga's status.")
    p.add_argument("target", metavar="PATH[:ATTR]")
    p.add_argument("--input", required=True, metavar="JSON|@FILE", help="the execution input")
    p.add_argument("--fail", action="append", default=[], metavar="STATE=ERROR[@N]", help="inject a fault: an error name, timeout, or crash[:ERROR]; @N fails only the first N attempts")
    p.add_argument("--seed", action="append", default=[], metavar="TABLE=JSON|@FILE", help="seed a table (default: inputs/<table>_seed.json next to the workflow)")
    p.add_argument("--no-seed", action="store_true", help="start with empty tables")
    p.add_argument("--name", help="the execution name (the saga id)")
    p.add_argument("--title", help="a heading printed above the timeline")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the timeline")
    p.add_argument("--logs", action="store_true", help="show the handlers' INFO logs (on stderr)")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("check", help="fail if asl/, template.yaml or schemas/ drifted from workflows/", description="Recompile every saga in workflows/, compare with asl/, template.yaml and schemas/, and lint the committed ASL.")
    p.add_argument("--workflows", default="workflows", metavar="DIR")
    p.add_argument("--asl", default="asl", metavar="DIR")
    p.add_argument("-t", "--template", default="template.yaml", metavar="FILE", help="also compare this SAM template with the sagas, when it exists")
    p.add_argument("--schemas", default="schemas", metavar="DIR", help="also compare these event schemas with the sagas, when the folder exists")
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("template", help="write or update template.yaml for AWS SAM", description="Generate the SAM resources of each saga into template.yaml, keeping everything else in the file as written.")
    p.add_argument("paths", nargs="*", metavar="PATH[:ATTR]", help="workflow files (default: every workflow in --workflows)")
    p.add_argument("-t", "--template", default="template.yaml", metavar="FILE")
    p.add_argument("--asl", default="asl", metavar="DIR", help="where the compiled ASL is (DefinitionUri points there)")
    p.add_argument("--schemas", default="schemas", metavar="DIR", help="where to write each event's JSON Schema (<saga>/<DetailType>.json)")
    p.add_argument("--workflows", default="workflows", metavar="DIR")
    p.set_defaults(func=_cmd_template)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return BAD_CALL if exc.code else OK
    # Workflows import their own project's modules (workflows.x) like a test run would.
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return BAD_CALL
    except Exception as exc:  # a crash in a user's workflow module is still a rejected definition
        from stepsaga.loader import blame

        frame, user = blame(exc)
        _err(f"{frame}: {type(exc).__name__}: {exc}")
        return REJECTED if user else INTERNAL


if __name__ == "__main__":
    sys.exit(main())
