"""From a built wheel in a fresh venv: ``stepsaga init``, then the new project's ``make test``, passes (issue 11.1).

Nothing of this checkout is reachable: the wheel is built from a copy of its sources, installed with its ``local``
extra into a new venv, and the project is written and tested in a temporary folder, by that venv's stepsaga only.
The project's ``make test`` installs its own requirements (``STEPSAGA``, requirements-dev.txt) into that venv
(``VENV=``), so the test makes one venv, not two. It needs the package index for the dependencies; pip's cache
makes a second run cheap. Then the saga is switched to ``mode="both"``: ``stepsaga template`` and ``stepsaga check``
work there too, with the adapter layer in the project's own folder.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], cwd: Path, env: dict[str, str], what: str) -> str:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"{what} failed ({' '.join(args)}):\n{proc.stdout[-6000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout


def test_a_wheel_in_a_fresh_venv_inits_a_project_whose_make_test_passes(tmp_path):
    # A clean environment: no PYTHONPATH, no pytest variables, and not this checkout's venv on PATH.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHONPATH", "VIRTUAL_ENV"))}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if Path(p) != Path(sys.executable).parent)

    sources = tmp_path / "sources"
    shutil.copytree(ROOT / "src", sources / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, sources / name)
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path / "dist"), str(sources)], tmp_path, env,
        "building the wheel")
    [wheel] = (tmp_path / "dist").glob("stepsaga-*-py3-none-any.whl")

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], tmp_path, env, "making the venv")
    python, stepsaga = venv / "bin" / "python", venv / "bin" / "stepsaga"
    requirement = f"{wheel}[local]"
    run([str(python), "-m", "pip", "install", "--quiet", "--no-compile", requirement], tmp_path, env,
        "installing the wheel (the package index must be reachable)")
    where = run([str(python), "-c", "import stepsaga; print(stepsaga.__file__)"], tmp_path, env, "importing stepsaga")
    assert Path(where.strip()).is_relative_to(venv), where  # the wheel's stepsaga, not this checkout's

    out = run([str(stepsaga), "init", "trip"], tmp_path, env, "stepsaga init")
    assert f"  make test STEPSAGA='{requirement}'" in out  # it says how to install the stepsaga it came from
    project = tmp_path / "trip"
    out = run(["make", "test", f"VENV={venv}", f"STEPSAGA={requirement}", f"PYTHON={sys.executable}"], project, env,
              "the new project's make test")
    assert f"pip install --quiet '{requirement}' -r requirements-dev.txt" in out
    assert "ok: 1 saga(s) in workflows/ match asl/ and template.yaml; their 4 handler(s) import as on Lambda" in out
    [summary] = [line for line in out.splitlines() if " passed" in line]
    assert re.search(r"=+ \d+ passed in [\d.]+s", summary), summary  # nothing failed, skipped or errored
    assert (venv / ".stepsaga-requirement").read_text() == requirement + "\n"

    # The same saga deployed as a choreography too: its adapter layer is the project's own folder, whose
    # requirements name this stepsaga (a wheel has no source folder to build the layer from).
    workflow = project / "workflows" / "trip_saga.py"
    workflow.write_text(workflow.read_text().replace('    tables=[Table("flights"', '    mode="both",\n    tables=[Table("flights"', 1))
    run([str(stepsaga), "template"], project, env, "stepsaga template, mode both")
    out = run([str(stepsaga), "check"], project, env, "stepsaga check, mode both")
    assert out.startswith("ok: 1 saga(s)"), out
    layer = (project / "layers" / "stepsaga" / "requirements.txt").read_text()
    version = run([str(python), "-c", "import stepsaga; print(stepsaga.__version__)"], tmp_path, env, "reading the version").strip()
    assert f"\nstepsaga=={version}\naws-lambda-powertools" in layer
    assert "ContentUri: layers/stepsaga/" in (project / "template.yaml").read_text()

