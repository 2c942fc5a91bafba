"""``stepsaga init``: write a new saga project on the reference layout, from files shipped in the package.

The project's hand-written files are package data (``stepsaga/project_template/``), so an installed wheel writes
the same project as a source checkout: nothing is read from this repository. Three tokens are replaced, in
file names and in text: ``__SAGA_NAME__`` (the saga's PascalCase name), ``__SAGA_MODULE__`` (its snake_case
file stem, as ``stepsaga.names.snake_case`` names ``asl/<stem>.asl.json``) and ``__STEPSAGA_VERSION__``.
Then the project's generated files (``asl/``, ``template.yaml``, ``schemas/``) are written by the code behind
``stepsaga template``, from the new project's own workflow file, so ``stepsaga check`` passes there at once.

What is written depends on the saga's name and stepsaga's version only: the same call writes the same bytes.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import unquote, urlparse

import stepsaga
from stepsaga.errors import DefinitionError, InitError
from stepsaga.names import snake_case

__all__ = ["DEFAULT_NAME", "Project", "check_folder", "check_name", "create", "installed_from", "project_files", "requirement"]

#: The saga's name when ``--name`` is not given: the example books trips.
DEFAULT_NAME = "TripSaga"
#: The package-data folder holding the project's files.
TEMPLATE_DIR = "project_template"
#: What the project installs stepsaga with: the extra with everything a local command needs.
EXTRA = "local"
_TOKENS = {"name": "__SAGA_NAME__", "module": "__SAGA_MODULE__", "version": "__STEPSAGA_VERSION__"}
#: Files shipped under another name: setuptools' package-data globs skip dot files.
_SHIPPED_AS = {"gitignore": ".gitignore"}
#: What a folder may already hold: `git init` first, then `stepsaga init .`, is a usual start.
_ALLOWED_ENTRIES = frozenset({".git"})
_PASCAL = re.compile(r"[A-Z][A-Za-z0-9]*")


@dataclass(frozen=True, slots=True)
class Project:
    """A project ``create`` wrote: its folder, its saga's name and file stem, and every file, relative, sorted."""

    folder: Path
    name: str
    module: str
    files: tuple[str, ...]

    def summary(self, shown_folder: str) -> str:
        """What was written and the commands to run next; ``shown_folder`` is the folder as the user wrote it."""
        parts = [
            (f"workflows/{self.module}.py", "the saga: steps, compensations, business errors, tables"),
            ("tasks/, compensations/", "its Lambda handlers; each folder is one code folder (CodeUri)"),
            ("tests/", "pytest, on stepsaga's embedded cloud"),
            ("asl/, template.yaml, schemas/", "generated from the saga (make template writes them again)"),
        ]
        width = max(len(path) for path, _ in parts) + 3
        lines = [
            f"created the {self.name} project in {shown_folder} ({len(self.files)} files):",
            *(f"  {path.ljust(width)}{what}" for path, what in parts),
            "next:",
            f"  cd {shlex.quote(shown_folder)}",
            f"  make test    # creates .venv ({requirement()}, the handlers' requirements, pytest), then stepsaga check and pytest",
            "  make demo    # runs the saga locally: the happy path and each failure path",
        ]
        source = installed_from()
        if source is not None:
            lines += [
                f"stepsaga {stepsaga.__version__} was installed from {source}, not from a package index; install it from there:",
                f"  make test STEPSAGA={shlex.quote(source + '[' + EXTRA + ']')}",
            ]
        return "\n".join(lines) + "\n"


def requirement() -> str:
    """The pip requirement of the running stepsaga, as the new project's Makefile installs it: ``stepsaga[local]==0.1.0``."""
    return f"stepsaga[{EXTRA}]=={stepsaga.__version__}"


def installed_from() -> str | None:
    """The local wheel or folder the running stepsaga was installed from, or None (a package index, or unknown).

    Read from the distribution's ``direct_url.json``, which pip writes for a file or folder install (PEP 610:
    https://packaging.python.org/en/latest/specifications/direct-url/).
    """
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        text = distribution("stepsaga").read_text("direct_url.json")
    except PackageNotFoundError:
        return None
    try:
        found = json.loads(text) if text else None
    except ValueError:
        return None
    url = urlparse(found.get("url", "")) if isinstance(found, dict) and isinstance(found.get("url"), str) else None
    if url is None or url.scheme != "file" or "vcs_info" in found:
        return None
    return unquote(url.path)


