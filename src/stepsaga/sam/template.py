"""template.yaml from the saga definitions: generate it, update it in place, and check it.

Generated resources carry ``Metadata: {stepsaga: {saga: <Saga>}}``; the state machine's also lists
the generated Outputs. Regenerating replaces exactly those entries and keeps everything else in the
file (see ``stepsaga.sam.sync``), so running it twice changes nothing.

Imported only by ``stepsaga template`` and ``stepsaga check``: it needs ruamel.yaml (the ``deploy`` extra).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stepsaga.model import HttpTrigger, Saga
from stepsaga.names import PLACEHOLDER_PATTERN, asl_file_name, substitution
from stepsaga.output_files import write_if_changed
from stepsaga.sam import adapter_layer
from stepsaga.sam.adapter_layer import PROJECT_LAYER, REQUIREMENTS, project_layer_text
from stepsaga.sam.resources import MARKER, GeneratedSaga, generate
from stepsaga.sam.schema_bounds import unbounded
from stepsaga.sam.sync import TemplateError, emit, ensure_transform, load, plain, plain_load, update_section

__all__ = ["TemplateError", "Layout", "adapter_layer_folder", "render", "sync_file", "sync_asl", "sync_layer", "layer_problems", "substitution_problems", "generated_owners", "schema_warnings"]

_PLACEHOLDER = re.compile(PLACEHOLDER_PATTERN)
#: The adapter layer's run-time requirements, in its folder (SAM installs them into the layer).
LAYER_REQUIREMENTS = REQUIREMENTS
_HEADER = (
    "# Deploys the sagas in workflows/ with AWS SAM. `stepsaga template` regenerates the resources\n"
    "# marked `Metadata: stepsaga` (and the Outputs their state machine lists); everything else is yours\n"
    "# and is kept as written. `stepsaga check` fails when this file is out of date.\n"
)


def _posix_relpath(path: Path, start: Path) -> str:
    return Path(os.path.relpath(path.resolve(), start.resolve())).as_posix()


def adapter_layer_folder() -> Path | None:
    """The source folder the choreography's adapter layer is built from: the parent of the installed ``stepsaga``.

    In this repository (and any editable install) that is ``src/``, which holds the package and the layer's
    ``requirements.txt``. A wheel installed in site-packages has neither alone: None, and ``Layout`` uses the
    project's own layer folder instead (``stepsaga.sam.adapter_layer``).
    """
    return adapter_layer.source_folder()


class Layout:
    """Where things are: the template, the compiled ASL folder, the handlers' project root, the adapter layer."""

    __slots__ = ("template", "asl", "project", "layer")

    def __init__(self, template: Path, asl: Path, project: Path | None = None, layer: Path | None = None) -> None:
        self.template, self.asl, self.project = Path(template), Path(asl), Path(project or ".")  # ".": paths print as the user wrote them
        self.layer = Path(layer) if layer is not None else None

    def asl_file(self, saga: Saga) -> Path:
        """The saga's compiled ASL file."""
        return self.asl / asl_file_name(saga.name)

    def definition_uri(self, saga: Saga) -> str:
        """The saga's ASL file, relative to the template's folder as SAM resolves it."""
        return _posix_relpath(self.asl_file(saga), self.template.parent)

    def code_uri(self, package: str) -> str:
        """A handler package's folder (its own Lambda CodeUri), relative to the template's folder."""
        rel = _posix_relpath(self.project / package, self.template.parent)
        return rel if rel.endswith("/") else rel + "/"

    def layer_folder(self) -> Path:
        """The adapter layer's folder: the one given, else stepsaga's source folder, else the project's ``layers/stepsaga/``.

        SAM builds it with ``BuildMethod: python3.12``: the folder's content goes to ``/opt/python`` and its
        ``requirements.txt`` is installed beside it. A folder given (``layer=``) must hold ``stepsaga/`` and that file.
        """
        if self.layer is None:
            return adapter_layer_folder() or self.project / PROJECT_LAYER
        missing = [name for name in ("stepsaga/__init__.py", LAYER_REQUIREMENTS) if not (self.layer / name).is_file()]
        if missing:
            raise TemplateError(
                f"{self.layer}: the choreography's adapter layer is built from this folder, which has no {missing[0]}; "
                f"name a folder holding stepsaga/ and {LAYER_REQUIREMENTS}, or leave layer= out")
        return self.layer

    def layer_file(self) -> tuple[Path, str] | None:
        """The project layer's ``requirements.txt`` and its text, when the layer is the project's own; else None."""
        folder = self.layer_folder()
        if self.layer is None and folder == self.project / PROJECT_LAYER:
            return folder / LAYER_REQUIREMENTS, project_layer_text()
        return None

    def layer_uri(self) -> str:
        """The adapter layer's folder (its ``ContentUri``), relative to the template's folder."""
        rel = _posix_relpath(self.layer_folder(), self.template.parent)
        return rel if rel.endswith("/") else rel + "/"

    def generate(self, sagas: Sequence[Saga]) -> list[GeneratedSaga]:
        """The generated resources and outputs of each saga."""
        return [generate(s, self.definition_uri(s), self.code_uri, layer_uri=self.layer_uri() if "choreography" in s.modes else None)
                for s in sagas]


