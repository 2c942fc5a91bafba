"""The choreography's adapter layer when stepsaga is installed from a wheel: the project's own ``layers/stepsaga/``.

From source (this checkout, an editable install) the layer is ``src/``; ``tests/unit/test_choreography_template.py``
covers that. Here ``source_folder`` is made to find none, as in a wheel's site-packages (which
``tests/functional/test_init_from_wheel.py`` runs for real).
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

import stepsaga
from stepsaga.check import check
from stepsaga.cli import main
from stepsaga.sam import Layout, plain
from stepsaga.sam import adapter_layer

ROOT = Path(__file__).resolve().parents[2]

BOTH = '''
from stepsaga import Compensation, Saga, Step, Table

saga = Saga("ParcelSaga", mode="both", tables=[Table("parcels", partition_key="pk")], steps=[
    Step("Pack", "tasks.pack.handler", tables=["parcels"],
         compensation=Compensation("Unpack", "compensations.unpack.handler", tables=["parcels"])),
    Step("Ship", "tasks.ship.handler", retriable=True),
])
'''


@pytest.fixture
def wheel_install(monkeypatch):
    """As if stepsaga were installed from a wheel: no source folder beside the package."""
    monkeypatch.setattr(adapter_layer, "source_folder", lambda: None)


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    for folder, module in (("tasks", "pack"), ("tasks", "ship"), ("compensations", "unpack")):
        (tmp_path / folder).mkdir(exist_ok=True)
        (tmp_path / folder / f"{module}.py").write_text("def handler(event, context):\n    return {}\n")
    (tmp_path / "workflows").mkdir()
    (tmp_path / "workflows" / "parcel_saga.py").write_text(BOTH)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_from_source_the_layer_is_the_folder_of_the_package():
    assert adapter_layer.source_folder() == ROOT / "src"


def test_the_requirements_name_this_stepsaga_and_the_handlers_extra_without_boto3():
    text = adapter_layer.project_layer_text()
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert lines[0] == f"stepsaga=={stepsaga.__version__}"
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["handlers"]
    wanted = {r.split(">")[0].split("<")[0]: set(r[len(r.split(">")[0].split("<")[0]):].split(",")) for r in extra if not r.startswith("boto3")}
    found = {r.split(">")[0].split("<")[0]: set(r[len(r.split(">")[0].split("<")[0]):].split(",")) for r in lines[1:]}
    assert found == wanted  # the same names and specifiers (the metadata orders specifiers its own way)


def test_installed_from_a_wheel_the_layer_is_the_projects_own_folder(wheel_install, project):
    from stepsaga.loader import load

    [saga] = load("workflows/parcel_saga.py")
    layout = Layout(Path("template.yaml"), Path("asl"))
    assert layout.layer_folder().resolve() == project / "layers" / "stepsaga"
    [generated] = layout.generate([saga])
    res = plain(generated.resources)
    assert res["ParcelSagaAdapterLayer"]["Properties"]["ContentUri"] == "layers/stepsaga/"
    # The saga log's function has no user code: it is built from the same folder.
    log = [r for r in res.values() if r["Type"] == "AWS::Serverless::Function"
           and r["Properties"].get("Handler") == "stepsaga.choreography.projection.handler"]
    assert [f["Properties"]["CodeUri"] for f in log] == ["layers/stepsaga/"]


def test_template_writes_the_layer_file_and_check_compares_it(wheel_install, project, capsys):
    assert main(["template"]) == 0
    assert "wrote layers/stepsaga/requirements.txt" in capsys.readouterr().err
    layer = project / "layers" / "stepsaga" / "requirements.txt"
    assert layer.read_text() == adapter_layer.project_layer_text()
    assert check(Path("workflows"), Path("asl"), out=sys.stdout, err=sys.stderr) == 0
    capsys.readouterr()

    layer.write_text(layer.read_text().replace(f"stepsaga=={stepsaga.__version__}", "stepsaga==0.0.1"))
    assert check(Path("workflows"), Path("asl"), out=sys.stdout, err=sys.stderr) == 1
    assert (f"{Path('layers/stepsaga/requirements.txt')} is out of date with the stepsaga that runs (its version, or what its "
            "adapter needs); run: stepsaga template") in capsys.readouterr().err
    layer.unlink()
    assert check(Path("workflows"), Path("asl"), out=sys.stdout, err=sys.stderr) == 1
    assert "layers/stepsaga/requirements.txt is missing" in capsys.readouterr().err
    assert main(["template"]) == 0 and layer.read_text() == adapter_layer.project_layer_text()


def test_an_orchestration_needs_no_layer_file(wheel_install, project, capsys):
    (project / "workflows" / "parcel_saga.py").write_text(BOTH.replace('mode="both", ', ""))
    assert main(["template"]) == 0
    assert not (project / "layers").exists()
    assert check(Path("workflows"), Path("asl"), out=sys.stdout, err=sys.stderr) == 0
