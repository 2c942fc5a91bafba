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
#: What ``stepsaga graph --format`` takes (stepsaga.pictures.FORMATS; kept here so the parser imports nothing).
GRAPH_FORMATS = ("text", "mermaid", "dot", "svg", "png")


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
    found = _load_definitions(target, machines=False)
    return found if isinstance(found, int) else (found[0], [item for _, item in found[1]])  # type: ignore[misc]


def _load_definitions(target: str, machines: bool = True) -> tuple[str, list[tuple[str, object]]] | int:
    """The sagas (and with ``machines`` the builder-made state machines) a target names, each as (its name, it),
    or the exit code after reporting why there are none."""
    from stepsaga.loader import definitions_in, import_target, sagas_in, split_target

    where, attr = split_target(target)
    try:
        module = import_target(where)
        found = definitions_in(module, attr, where) if machines else [(s.name, s) for s in sagas_in(module, attr, where)]
    except LoadError as exc:
        _err(str(exc))
        return BAD_CALL
    except DefinitionError as exc:
        return _rejected(where, exc)
    if not found:
        _err(f"{where}: defines no Saga{' or StateMachine' if machines else ''}; write `saga = Saga(...)` at module level, or name one with {where}:ATTR")
        return REJECTED
    # A saga is named by its name, a state machine by its name= or else its variable.
    return where, [(getattr(item, "name", None) or variable, item) for variable, item in found]


def _cmd_compile(args: argparse.Namespace) -> int:
    if args.mode == "choreography":
        from stepsaga.choreography.document import to_choreography_json as render
        from stepsaga.names import choreography_file_name as file_name

        loaded = _load(args.target)
        if isinstance(loaded, int):
            return loaded
        where, items = loaded[0], [(s.name, s) for s in loaded[1]]
    else:
        from stepsaga.names import asl_file_name as file_name
        from stepsaga.orchestration import to_asl as render

        found = _load_definitions(args.target)
        if isinstance(found, int):
            return found
        where, items = found
    out = args.output
    to_dir = out is not None and (os.path.isdir(out) or out.endswith(("/", os.sep)) or len(items) > 1)
    if len(items) > 1 and not to_dir:
        names = ", ".join(name for name, _ in items)
        _err(f"{where}: defines several sagas ({names}); name one with {where}:ATTR, or write them to a folder with -o DIR/")
        return BAD_CALL
    for name, item in items:
        own = getattr(item, "to_asl", None)  # a builder-made StateMachine lints and renders itself
        try:
            text = own() if own is not None else render(item)
        except LintError as exc:
            return _rejected(f"{where}: {'state machine' if own is not None else 'saga'} {name}", exc)
        if out is None:
            sys.stdout.write(text)
            continue
        dest = os.path.join(out, file_name(name)) if to_dir else out
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


def _emit(text: str, dest: str | None) -> int:
    """Print a generated text, or write it to ``dest``: OK, or BAD_CALL when it cannot be written."""
    if dest is None:
        sys.stdout.write(text)
        return OK
    return _write_file(dest, text.encode("utf-8"))


def _cmd_graph(args: argparse.Namespace) -> int:
    from stepsaga.pictures import SUFFIXES, format_of

    named = format_of(args.output) if args.output else None
    fmt = args.format or named or ("mermaid" if args.mode == "choreography" else "text")
    if named not in (None, fmt):
        _err(f"-o {args.output}: a {SUFFIXES[named]} file is --format {named}, but --format is {fmt}; name the file *{SUFFIXES[fmt]}, or leave --format out")
        return BAD_CALL
    if args.mode == "choreography" and fmt == "text":
        _err("--format text is the outline of the compiled states; draw the choreography with --format mermaid (its default), dot, svg or png")
        return BAD_CALL
    if fmt == "png" and args.output is None and sys.stdout.isatty():
        _err("--format png is binary; write it to a file with -o FILE.png, or redirect the output")
        return BAD_CALL
    if args.output is not None and os.path.isdir(args.output):
        _err(f"-o {args.output}: is a folder; name the picture's file, for example -o {os.path.join(args.output, 'saga' + SUFFIXES[fmt])}")
        return BAD_CALL
    loaded = _load(args.target)
    if isinstance(loaded, int):
        return loaded
    where, sagas = loaded
    data = _graph_text(where, sagas) if fmt == "text" else _picture(where, sagas, args.mode, fmt)
    if isinstance(data, int):
        return data
    if args.output is not None:
        return _write_file(args.output, data)
    if fmt == "png":  # bytes: past the text layer
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        sys.stdout.write(data.decode("utf-8"))
    return OK


