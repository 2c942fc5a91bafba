"""The ``stepsaga`` command line.

Exit codes: 0 ok; 1 a definition (or committed output, or a handler path) was rejected; 2 a bad
call or an unreadable file; 3 only for a bug of ours (see ``loader.blame``). ``stepsaga events
test-pattern`` exits as grep does: 0 the event matches, 1 it does not, 2 the pattern or the event is
invalid. The compile path imports neither boto3 nor moto, and ``stepsaga events`` nothing beyond the
standard library.
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
#: The modes ``stepsaga compile --mode`` and ``stepsaga graph --mode`` take.
MODES = ("orchestration", "choreography")


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
    if args.mode == "choreography":
        from stepsaga.choreography.document import to_choreography_json as render
        from stepsaga.names import choreography_file_name as file_name
    else:
        from stepsaga.names import asl_file_name as file_name
        from stepsaga.orchestration import to_asl as render

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
            text = render(saga)
        except LintError as exc:
            return _rejected(f"{where}: saga {saga.name}", exc)
        if out is None:
            sys.stdout.write(text)
            continue
        dest = os.path.join(out, file_name(saga.name)) if to_dir else out
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
    if args.mode == "choreography":
        return _choreography_graph(where, sagas)
    for saga in sagas:
        try:
            doc = json.loads(to_asl(saga))
        except LintError as exc:
            return _rejected(f"{where}: saga {saga.name}", exc)
        sys.stdout.write(outline(f"{saga.name} ({saga.workflow_type})", doc))
    return OK


def _one_saga(where: str, sagas: list[Saga]) -> Saga | None:
    """The one saga a command about a single saga takes, or None after saying how to name one."""
    if len(sagas) == 1:
        return sagas[0]
    _err(f"{where}: defines {len(sagas)} sagas ({', '.join(s.name for s in sagas)}); name one with {where}:ATTR")
    return None


def _choreography_graph(where: str, sagas: list[Saga]) -> int:
    from stepsaga.choreography.graph import mermaid
    from stepsaga.choreography.plan import plan

    saga = _one_saga(where, sagas)  # one Mermaid document holds one diagram
    if saga is None:
        return BAD_CALL
    sys.stdout.write(mermaid(plan(saga)))
    return OK


def _cmd_cost(args: argparse.Namespace) -> int:
    import json

    from stepsaga.cost import estimate, render_text, to_json

    loaded = _load(args.target)
    if isinstance(loaded, int):
        return loaded
    saga = _one_saga(*loaded)
    if saga is None:
        return BAD_CALL
    payload = None
    if args.input is not None:
        try:
            payload = _read_json_arg(args.input, "--input")
        except ValueError as exc:
            _err(str(exc))
            return BAD_CALL
        if not isinstance(payload, dict):
            _err(f"--input {args.input}: is a JSON {type(payload).__name__}, but a saga's input is a JSON object; write {{...}}")
            return BAD_CALL
    try:
        result = estimate(saga, args.per_day, lambda_ms=args.lambda_ms, memory_mb=args.memory_mb, saga_input=payload, result_bytes=args.result_bytes)
    except LintError as exc:
        return _rejected(f"{loaded[0]}: saga {saga.name}", exc)
    sys.stdout.write(json.dumps(to_json(result), indent=2) + "\n" if args.json else render_text(result))
    return OK


def _whole(low: int, high: int | None = None) -> object:
    """An argparse type: a whole number from ``low`` (to ``high``); a bad value is a bad call (exit 2)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{value} is out of range; write a whole number from {low}" + (f" to {high}" if high else ""))
        return value

    return parse


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
    from stepsaga.local.faults import plan_faults

    try:
        payload = _read_json_arg(args.input, "--input")
        faults: dict[str, list[object]] = {}
        for spec in args.fail:  # a state may take a handler fault and delivery faults: --fail S=duplicate --fail S=Boom
            state, fault = parse_fault(spec)
            faults.setdefault(state, []).append(fault)
        consumers = ()
        if args.mode in ("choreography", "both"):
            from stepsaga.choreography.plan import plan

            consumers = tuple(c.name for c in plan(saga).consumers)
        plan_faults(faults, list(saga.handlers()), consumers)  # every bad fault is a bad call, found first
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
    modes = ("orchestration", "choreography") if args.mode == "both" else (args.mode,)
    name = args.name
    if name is None and len(modes) > 1:  # one saga id for both runs, so their rows compare
        import uuid

        name = f"{saga.name.lower()}-{uuid.uuid4().hex[:12]}"
    results = []
    try:
        for mode in modes:
            from stepsaga.local.faults import DeliveryFault

            # an orchestration has no deliveries: its run of a side-by-side pair takes the handler faults only
            mine = faults if mode == "choreography" else {s: [f for f in fs if not isinstance(f, DeliveryFault)] for s, fs in faults.items()}
            with EmbeddedCloud(saga, seed=seed, mode=mode) as cloud:
                results.append(cloud.run(payload, {s: fs for s, fs in mine.items() if fs}, name=name))
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
        out = results[0].to_json() if len(results) == 1 else {r.mode: r.to_json() for r in results}
        print(json.dumps(out, indent=2, default=str))
        return OK
    from rich.console import Console

    # Piped output (make demo, CI logs) gets room for a timeline row instead of rich's 80 columns.
    wide = 120 * len(results) + 4 * (len(results) - 1)
    console = Console(width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else wide)
    if args.title:
        console.rule(args.title)
    if len(results) == 1:
        console.print(results[0].timeline())
        return OK
    from rich.panel import Panel
    from rich.table import Table

    from stepsaga.local.compare import same_outcome

    side_by_side = Table.grid(expand=True, padding=(0, 1))
    for _ in results:
        side_by_side.add_column(ratio=1)
    side_by_side.add_row(*[Panel(r.timeline(), title=r.mode, title_align="left") for r in results])
    console.print(side_by_side)
    console.print(same_outcome(results[0], results[1]))
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
        from stepsaga.sam import Layout, TemplateError, schema_warnings, sync_asl, sync_file, sync_layer
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
        written += sync_layer(layout, sagas)  # the adapter layer's requirements, when stepsaga is not installed from source
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