def generated_owners(doc: Any) -> tuple[dict[str, str], dict[str, list[str]]]:
    """(generated resource -> its saga, saga -> the outputs its state machine lists)."""
    resources: dict[str, str] = {}
    outputs: dict[str, list[str]] = {}
    section = doc.get("Resources")
    for key, res in (section.items() if isinstance(section, dict) else ()):
        mark = res.get("Metadata", {}).get(MARKER) if isinstance(res, dict) and isinstance(res.get("Metadata"), dict) else None
        if isinstance(mark, dict) and isinstance(mark.get("saga"), str):
            resources[str(key)] = mark["saga"]
            if isinstance(mark.get("outputs"), list):
                outputs.setdefault(mark["saga"], []).extend(str(o) for o in mark["outputs"])
    return resources, outputs


def _skeleton(generated: Sequence[GeneratedSaga]) -> str:
    if len(generated) == 1 and generated[0].saga.comment:
        description = generated[0].saga.comment
    else:
        description = "Sagas on AWS Step Functions, generated by stepsaga"
    lines = ["AWSTemplateFormatVersion: '2010-09-09'", "Transform: AWS::Serverless-2016-10-31", *emit("Description", description, 0)]
    return _HEADER + "\n".join(lines) + "\n"


def render(text: str | None, generated: Sequence[GeneratedSaga], *, prune: bool, where: str = "template.yaml") -> str:
    """The template text with the given sagas' entries regenerated; ``prune`` also drops sagas not given."""
    text = text if text and text.strip() else _skeleton(generated)
    if not text.endswith("\n"):
        text += "\n"
    doc = load(text, where)
    fixed = ensure_transform(text, doc, where)
    if fixed != text:
        text, doc = fixed, load(fixed, where)
    owners, old_outputs = generated_owners(doc)
    given = {g.saga.name for g in generated}
    dropped = {s for s in set(owners.values()) | set(old_outputs) if s not in given} if prune else set()
    affected = given | dropped
    stale_resources = {k for k, s in owners.items() if s in affected}
    stale_outputs = {o for s, names in old_outputs.items() if s in affected for o in names}
    text = update_section(text, doc, "Resources", {g.saga.name: g.resources for g in generated}, stale_resources, ("Outputs",), where)
    text = update_section(text, load(text, where), "Outputs", {g.saga.name: g.outputs for g in generated}, stale_outputs, (), where)
    return text


def sync_file(layout: Layout, sagas: Sequence[Saga], *, prune: bool) -> bool:
    """Write the template for these sagas; True when the file changed."""
    path = layout.template
    try:
        old = path.read_text(encoding="utf-8") if path.exists() else None
    except OSError as exc:
        raise TemplateError(f"{path}: cannot read: {exc.strerror}") from None
    new = render(old, layout.generate(sagas), prune=prune, where=str(path))
    return new != old and write_if_changed(path, new)


