"""``stepsaga init``: the project it writes (layout, names, determinism, generated outputs), its refusals, its Makefile."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from stepsaga.check import check
from stepsaga.cli import main
from stepsaga.loader import load
from stepsaga.new_project import Project, installed_from, project_files, requirement
from stepsaga.orchestration import to_asl

ROOT = Path(__file__).resolve().parents[2]

#: Every file of a TripSaga project: the reference layout, its tests, its tools, and what stepsaga generates.
LAYOUT = [
    ".gitignore", "Makefile", "README.md", "asl/trip_saga.asl.json",
    "compensations/_common.py", "compensations/cancel_flight.py", "compensations/cancel_hotel.py", "compensations/requirements.txt",
    "pyproject.toml", "requirements-dev.txt",
    *[f"schemas/trip_saga/{event}.json" for event in (
        "FlightBooked", "FlightCancelled", "FlightFailed", "HotelBooked", "HotelCancelled", "HotelFailed",
        "TripSagaAborted", "TripSagaCompensationFailed", "TripSagaCompleted", "TripSagaStarted")],
    "tasks/_common.py", "tasks/book_flight.py", "tasks/book_hotel.py", "tasks/requirements.txt",
    "template.yaml", "tests/conftest.py", "tests/test_trip_saga.py", "tests/trips.py",
    "workflows/inputs/flights_seed.json", "workflows/inputs/full_flight.json", "workflows/inputs/full_hotel.json",
    "workflows/inputs/hotels_seed.json", "workflows/inputs/trip.json", "workflows/trip_saga.py",
]


def init(folder: Path, *extra: str) -> int:
    return main(["init", str(folder), *extra])


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> tuple[Path, str]:
    """One TripSaga project for the tests that only read it, and what init printed."""
    import contextlib
    import io

    folder = tmp_path_factory.mktemp("made") / "trip"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert init(folder) == 0
    return folder, out.getvalue()


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}


def test_init_writes_the_reference_layout_and_says_what_to_run(made):
    folder, out = made
    assert sorted(tree(folder)) == LAYOUT
    assert out.startswith(f"created the TripSaga project in {folder} ({len(LAYOUT)} files):\n")
    assert f"  cd {folder}\n  make test " in out and requirement() in out


def test_the_project_is_the_same_bytes_every_time(made, tmp_path, capsys):
    assert init(tmp_path / "again") == 0
    assert tree(tmp_path / "again") == tree(made[0])


def test_the_name_names_the_saga_and_its_files_and_no_token_is_left(tmp_path, capsys):
    assert init(tmp_path / "p", "--name", "HolidayBooking") == 0
    files = tree(tmp_path / "p")
    assert {"workflows/holiday_booking.py", "tests/test_holiday_booking.py", "asl/holiday_booking.asl.json"} <= set(files)
    assert not any("trip_saga" in path for path in files)
    text = "\n".join(b.decode() for b in files.values())
    assert "TripSaga" not in text and "trip_saga" not in text
    assert not re.search(r"__(SAGA|STEPSAGA)_\w+__", text)
    [saga] = load(str(tmp_path / "p" / "workflows" / "holiday_booking.py"))
    assert saga.name == "HolidayBooking"
    assert "stepsaga[local]==" + __import__("stepsaga").__version__ in files["Makefile"].decode()


def test_the_generated_outputs_are_what_stepsaga_compiles_and_check_passes(made, monkeypatch, capsys):
    project = made[0]
    [saga] = load(str(project / "workflows" / "trip_saga.py"))
    assert (project / "asl" / "trip_saga.asl.json").read_text() == to_asl(saga)
    monkeypatch.chdir(project)  # as `make test` runs it: every output compared, every handler imported as on Lambda
    capsys.readouterr()
    assert check(Path("workflows"), Path("asl"), out=sys.stdout, err=sys.stderr) == 0
    assert capsys.readouterr().out.startswith("ok: 1 saga(s) in workflows/ match asl/ and template.yaml; their 4 handler(s)")
    template = (project / "template.yaml").read_text()
    assert "DefinitionUri: asl/trip_saga.asl.json" in template and "CodeUri: tasks/" in template and "CodeUri: compensations/" in template


def test_the_example_saga_has_two_compensated_steps_with_business_errors(made):
    [saga] = load(str(made[0] / "workflows" / "trip_saga.py"))
    assert [(s.name, s.compensation.name, s.business_errors) for s in saga.steps] == [
        ("BookFlight", "CancelFlight", ("InvalidTrip", "NoSeatsLeft")),
        ("BookHotel", "CancelHotel", ("InvalidTrip", "NoRoomsLeft")),
    ]
    # Each business error is an exception class of that name in the step's handler folder (Lambda's errorType).
    tasks = "\n".join((made[0] / "tasks" / f).read_text() for f in ("_common.py", "book_flight.py", "book_hotel.py"))
    for error in ("InvalidTrip", "NoSeatsLeft", "NoRoomsLeft"):
        assert f"class {error}(BusinessError)" in tasks


def test_handlers_make_their_dynamodb_resource_once_per_environment_not_at_import(made):
    for folder in ("tasks", "compensations"):
        common = (made[0] / folder / "_common.py").read_text()
        # one module-level cache, filled on first use: importing (stepsaga check, a unit test) needs no AWS settings
        assert "_resource: Any = None" in common and "if _resource is None:" in common
        assert common.count("boto3.resource(") == 1
    for handler in made[0].glob("*/[a-z]*.py"):
        assert "boto3" not in handler.read_text(), handler  # no client made per invocation in a handler


@pytest.mark.parametrize(("name", "message"), [
    ("trip", "--name 'trip': a saga's name is PascalCase (letters and digits, starting with a capital); write for example --name Trip"),
    ("my-trip saga", "write for example --name MyTripSaga"),
    ("Trip_Saga", "write for example --name TripSaga"),
    ("T" + "x" * 70, "is 71 characters long, more than 64"),
])
def test_a_bad_name_is_a_bad_call_and_writes_nothing(tmp_path, capsys, name, message):
    assert init(tmp_path / "p", "--name", name) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "p").exists()


def test_a_folder_that_is_not_empty_is_refused_and_left_as_it_was(tmp_path, capsys):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "notes.txt").write_text("mine")
    assert init(tmp_path / "p") == 2
    assert capsys.readouterr().err == (f"{tmp_path / 'p'}: is not empty (it holds notes.txt); stepsaga init writes a whole "
                                       "project, so name a new or empty folder\n")
    assert tree(tmp_path / "p") == {"notes.txt": b"mine"}


def test_a_file_is_refused(tmp_path, capsys):
    (tmp_path / "p").write_text("")
    assert init(tmp_path / "p") == 2
    assert capsys.readouterr().err == f"{tmp_path / 'p'}: is a file; name a new or empty folder for the project\n"


def test_an_empty_folder_or_one_with_only_a_git_repository_is_used(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    assert init(tmp_path / "empty") == 0 and init(tmp_path / "repo") == 0
    assert (tmp_path / "repo" / "workflows" / "trip_saga.py").is_file() and (tmp_path / "repo" / ".git").is_dir()


def test_without_the_templates_library_init_says_what_to_install_and_writes_nothing(tmp_path):
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'ruamel' or name.startswith('ruamel.'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from stepsaga.cli import main\n"
        f"sys.exit(main(['init', {str(tmp_path / 'p')!r}]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert "stepsaga init writes template.yaml and the event schemas, which need ruamel" in proc.stderr
    assert "pip install 'stepsaga[local]'" in proc.stderr
    assert not (tmp_path / "p").exists()


def test_no_package_data_file_is_left_unreplaced_or_unshipped():
    files = project_files("TripSaga")
    shipped = ROOT / "src" / "stepsaga" / "project_template"
    on_disk = sorted(p.relative_to(shipped).as_posix() for p in shipped.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    assert len(files) == len(on_disk)
    # pyproject's package-data patterns must ship every file of the template (else a wheel writes less)
    import tomllib

    from fnmatch import fnmatch

    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["stepsaga"]
    for rel in on_disk:
        path = f"project_template/{rel}"
        assert any(fnmatch(path, p) or fnmatch(path, p.replace("**/", "")) for p in patterns), f"{path} is not package data"


# --- where stepsaga comes from ------------------------------------------------------------------------------------


class _Dist:
    def __init__(self, direct_url: str | None) -> None:
        self.direct_url = direct_url

    def read_text(self, name: str) -> str | None:
        return self.direct_url if name == "direct_url.json" else None


@pytest.mark.parametrize(("direct_url", "expected"), [
    (json.dumps({"url": "file:///wheels/stepsaga-0.1.0-py3-none-any.whl", "archive_info": {}}), "/wheels/stepsaga-0.1.0-py3-none-any.whl"),
    (json.dumps({"url": "file:///src/my%20stepsaga", "dir_info": {"editable": True}}), "/src/my stepsaga"),
    (json.dumps({"url": "https://example.com/stepsaga-0.1.0.tar.gz", "archive_info": {}}), None),
    (json.dumps({"url": "file:///src/stepsaga", "vcs_info": {"vcs": "git"}}), None),
    (None, None),  # installed from an index: pip writes no direct_url.json
    ("not json", None),
])
def test_installed_from_reads_the_direct_url_pip_records(monkeypatch, direct_url, expected):
    import importlib.metadata

    monkeypatch.setattr(importlib.metadata, "distribution", lambda name: _Dist(direct_url))
    assert installed_from() == expected


def test_the_summary_says_how_to_install_a_stepsaga_that_is_not_on_an_index(monkeypatch):
    import stepsaga.new_project as new_project

    project = Project(Path("trip"), "TripSaga", "trip_saga", ("Makefile",))
    monkeypatch.setattr(new_project, "installed_from", lambda: "/w/stepsaga-0.1.0-py3-none-any.whl")
    assert "  make test STEPSAGA='/w/stepsaga-0.1.0-py3-none-any.whl[local]'\n" in project.summary("trip")
    monkeypatch.setattr(new_project, "installed_from", lambda: None)
    assert "STEPSAGA=" not in project.summary("trip")


# --- the project's Makefile -----------------------------------------------------------------------------------------


def make_n(project: Path, *args: str) -> str:
    """What `make` would run (``make -n``), without running it."""
    proc = subprocess.run(["make", "-n", "--no-print-directory", *args], cwd=project, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture
def project(made, tmp_path) -> Path:
    """A copy of the project, to run make in."""
    import shutil

    return Path(shutil.copytree(made[0], tmp_path / "p"))


def test_make_test_installs_stepsaga_from_the_requirement_into_its_venv_then_checks_and_tests(project):
    out = make_n(project, "test", "STEPSAGA=/w/stepsaga.whl[local]")
    assert "python3 -m venv .venv\n" in out
    assert ".venv/bin/python -m pip install --quiet '/w/stepsaga.whl[local]' -r requirements-dev.txt\n" in out
    assert out.endswith(".venv/bin/stepsaga check\n.venv/bin/python -m pytest\n")
    assert f"pip install --quiet '{requirement()}'" in make_n(project, "venv")  # the default: the running version


def test_make_installs_again_only_when_the_requirement_changes(project):
    (project / ".venv").mkdir()
    (project / ".venv" / ".stepsaga-requirement").write_text("stepsaga[local]==9.9\n")
    os.utime(project / ".venv" / ".stepsaga-requirement")  # newer than the requirement files
    assert "pip install" not in make_n(project, "test", "STEPSAGA=stepsaga[local]==9.9")
    assert "pip install --quiet 'stepsaga[local]==10.0'" in make_n(project, "test", "STEPSAGA=stepsaga[local]==10.0")


def test_make_with_an_empty_venv_uses_the_tools_on_path_and_installs_nothing(project):
    out = make_n(project, "test", "VENV=")
    assert out == "stepsaga check\npython -m pytest\n"