def _cmd_events_test_pattern(args: argparse.Namespace) -> int:
    """Match one event against one pattern, as EventBridge's TestEventPattern does; exit codes as grep's."""
    from stepsaga.choreography.pattern import compile_pattern
    from stepsaga.errors import PatternError

    try:
        pattern = _read_json_arg(args.pattern, "pattern")
        event = _read_json_arg(args.event, "event")
    except ValueError as exc:
        _err(str(exc))
        return BAD_CALL
    try:
        compiled = compile_pattern(pattern)
    except PatternError as exc:
        for reason in exc.reasons:
            _err(f"pattern {reason}")
        return BAD_CALL
    if not isinstance(event, dict):
        import json

        shown = json.dumps(event)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        _err(f"event is {shown}, not a JSON object; write the event as an object, for example {{\"source\": \"shop.orders\", \"detail\": {{}}}}")
        return BAD_CALL
    found = compiled.matches(event)
    print("match" if found else "no match")
    return OK if found else REJECTED


def _cmd_init(args: argparse.Namespace) -> int:
    """Write a new saga project into a new or empty folder; a bad name or folder is a bad call (exit 2)."""
    from stepsaga.errors import InitError
    from stepsaga.new_project import DEFAULT_NAME, create

    try:
        project = create(args.folder, DEFAULT_NAME if args.name is None else args.name)
    except InitError as exc:
        _err(str(exc))
        return BAD_CALL
    sys.stdout.write(project.summary(args.folder))
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
    p.add_argument("-o", "--output", metavar="FILE_OR_DIR", help="write <name>.asl.json (or <name>.choreography.json) here instead of printing it")
    p.add_argument("--mode", choices=MODES, default="orchestration", help="orchestration: the ASL (default); choreography: its events, rules and consumers as JSON")
    p.set_defaults(func=_cmd_compile)

    p = sub.add_parser("graph", help="print an outline of the compiled states, or the event flow", description="Print each compiled state with its type and transitions, or (--mode choreography) the event flow as a Mermaid flowchart.")
    p.add_argument("target", metavar="PATH[:ATTR]")
    p.add_argument("--mode", choices=MODES, default="orchestration", help="orchestration: the state outline (default); choreography: Mermaid, producers -> events -> consumers")
    p.set_defaults(func=_cmd_graph)

    p = sub.add_parser("cost", help="estimate the monthly AWS cost of each mode", description="Estimate the monthly AWS cost (us-east-1, 30-day months) of the saga as an orchestration (Standard and Express) and as a choreography, on the happy and the compensated path, from its compiled states, its events and its Lambda calls. Prices: stepsaga/data/prices.json.")
    p.add_argument("target", metavar="PATH[:ATTR]")
    p.add_argument("--per-day", required=True, type=_whole(1), metavar="N", help="sagas started a day")
    p.add_argument("--lambda-ms", type=_whole(1, 900_000), metavar="MS", help="assumed average duration of a Lambda invocation (default: 100)")
    p.add_argument("--memory-mb", type=_whole(128, 10_240), metavar="MB", help="Lambda memory (default: the template's, 256)")
    p.add_argument("--input", metavar="JSON|@FILE", help="the saga input events carry (default: a 1 KiB JSON object)")
    p.add_argument("--result-bytes", type=_whole(0), metavar="N", help="assumed size of each step's result (default: 256)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the tables")
    p.set_defaults(func=_cmd_cost)

    p = sub.add_parser("run", help="run a saga locally and print its timeline", description="Run a saga in-process with its real handlers: on moto's Step Functions interpreter, or as a choreography on a local EventBridge bus (--mode). Exits 0 when the run completed, whatever the saga's status.")
    p.add_argument("target", metavar="PATH[:ATTR]")
    p.add_argument("--input", required=True, metavar="JSON|@FILE", help="the execution input")
    p.add_argument("--mode", choices=("orchestration", "choreography", "both"), default="orchestration",
                   help="run the compiled state machine (default), the saga's domain events on a local EventBridge bus, "
                        "or both side by side with the same saga id")
    p.add_argument("--fail", action="append", default=[], metavar="STATE=ERROR[@N]",
                   help="inject a fault: an error name, timeout, or crash[:ERROR]; @N fails only the first N attempts; "
                        "in choreography also duplicate[:N], delay:S, reorder, undeliverable")
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

    p = sub.add_parser("init", help="start a saga project in a new folder", description=(
        "Write a working saga project into DIR (new, or empty but for .git): a two-step example saga (a trip: BookFlight, "
        "BookHotel, and their compensations) in workflows/, its handlers in tasks/ and compensations/, its tests, asl/, "
        "template.yaml and schemas/ generated from it, pytest's configuration and a Makefile with test and demo."))
    p.add_argument("folder", metavar="DIR", help="the project's folder: new, or empty")
    p.add_argument("--name", help="the saga's name, in PascalCase (default: TripSaga); its files are named in snake_case (trip_saga)")
    p.set_defaults(func=_cmd_init)

    p = sub.add_parser("events", help="EventBridge events and event patterns", description="EventBridge events and event patterns, checked locally as EventBridge checks them.")
    events = p.add_subparsers(dest="events_command", required=True, metavar="COMMAND", parser_class=_subparser)
    p = events.add_parser("test-pattern", help="whether an event matches an event pattern", description=(
        "Match an event against an event pattern as EventBridge does, and print match or no match. Exits as grep "
        "does: 0 the event matches, 1 it does not, 2 the pattern or the event is invalid (each reason on stderr)."))
    p.add_argument("pattern", metavar="PATTERN", help="the event pattern: JSON text or @FILE")
    p.add_argument("event", metavar="EVENT", help="the event: JSON text or @FILE")
    p.set_defaults(func=_cmd_events_test_pattern)
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