def sync_asl(layout: Layout, sagas: Sequence[Saga]) -> list[tuple[Path, bool]]:
    """Compile each saga to the file its ``DefinitionUri`` names: (path, True when it was written).

    The template is only deployable with its ASL beside it, and the ASL is a function of the saga, so
    writing both together means ``DefinitionUri`` never points at a missing or stale file.
    Raises ``LintError`` for ASL the linter rejects, ``TemplateError`` when a file cannot be written.
    """
    from stepsaga.orchestration import to_asl

    out: list[tuple[Path, bool]] = []
    for saga in sagas:
        path = layout.asl_file(saga)
        out.append((path, write_if_changed(path, to_asl(saga))))
    return out


def sync_layer(layout: Layout, sagas: Sequence[Saga]) -> list[tuple[Path, bool]]:
    """Write the project's adapter layer file when a saga deploys a choreography and stepsaga is not installed from
    source: [(path, True when it was written)], or [] when there is none to write (``stepsaga.sam.adapter_layer``)."""
    if not any("choreography" in s.modes for s in sagas):
        return []
    found = layout.layer_file()
    return [] if found is None else [(found[0], write_if_changed(*found))]


def layer_problems(layout: Layout, sagas: Sequence[Saga]) -> list[str]:
    """Why the project's adapter layer file is not what ``stepsaga template`` writes: [] when it is, or there is none."""
    if not any("choreography" in s.modes for s in sagas):
        return []
    found = layout.layer_file()
    if found is None:
        return []
    path, text = found
    if not path.is_file():
        return [f"{path} is missing: the choreography's adapter layer is built from it; run: stepsaga template"]
    if path.read_text(encoding="utf-8") != text:
        return [f"{path} is out of date with the stepsaga that runs (its version, or what its adapter needs); run: stepsaga template"]
    return []


def schema_warnings(saga: Saga) -> list[str]:
    """One line per way an HTTP trigger lets a request body grow without bound (``stepsaga.sam.schema_bounds``)."""
    out: list[str] = []
    for i, trigger in enumerate(saga.triggers):
        if not isinstance(trigger, HttpTrigger):
            continue
        where = f"saga {saga.name}: triggers[{i}].schema"
        if trigger.schema is None:
            out.append(f"{where} is not set: any JSON body up to API Gateway's 10 MB starts an execution; give the trigger a bounded schema")
            continue
        out.extend(f"{where}: {line}" for line in unbounded(trigger.schema))
    return out


def substitution_problems(text: str, template_dir: Path, where: str = "template.yaml") -> list[str]:
    """Every state machine whose ASL placeholders and DefinitionSubstitutions disagree, one line each."""
    doc = plain_load(text, where)
    problems: list[str] = []
    section = doc.get("Resources")
    for key, res in (section.items() if isinstance(section, dict) else ()):
        if not isinstance(res, dict) or res.get("Type") != "AWS::Serverless::StateMachine":
            continue
        props = res.get("Properties") or {}
        uri = props.get("DefinitionUri")
        if not isinstance(uri, str) or uri.startswith("s3://"):
            continue  # an S3 or inline definition is not ours to read
        asl = template_dir / uri
        if not asl.is_file():
            problems.append(f"{where}: {key}: DefinitionUri {uri} does not exist; compile the saga, or fix the path")
            continue
        used = set(_PLACEHOLDER.findall(asl.read_text(encoding="utf-8")))
        subs = props.get("DefinitionSubstitutions") or {}
        given = set(subs) if isinstance(subs, dict) else set()
        for name in sorted(used - given):
            problems.append(f"{where}: {key}: {uri} uses {substitution(name)}, but DefinitionSubstitutions has no {name}; add it, or run: stepsaga template")
        for name in sorted(given - used):
            problems.append(f"{where}: {key}: DefinitionSubstitutions has {name}, which {uri} never uses; remove it, or run: stepsaga template")
    return problems
