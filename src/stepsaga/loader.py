"""Find sagas in workflow files: ``PATH[:ATTR]`` or ``package.module[:ATTR]``."""

from __future__ import annotations

import importlib
import os
import re
import sys

TYPE_CHECKING = False  # pathlib and typing cost ~8 ms of import; this module is on the compile path
if TYPE_CHECKING:
    from pathlib import Path
    from types import ModuleType

from stepsaga.errors import LoadError
from stepsaga.model import Saga


def snake_case(name: str) -> str:
    """OrderSaga -> order_saga: the file stem of a saga's compiled outputs."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def split_target(target: str) -> tuple[str, str | None]:
    """Split ``PATH[:ATTR]`` into its parts (a Windows drive letter is not an ATTR)."""
    head, sep, attr = target.rpartition(":")
    if sep and head and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", attr):
        return head, attr
    return target, None


def import_target(where: str) -> ModuleType:
    """Import a workflow module from a file path or a dotted module name."""
    if where.endswith(".py") or os.path.exists(where):
        if not os.path.isfile(where):
            raise LoadError(f"{where}: no such file")
        try:
            with open(where, "rb"):
                pass
        except OSError as exc:
            raise LoadError(f"{where}: cannot read: {exc.strerror}") from exc
        path = os.path.abspath(where)
        name = "stepsaga_workflow_" + re.sub(r"\W", "_", os.path.splitext(path)[0])
        if name in sys.modules:
            return sys.modules[name]
        # SourceFileLoader directly: importlib.util costs ~2 ms of import on the compile path.
        from importlib.machinery import SourceFileLoader

        loader = SourceFileLoader(name, path)
        module = type(sys)(name)
        module.__file__, module.__loader__ = path, loader
        sys.modules[name] = module
        try:
            loader.exec_module(module)
        except BaseException:
            sys.modules.pop(name, None)
            raise
        return module
    try:
        return importlib.import_module(where)
    except ModuleNotFoundError as exc:
        if exc.name and where.startswith(exc.name):
            raise LoadError(f"{where}: no such file or module") from exc
        raise


def sagas_in(module: ModuleType, attr: str | None = None, where: str = "") -> list[Saga]:
    """The sagas a module defines at top level, or the one named by ATTR."""
    label = where or module.__name__
    if attr is not None:
        value = getattr(module, attr, None)
        if not isinstance(value, Saga):
            found = ", ".join(n for n, v in vars(module).items() if isinstance(v, Saga)) or "none"
            raise LoadError(f"{label}: {attr} is not a Saga (sagas defined here: {found})")
        return [value]
    sagas: list[Saga] = []
    for value in vars(module).values():
        if isinstance(value, Saga) and all(value is not s for s in sagas):
            sagas.append(value)
    return sagas


def load(target: str) -> list[Saga]:
    """Every saga named by a CLI target."""
    where, attr = split_target(target)
    return sagas_in(import_target(where), attr, where)


def workflow_files(directory: Path) -> list[Path]:
    """The workflow modules in a folder, sorted, skipping private and package files."""
    return sorted(p for p in directory.glob("*.py") if not p.name.startswith("_"))
