"""`stepsaga graph --format` and `-o`: every format of both modes, the file names, and every bad call (exit 2)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stepsaga import cli
from stepsaga.choreography.graph import diagram as flow_diagram
from stepsaga.choreography.plan import plan
from stepsaga.cli import main
from stepsaga.diagram import to_dot
from stepsaga.graph import outline
from stepsaga.orchestration import to_asl
from stepsaga.pictures import EXTENSIONS, FORMATS, SUFFIXES, format_of
from stepsaga.state_graph import dot, mermaid, state_graph
from tests.diagram_helpers import GOOD, ROOT, order_saga, two_sagas

README = (ROOT / "README.md").read_text(encoding="utf-8")

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed (make test installs it)")


def machine():
    return state_graph(order_saga(), json.loads(to_asl(order_saga())))


def test_the_parser_takes_every_format_the_pictures_draw():
    assert cli.GRAPH_FORMATS == FORMATS
    assert set(SUFFIXES) == set(FORMATS) and all(EXTENSIONS[suffix] == fmt for fmt, suffix in SUFFIXES.items())


def test_text_stays_the_default_and_is_the_outline(capsys):
    assert main(["graph", str(GOOD)]) == 0
    assert capsys.readouterr().out == outline("OrderSaga (STANDARD)", json.loads(to_asl(order_saga())))
    assert main(["graph", str(GOOD), "--format", "text"]) == 0
    assert capsys.readouterr().out.startswith("OrderSaga (STANDARD): 23 states, start at BeginSaga\n")


@pytest.mark.parametrize(("fmt", "render"), [("mermaid", mermaid), ("dot", dot)])
def test_mermaid_and_dot_print_the_state_machine(fmt, render, capsys):
    assert main(["graph", str(GOOD), "--format", fmt]) == 0
    assert capsys.readouterr().out == render(machine())


def test_the_choreography_is_mermaid_by_default_and_dot_on_request(capsys):
    assert main(["graph", str(GOOD), "--mode", "choreography"]) == 0
    assert capsys.readouterr().out.startswith("flowchart LR\n")
    assert main(["graph", str(GOOD), "--mode", "choreography", "--format", "dot"]) == 0
    assert capsys.readouterr().out == to_dot(flow_diagram(plan(order_saga())))


@needs_dot
@pytest.mark.parametrize("mode", ["orchestration", "choreography"])
def test_svg_and_png_are_what_dot_draws_from_the_dot_text(mode, tmp_path, capsys):
    from stepsaga.dot import render

    text = dot(machine()) if mode == "orchestration" else to_dot(flow_diagram(plan(order_saga())))
    for fmt in ("svg", "png"):
        dest = tmp_path / f"saga.{fmt}"
        assert main(["graph", str(GOOD), "--mode", mode, "-o", str(dest)]) == 0  # the format from the extension
        assert dest.read_bytes() == render(text, fmt)
        assert capsys.readouterr().err == f"wrote {dest}\n"
    assert (tmp_path / "saga.svg").read_bytes().lstrip().startswith(b"<?xml")
    assert (tmp_path / "saga.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("name", ["order.mmd", "order.MERMAID", "order.dot", "order.gv", "order.txt", "notes/order.picture"])
def test_an_output_file_names_its_format(name, tmp_path, capsys):
    dest = tmp_path / name
    assert main(["graph", str(GOOD), "-o", str(dest)]) == 0
    fmt = format_of(name) or "text"
    expected = {"mermaid": mermaid(machine()), "dot": dot(machine())}.get(fmt)
    text = dest.read_text()
    assert text == expected if expected else text.startswith("OrderSaga (STANDARD): 23 states")


def test_format_of_reads_only_the_last_extension_of_the_file_name():
    assert format_of("a/b.svg") == "svg" and format_of("a.b/picture") is None and format_of("picture") is None
    assert format_of("C:\\pictures.d\\saga") is None and format_of(".dot") == "dot"


def test_graph_into_a_file_and_printed_are_the_same_bytes(tmp_path, capsys):
    assert main(["graph", str(GOOD), "--format", "mermaid", "-o", str(tmp_path / "a" / "order")]) == 0
    assert main(["graph", str(GOOD), "--format", "mermaid"]) == 0
    assert (tmp_path / "a" / "order").read_text() == capsys.readouterr().out


# --- bad calls: exit 2, and what to write instead --------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--format", "png", "-o", "{tmp}/x.svg"], "-o {tmp}/x.svg: a .svg file is --format svg, but --format is png; name the file *.png, or leave --format out"),
        (["--mode", "choreography", "--format", "text"], "--format text is the outline of the compiled states; draw the choreography with --format mermaid (its default), dot, svg or png"),
        (["--mode", "choreography", "-o", "{tmp}/flow.txt"], "--format text is the outline of the compiled states; draw the choreography with --format mermaid (its default), dot, svg or png"),
        (["--format", "svg", "-o", "{tmp}"], "-o {tmp}: is a folder; name the picture's file, for example -o {tmp}/saga.svg"),
        (["--format", "jpeg"], "argument --format: invalid choice: 'jpeg' (choose from text, mermaid, dot, svg, png)"),
    ],
)
def test_bad_calls_say_what_to_write(argv, message, tmp_path, capsys):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(["graph", str(GOOD), *argv]) == 2
    err = capsys.readouterr().err
    assert message.replace("{tmp}", str(tmp_path)) in err.replace("'text', 'mermaid', 'dot', 'svg', 'png'", "text, mermaid, dot, svg, png")


def test_png_is_not_printed_to_a_terminal(monkeypatch, capsys):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(["graph", str(GOOD), "--format", "png"]) == 2
    assert capsys.readouterr().err.strip() == "--format png is binary; write it to a file with -o FILE.png, or redirect the output"


def test_a_picture_of_a_file_with_two_sagas_asks_for_one(tmp_path, capsys):
    two = two_sagas(tmp_path)
    assert main(["graph", str(two), "--format", "mermaid"]) == 2
    assert capsys.readouterr().err.strip() == f"{two}: defines 2 sagas (First, Second); name one with {two}:ATTR"
    assert main(["graph", f"{two}:b", "--format", "mermaid"]) == 0
    assert "ChargeCard" in capsys.readouterr().out
    assert main(["graph", str(two)]) == 0  # the text outline takes every saga of the file
    out = capsys.readouterr().out
    assert out.startswith("First (STANDARD)") and "\nSecond (STANDARD)" in out


def test_without_graphviz_svg_is_a_bad_call_that_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setenv("PATH", "/nonexistent")
    assert main(["graph", str(GOOD), "--format", "svg"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"{GOOD}: saga OrderSaga: drawing svg or png needs Graphviz's dot, which is not on PATH; install Graphviz: apt-get install graphviz")


def test_an_unwritable_output_is_a_bad_call(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    assert main(["graph", str(GOOD), "-o", str(tmp_path / "file" / "x.mmd")]) == 2
    assert f"{tmp_path / 'file'} is a file, not a folder" in capsys.readouterr().err


# --- the README: its picture is the generator's, and its commands run -------------------------------------------


def test_the_readmes_picture_is_the_order_sagas_mermaid():
    [block] = re.findall(r"```mermaid\n(flowchart TB\n.*?)```", README, re.S)
    assert block == mermaid(machine()), "README's picture is stale: paste `stepsaga graph workflows/order_saga.py --format mermaid`"


def test_every_picture_command_in_the_readme_runs(tmp_path, monkeypatch, capsys):
    lines = [line.split(" #")[0].strip() for block in re.findall(r"```sh\n(.*?)```", README, re.S) for line in block.splitlines()]
    commands = [shlex.split(line, comments=True)[1:] for line in lines if line.startswith("stepsaga graph ") and "--mode choreography" not in line]
    formats = {c[c.index("--format") + 1] if "--format" in c else format_of(c[-1]) for c in commands}
    if shutil.which("dot") is None:
        commands = [c for c in commands if not any(a.endswith((".svg", ".png")) or a in ("svg", "png") for a in c)]
    else:
        assert formats >= {"mermaid", "dot", "svg"}, formats
    monkeypatch.chdir(ROOT)
    for argv in commands:
        argv = [str(tmp_path / Path(a).name) if i and argv[i - 1] == "-o" else a for i, a in enumerate(argv)]  # never into the repository
        assert main(argv) == 0, argv
    capsys.readouterr()


def modules_after(calls: str) -> tuple[list[int], list[str]]:
    """The exit codes of ``calls`` (Python making ``main(...)`` calls, in a list), and the modules then loaded."""
    code = f"import json, sys\nfrom stepsaga.cli import main\nrcs = {calls}\nprint(json.dumps([rcs, sorted(sys.modules)]), file=sys.stderr)"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    rcs, loaded = json.loads(proc.stderr.strip().splitlines()[-1])
    return rcs, loaded


def test_graph_in_every_text_format_stays_light():
    rcs, loaded = modules_after("[main(['graph', 'workflows/order_saga.py', '--format', f]) for f in ('text', 'mermaid', 'dot')]")
    assert rcs == [0, 0, 0] and not {m.split(".")[0] for m in loaded} & {"boto3", "botocore", "moto", "pydantic", "rich", "ruamel", "yaml"}


def test_compile_imports_none_of_the_pictures():
    rcs, loaded = modules_after("[main(['compile', 'workflows/order_saga.py'])]")
    pictures = {"stepsaga.diagram", "stepsaga.state_graph", "stepsaga.pictures", "stepsaga.dot", "stepsaga.run_path", "subprocess", "dataclasses"}
    assert rcs == [0] and not pictures & set(loaded)