def check_name(name: str) -> str:
    """The saga name, if ``stepsaga init`` can use it: PascalCase, and a valid saga name; else ``InitError``."""
    if not _PASCAL.fullmatch(name):
        hint = re.sub(r"[^A-Za-z0-9]+", " ", name).title().replace(" ", "")
        hint = hint if _PASCAL.fullmatch(hint) else DEFAULT_NAME
        raise InitError(f"--name {name!r}: a saga's name is PascalCase (letters and digits, starting with a capital); "
                        f"write for example --name {hint}")
    from stepsaga.model import Saga, Step

    try:  # the model is the one judge of a saga's name (its length, among others)
        Saga(name, steps=[Step("Probe", action="tasks.probe.handler")])
    except DefinitionError as exc:
        raise InitError(f"--name {name!r}: " + "; ".join(str(p) for p in exc.problems)) from None
    return name


def check_folder(folder: Path) -> None:
    """Raise ``InitError`` unless ``folder`` is missing, or an empty folder (``.git`` alone counts as empty)."""
    if folder.exists() and not folder.is_dir():
        raise InitError(f"{folder}: is a file; name a new or empty folder for the project")
    if not folder.exists():
        return
    try:
        entries = sorted(set(os.listdir(folder)) - _ALLOWED_ENTRIES)
    except OSError as exc:
        raise InitError(f"{folder}: cannot read: {exc.strerror}") from None
    if entries:
        shown = ", ".join(entries[:3]) + (f" and {len(entries) - 3} more" if len(entries) > 3 else "")
        raise InitError(f"{folder}: is not empty (it holds {shown}); stepsaga init writes a whole project, so name a new "
                        "or empty folder")


def _shipped() -> dict[str, str]:
    """The package-data files of the project: path relative to the template folder (posix) -> text."""
    out: dict[str, str] = {}

    def walk(node: resources.abc.Traversable, prefix: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            if child.name == "__pycache__" or child.name.endswith(".pyc"):
                continue  # left by a run of the template's own files in a source checkout: not the project's
            if child.is_dir():
                walk(child, prefix + child.name + "/")
            else:
                out[prefix + child.name] = child.read_text(encoding="utf-8")

    walk(resources.files(stepsaga) / TEMPLATE_DIR, "")
    return out


def project_files(name: str) -> dict[str, str]:
    """The project's hand-written files for saga ``name`` (checked): relative posix path -> text, sorted by path."""
    values = {_TOKENS["name"]: check_name(name), _TOKENS["module"]: snake_case(name), _TOKENS["version"]: stepsaga.__version__}

    def fill(text: str) -> str:
        for token, value in values.items():
            text = text.replace(token, value)
        return text

    out = {}
    for rel, text in _shipped().items():
        head, _, base = rel.rpartition("/")
        path = fill((head + "/" if head else "") + _SHIPPED_AS.get(base, base))
        out[path] = fill(text)
    return dict(sorted(out.items()))


def _needs() -> None:
    """Raise ``InitError`` before anything is written when the generators' libraries are missing."""
    try:
        import stepsaga.choreography.schema_files  # noqa: F401  (the event schemas: pydantic, aws-lambda-powertools)
        import stepsaga.choreography.schemas  # noqa: F401
        import stepsaga.sam  # noqa: F401  (template.yaml: ruamel.yaml)
    except ModuleNotFoundError as exc:
        raise InitError(f"stepsaga init writes template.yaml and the event schemas, which need {exc.name}: "
                        f"pip install 'stepsaga[{EXTRA}]'") from None


def create(folder: str | Path, name: str = DEFAULT_NAME) -> Project:
    """Write a project for saga ``name`` into ``folder`` (created if missing) and return what was written.

    Raises ``InitError`` (nothing written) for a bad name, a folder that is a file or not empty, or missing
    libraries, and when the folder cannot be created or written.
    """
    folder = Path(folder)
    files = project_files(name)
    check_folder(folder)
    _needs()
    written = []
    try:
        for rel, text in files.items():
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
            written.append(rel)
    except OSError as exc:
        raise InitError(f"{exc.filename or folder}: cannot write: {exc.strerror}") from None
    written += _generate(folder, snake_case(name))
    return Project(folder, name, snake_case(name), tuple(sorted(written)))


def _generate(folder: Path, module: str) -> list[str]:
    """Write what ``stepsaga template`` writes for the project's saga; the paths written, relative to ``folder``."""
    from stepsaga.choreography.schema_files import sync_schemas
    from stepsaga.loader import import_target, sagas_in
    from stepsaga.names import SCHEMAS_DIR
    from stepsaga.sam import Layout, sync_asl, sync_file, sync_layer

    workflow = folder / "workflows" / f"{module}.py"
    sagas = sagas_in(import_target(str(workflow)), where=str(workflow))
    layout = Layout(folder / "template.yaml", folder / "asl", project=folder)
    paths = [path for path, _ in sync_asl(layout, sagas) + sync_layer(layout, sagas)]
    sync_file(layout, sagas, prune=True)
    paths.append(layout.template)
    paths += [path for path, _ in sync_schemas(folder / SCHEMAS_DIR, sagas)]
    return [path.relative_to(folder).as_posix() for path in paths]