def _graph_text(where: str, sagas: list[Saga]) -> bytes | int:
    """The outline of each saga's compiled states (``--format text``), or the exit code of a rejected one."""
    import json

    from stepsaga.graph import outline
    from stepsaga.orchestration import to_asl

    parts = []
    for saga in sagas:
        try:
            doc = json.loads(to_asl(saga))
        except LintError as exc:
            return _rejected(f"{where}: saga {saga.name}", exc)
        parts.append(outline(f"{saga.name} ({saga.workflow_type})", doc))
    return "".join(parts).encode("utf-8")


def _picture(where: str, sagas: list[Saga], mode: str, fmt: str) -> bytes | int:
    """One saga's picture in ``fmt`` (mermaid, dot, svg, png), or the exit code after saying why not."""
    from stepsaga.errors import GraphvizError
    from stepsaga.pictures import draw, saga_diagram

    saga = _one_saga(where, sagas)  # one picture holds one saga
    if saga is None:
        return BAD_CALL
    try:
        return draw(saga_diagram(saga, mode), fmt)
    except LintError as exc:
        return _rejected(f"{where}: saga {saga.name}", exc)
    except GraphvizError as exc:
        _err(f"{where}: saga {saga.name}: {exc}")
        return BAD_CALL


def _write_file(dest: str, data: bytes) -> int:
    """Write a picture (or its text) to ``dest`` and say so on stderr; exit 2 when it cannot be written."""
    try:
        os.makedirs(os.path.dirname(dest) or ".", exist_ok=True)
        with open(dest, "wb") as fh:
            fh.write(data)
    except OSError as exc:
        _err(f"{dest}: cannot write: {_why_not_written(dest, exc)}")
        return BAD_CALL
    print(f"wrote {dest}", file=sys.stderr)
    return OK


def _one_saga(where: str, sagas: list[Saga]) -> Saga | None:
    """The one saga a command about a single saga takes, or None after saying how to name one."""
    if len(sagas) == 1:
        return sagas[0]
    _err(f"{where}: defines {len(sagas)} sagas ({', '.join(s.name for s in sagas)}); name one with {where}:ATTR")
    return None


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


def _seeds(saga: Saga, where: str, args: argparse.Namespace) -> dict[str, object]:
    """The seed of ``--seed``/``--no-seed`` (default: ``inputs/<table>_seed.json`` next to the workflow), checked;
    ValueError (a ``SeedError``) for a bad one."""
    from stepsaga.local import default_seed, seed_items

    seed: dict[str, object] = {} if args.no_seed else dict(default_seed(saga, os.path.join(os.path.dirname(where) or ".", "inputs")))
    seed.update(_seed_arg(item) for item in args.seed)
    seed_items(saga, seed)  # every bad seed is a bad call, found before anything starts
    return seed


class _HandlerLogsToStderr:
    """Handlers print their logs to stdout, as in Lambda: while active, file descriptor 1 is stderr's, so that
    stdout keeps the command's result alone."""

    def __enter__(self) -> None:
        sys.stdout.flush()
        self._saved = os.dup(1)
        os.dup2(2, 1)

    def __exit__(self, *exc: object) -> None:
        sys.stdout.flush()
        os.dup2(self._saved, 1)
        os.close(self._saved)


