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


def split_target(target: str) -> tuple[str, str | None]:
    """Split ``PATH[:ATTR]`` into its parts (a Windows drive letter is not an ATTR)."""
    head, sep, attr = target.rpartition(":")
    if sep and head and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", attr):
        return head, attr
    return target, None


def import_target(where: str) -> ModuleType:
    """Import a workflow module from a file path or a dotted module name."""
    if where.endswith(".py") or os.path.exists(where):
        if os.path.isdir(where):
            files = workflow_files_in(where)
            example = f"; for example {files[0]}" if files else ""
            raise LoadError(f"{where}: is a folder; name a workflow file{example}")
        if not os.path.isfile(where):
            raise LoadError(f"{where}: {'no such file' if not os.path.exists(where) else 'not a regular file'}")
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
    return [saga for _, saga in _defined(module, attr, where, (Saga,), "a Saga (sagas defined here")]  # type: ignore[misc]


def definitions_in(module: ModuleType, attr: str | None = None, where: str = "") -> list[tuple[str, object]]:
    """The sagas and the builder-made state machines (``stepsaga.asl.builder.StateMachine``) a module defines at
    top level, or the one named by ATTR, each with the variable that holds it: ``[("saga", Saga(...)), ...]``."""
    # A module that made a StateMachine imported the builder, so the builder is in sys.modules then; a module
    # of sagas alone does not pay for importing it.
    builder = sys.modules.get("stepsaga.asl.builder")
    kinds = (Saga, builder.StateMachine) if builder is not None else (Saga,)
    return _defined(module, attr, where, kinds, "a Saga or a StateMachine (defined here")


def _defined(module: ModuleType, attr: str | None, where: str, kinds: tuple[type, ...], what: str) -> list[tuple[str, object]]:
    """(variable, value) for each top-level value of one of ``kinds``, each value once; or the one ATTR names."""
    if attr is not None:
        value = getattr(module, attr, None)
        if not isinstance(value, kinds):
            found = ", ".join(n for n, v in vars(module).items() if isinstance(v, kinds)) or "none"
            raise LoadError(f"{where or module.__name__}: {attr} is not {what}: {found})")
        return [(attr, value)]
    out: list[tuple[str, object]] = []
    for name, value in vars(module).items():
        if isinstance(value, kinds) and all(value is not v for _, v in out):
            out.append((name, value))
    return out


def load(target: str) -> list[Saga]:
    """Every saga named by a CLI target."""
    where, attr = split_target(target)
    return sagas_in(import_target(where), attr, where)


def workflow_files(directory: Path) -> list[Path]:
    """The workflow modules in a folder, sorted, skipping private and package files."""
    return sorted(p for p in directory.glob("*.py") if not p.name.startswith("_"))


def workflow_files_in(directory: str) -> list[str]:
    """``workflow_files`` without pathlib (kept off the compile path), as strings."""
    names = sorted(n for n in os.listdir(directory) if n.endswith(".py") and not n.startswith("_"))
    return [os.path.join(directory, n) for n in names]


def blame(exc: BaseException) -> tuple[str, bool]:
    """Where an unexpected exception comes from, as ``file:line``, and whether that is the user's code.

    The innermost frame that is neither a library's (the standard library, installed packages,
    importlib's frozen modules) nor stepsaga's own decides: a user's file means a rejected
    definition; none means a bug of ours. stepsaga is recognised by its installed package folder,
    not by a name in the path, so a project in ``/tmp/mystepsaga_app`` is the user's.
    """
    import sysconfig
    import traceback

    import stepsaga

    ours = os.path.dirname(os.path.abspath(stepsaga.__file__)) + os.sep
    libraries = tuple({os.path.abspath(p) + os.sep for k in ("stdlib", "platstdlib", "purelib", "platlib") if (p := sysconfig.get_paths().get(k))})
    if isinstance(exc, SyntaxError) and exc.filename and not os.path.abspath(exc.filename).startswith((ours, *libraries)):
        return f"{exc.filename}:{exc.lineno}", True
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        path = os.path.abspath(frame.filename)
        if path.startswith(ours):
            return f"{frame.filename}:{frame.lineno}", False
        if frame.filename.startswith("<") or path.startswith(libraries):
            continue
        return f"{frame.filename}:{frame.lineno}", True
    tb = traceback.extract_tb(exc.__traceback__)
    return (f"{tb[-1].filename}:{tb[-1].lineno}" if tb else "stepsaga"), False