def _cmd_run(args: argparse.Namespace) -> int:
    loaded = _load(args.target)
    if isinstance(loaded, int):
        return loaded
    where, sagas = loaded
    if len(sagas) != 1:
        _err(f"{where}: defines {len(sagas)} sagas; name one with {where}:ATTR")
        return BAD_CALL
    saga = sagas[0]
    if args.svg is not None:
        problem = _svg_problem(args.svg, args.mode)
        if problem:
            _err(problem)
            return BAD_CALL
    from stepsaga.errors import FaultError, SeedError, StartExecutionError
    from stepsaga.local import EmbeddedCloud, parse_fault
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
        seed = _seeds(saga, where, args)
    except (ValueError, FaultError) as exc:  # SeedError is a ValueError
        _err(str(exc))
        return BAD_CALL
    if not args.logs:
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    modes = ("orchestration", "choreography") if args.mode == "both" else (args.mode,)
    name = args.name
    if name is None and len(modes) > 1:  # one saga id for both runs, so their rows compare
        import uuid

        name = f"{saga.name.lower()}-{uuid.uuid4().hex[:12]}"
    results = []
    try:
        with _HandlerLogsToStderr():
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
    _print_runs(args, results)
    if args.svg is not None:  # after the timeline, which a picture that cannot be drawn must not cost
        return _draw_run(where, saga, results[0], args.svg)  # the orchestration's run: the first of a pair
    return OK


def _print_runs(args: argparse.Namespace, results: list) -> None:
    """Print the runs' JSON (``--json``), or each timeline, side by side with their agreement for two."""
    import json

    if args.json:
        out = results[0].to_json() if len(results) == 1 else {r.mode: r.to_json() for r in results}
        print(json.dumps(out, indent=2, default=str))
        return
    from rich.console import Console

    # Piped output (make demo, CI logs) gets room for a timeline row instead of rich's 80 columns.
    wide = 120 * len(results) + 4 * (len(results) - 1)
    console = Console(width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else wide)
    if args.title:
        console.rule(args.title)
    if len(results) == 1:
        console.print(results[0].timeline())
        return
    from rich.panel import Panel
    from rich.table import Table

    from stepsaga.local.compare import same_outcome

    side_by_side = Table.grid(expand=True, padding=(0, 1))
    for _ in results:
        side_by_side.add_column(ratio=1)
    side_by_side.add_row(*[Panel(r.timeline(), title=r.mode, title_align="left") for r in results])
    console.print(side_by_side)
    console.print(same_outcome(results[0], results[1]))


def _svg_problem(dest: str, mode: str) -> str | None:
    """Why ``run --svg`` cannot draw, found before the run: the mode, the file, or no Graphviz."""
    from stepsaga.errors import GraphvizError

    if mode == "choreography":
        return ("--svg draws the run's path through the compiled state machine, and a choreography has none; "
                "run with --mode orchestration or --mode both (it draws the orchestration's run), "
                "or draw the event flow with stepsaga graph PATH --mode choreography --format svg")
    if os.path.isdir(dest):
        return f"--svg {dest}: is a folder; name the picture's file, for example --svg {os.path.join(dest, 'run.svg')}"
    from stepsaga.dot import find_dot

    try:
        find_dot()
    except GraphvizError as exc:
        return f"--svg {dest}: {exc}"
    return None


def _draw_run(where: str, saga: Saga, result: object, dest: str) -> int:
    from stepsaga.errors import GraphvizError
    from stepsaga.pictures import draw_run

    try:
        picture = draw_run(saga, result)
    except LintError as exc:
        return _rejected(f"{where}: saga {saga.name}", exc)
    except GraphvizError as exc:
        _err(f"--svg {dest}: {exc}")
        return BAD_CALL
    return _write_file(dest, picture)


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


def _read_asl(path: str) -> str | int:
    """The text of an ASL file, or BAD_CALL after saying why it cannot be read (missing, a folder, not UTF-8, not JSON)."""
    import json

    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except IsADirectoryError:
        _err(f"{path}: is a folder; name an ASL file, such as asl/order_saga.asl.json")
        return BAD_CALL
    except OSError as exc:
        _err(f"{path}: cannot read: {exc.strerror}")
        return BAD_CALL
    except UnicodeDecodeError as exc:
        _err(f"{path}: is not UTF-8 text ({exc.reason}); ASL is JSON in UTF-8")
        return BAD_CALL
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        _err(f"{path}: is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
        return BAD_CALL
    return text


def _cmd_lint(args: argparse.Namespace) -> int:
    """Lint hand-written ASL files: each problem on stdout, a summary per file on stderr; 0 clean, 1 problems, 2 unreadable."""
    from stepsaga.asl.lint import lint_text

    worst = OK
    for path in args.files:
        text = _read_asl(path)
        if isinstance(text, int):
            worst = BAD_CALL
            continue
        problems = lint_text(text)
        for problem in problems:
            print(f"{path}: {problem}")
        _err(f"{path}: {len(problems)} problem{'' if len(problems) == 1 else 's'}" if problems else f"{path}: no problems")
        if problems and worst == OK:
            worst = REJECTED
    return worst


def _cmd_import(args: argparse.Namespace) -> int:
    """Write the Python of an ASL file: the Saga DSL for stepsaga's compiled sagas, else the low-level builder."""
    import re

    from stepsaga.importer import default_name, import_asl
    from stepsaga.names import snake_case

    if args.name is not None and not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", args.name):
        _err(f"--name {args.name!r}: write a name of letters and digits starting with a letter, such as OrderSaga")
        return BAD_CALL
    text = _read_asl(args.file)
    if isinstance(text, int):
        return text
    try:
        imported = import_asl(text, args.file, name=args.name, builder=args.builder)
    except LintError as exc:
        for problem in exc.problems:
            _err(f"{args.file}: {problem}")
        _err(f"{args.file}: fix the problems above first; `stepsaga lint {args.file}` lists them again")
        return REJECTED
    if args.output is None:
        sys.stdout.write(imported.source)
        _err(f"{args.file}: {imported.why}")
        return OK
    dest = args.output
    if os.path.isdir(dest) or dest.endswith(("/", os.sep)):
        dest = os.path.join(dest, snake_case(imported.name or default_name(args.file)) + ".py")
    if os.path.exists(dest) and not args.force:
        _err(f"{dest}: exists; write to another -o, or add --force to replace it")
        return BAD_CALL
    try:
        os.makedirs(os.path.dirname(dest) or ".", exist_ok=True)
        with open(dest, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(imported.source)
    except OSError as exc:
        _err(f"{dest}: cannot write: {_why_not_written(dest, exc)}")
        return BAD_CALL
    _err(f"wrote {dest}: {imported.why}; compile it with: stepsaga compile {dest}")
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


def _load_one(target: str) -> tuple[str, Saga] | int:
    """The one saga a target names, or the exit code after saying why there is not one."""
    loaded = _load(target)
    if isinstance(loaded, int):
        return loaded
    where, sagas = loaded
    saga = _one_saga(where, sagas)
    return BAD_CALL if saga is None else (where, saga)


def _cmd_mock_config(args: argparse.Namespace) -> int:
    loaded = _load_one(args.target)
    if isinstance(loaded, int):
        return loaded
    where, saga = loaded
    from stepsaga import mock_config
    from stepsaga.errors import SeedError, StartExecutionError

    try:
        payload = _read_json_arg(args.input, "--input")
        seed = _seeds(saga, where, args)
    except ValueError as exc:  # SeedError is a ValueError
        _err(str(exc))
        return BAD_CALL
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    try:
        with _HandlerLogsToStderr():
            config, runs = mock_config.generate(saga, payload, seed=seed)
    except DefinitionError as exc:
        return _rejected(where, exc)
    except (SeedError, StartExecutionError) as exc:
        _err(str(exc))
        return BAD_CALL
    for scenario, result in runs:
        ended = result.status + (f" {result.error}" if result.error else "")
        _err(f"{scenario.name}: {' '.join('--fail ' + f for f in scenario.fail_args) or 'no fault'} -> {ended}")
    if _emit(mock_config.render(config), args.output) != OK:
        return BAD_CALL
    if args.definition is not None and _emit(mock_config.container_definition(saga), args.definition) != OK:
        return BAD_CALL
    _err(f"{len(runs)} test cases; run one in Step Functions Local with --state-machine-arn '{mock_config.state_machine_arn(saga, runs[0][0].name)}' (docs/guide.md)")
    return OK


def _cmd_sdk_import(args: argparse.Namespace) -> int:
    from stepsaga.asl.lint import lint
    from stepsaga.asl.render import render
    from stepsaga.errors import SdkError, SdkNotInstalledError, TemplateError
    from stepsaga.loader import import_target, split_target
    from stepsaga.sdk import from_sdk, workflows_in

    where, attr = split_target(args.target)
    try:
        found = workflows_in(import_target(where), attr)
        if len(found) != 1:
            names = ", ".join(n for n, _ in found) or "none"
            _err(f"{where}: defines {len(found)} Data Science SDK workflows ({names}); name one with {where}:ATTR")
            return BAD_CALL
        [(name, workflow)] = found
        definition = from_sdk(workflow)
    except (LoadError, SdkNotInstalledError) as exc:
        _err(str(exc))
        return BAD_CALL
    except SdkError as exc:
        _err(f"{where}: {exc}")
        return REJECTED
    problems = lint(definition)
    if problems:
        for problem in problems:
            _err(f"{where}:{name}: {problem}")
        return REJECTED
    text = render(definition)
    if args.template:
        from stepsaga.sam import definition_resource, definition_template

        try:
            resource = definition_resource(definition, definition_uri=args.output)
        except TemplateError as exc:
            _err(f"{where}:{name}: {exc}")
            return REJECTED
        if args.output is not None and _emit(text, args.output) != OK:
            return BAD_CALL
        sys.stdout.write(definition_template(name, resource))
        return OK
    return _emit(text, args.output)


def _cmd_sdk_export(args: argparse.Namespace) -> int:
    loaded = _load_one(args.target)
    if isinstance(loaded, int):
        return loaded
    where, saga = loaded
    import warnings

    from stepsaga.asl.render import render
    from stepsaga.errors import SdkError, SdkNotInstalledError
    from stepsaga.sdk import export_saga

    with warnings.catch_warnings(record=True) as dropped:
        warnings.simplefilter("always")
        try:
            graph = export_saga(saga, drop_unsupported=args.drop_unsupported)
        except SdkNotInstalledError as exc:
            _err(str(exc))
            return BAD_CALL
        except SdkError as exc:
            _err(f"{where}: {exc}")
            return REJECTED
    for warning in dropped:
        _err(f"warning: {warning.message}")
    return _emit(render(graph.to_dict()), args.output)


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

    p = sub.add_parser("graph", help="draw the compiled state machine, or the event flow", description=(
        "Draw the compiled state machine: steps, the happy path, each Catch to its compensation, the compensation "
        "chain and the dead-letter states; or (--mode choreography) the event flow: producers, events, consumers. "
        "svg and png need Graphviz's dot."))
    p.add_argument("target", metavar="PATH[:ATTR]")
    p.add_argument("--mode", choices=MODES, default="orchestration", help="orchestration: the state machine (default); choreography: producers -> events -> consumers")
    p.add_argument("--format", choices=GRAPH_FORMATS, help="text: each state and its transitions (the orchestration's default); "
                   "mermaid (the choreography's default) or dot: the picture's text; svg or png: drawn by Graphviz "
                   "(default: the -o file's extension, .txt .mmd .dot .svg .png)")
    p.add_argument("-o", "--output", metavar="FILE", help="write the picture here instead of printing it")
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
    p.add_argument("--svg", metavar="FILE", help="also draw the run's path on the compiled state machine (Graphviz's dot): "
                   "the states taken, each failed attempt, the compensations run; with --mode both, the orchestration's run")
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

    p = sub.add_parser("mock-config", help="write a Step Functions Local MockConfigFile.json of every fault scenario",
                       description="Run each fault scenario of a saga locally with its real handlers (the faults of --fail) and write the responses "
                                   "of its Task states as a Step Functions Local mock configuration: one test case per scenario.")
    p.add_argument("target", metavar="PATH[:ATTR]")
    p.add_argument("--input", required=True, metavar="JSON|@FILE", help="the execution input of every scenario (start the container's executions with it)")
    p.add_argument("-o", "--output", metavar="FILE", help="write the file here instead of printing it (MockConfigFile.json)")
    p.add_argument("--definition", metavar="FILE", help="also write the ASL with its placeholders filled for Step Functions Local")
    p.add_argument("--seed", action="append", default=[], metavar="TABLE=JSON|@FILE", help="seed a table (default: inputs/<table>_seed.json next to the workflow)")
    p.add_argument("--no-seed", action="store_true", help="start with empty tables")
    p.set_defaults(func=_cmd_mock_config)

    p = sub.add_parser("sdk", help="AWS Step Functions Data Science SDK workflows, both ways (stepsaga[sdk])",
                       description="Import a Data Science SDK workflow into ASL (linted, optionally as a SAM resource), or export a saga to the SDK's steps.")
    sdk = p.add_subparsers(dest="sdk_command", required=True, metavar="COMMAND", parser_class=_subparser)
    p = sdk.add_parser("import", help="a module's SDK Workflow, Graph or Chain as linted ASL",
                       description="Load a Python file's Data Science SDK Workflow, Graph or Chain, lint its ASL (exit 1 on a problem) and print it.")
    p.add_argument("target", metavar="PATH[:ATTR]", help="the Python file (or module) and the workflow's variable name")
    p.add_argument("-o", "--output", metavar="FILE", help="write the ASL here (with --template: the DefinitionUri)")
    p.add_argument("--template", action="store_true", help="print an AWS::Serverless::StateMachine resource for it, with the policies its Tasks need")
    p.set_defaults(func=_cmd_sdk_import)
    p = sdk.add_parser("export", help="a saga as the SDK's steps, rendered by the SDK",
                       description="Build the saga's compiled ASL from the Data Science SDK's steps and print the SDK's rendering. "
                                   "Exit 1 listing every field the SDK cannot express, unless --drop-unsupported.")
    p.add_argument("target", metavar="PATH[:ATTR]")
    p.add_argument("--drop-unsupported", action="store_true", help="leave out the fields the SDK cannot express, with a warning for each")
    p.add_argument("-o", "--output", metavar="FILE", help="write it here instead of printing it")
    p.set_defaults(func=_cmd_sdk_export)

    p = sub.add_parser("import", help="write the Python of an existing ASL definition", description=(
        "Write an ASL definition as Python that `stepsaga compile` turns back into semantically equal ASL: the Saga DSL "
        "for ASL stepsaga compiled from a saga, else the low-level builder (stepsaga.asl.builder), with a header saying why."))
    p.add_argument("file", metavar="FILE.asl.json", help="the ASL definition")
    p.add_argument("-o", "--output", metavar="FILE_OR_DIR", help="write the module here (a folder gets <name>.py) instead of printing it")
    p.add_argument("--name", help="the saga's or state machine's name when the ASL does not hold it (default: from the file name)")
    p.add_argument("--builder", action="store_true", help="write the low-level builder even for a stepsaga-compiled saga")
    p.add_argument("--force", action="store_true", help="replace the -o file if it exists")
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser("lint", help="lint hand-written ASL files", description=(
        "Lint ASL definitions: every state type and field in both query languages, nested Parallel and Map states "
        "included. Prints each problem (state path, field, what to write); exits 0 when clean, 1 on problems, 2 when a file cannot be read."))
    p.add_argument("files", nargs="+", metavar="FILE.asl.json")
    p.set_defaults(func=_cmd_lint)

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
