"""The parsed ASL kept on disk, so that a new process (``stepsaga run``, a test worker) does not parse it again.

moto parses a definition with its ANTLR grammar (``asl/parse/asl_parser.py``): about 0.3 to 0.5 s for the
order saga, plus about 0.15 s to import the generated lexer and parser, in every new process, which is most
of what ``stepsaga run`` spends before its first state after the imports. ``programs.py`` already parses a
definition once per process; this module keeps that parse across processes: the ``Program`` moto builds is
a tree of plain objects (moto's components, enums, strings, numbers), pickled right after the parse, before
any evaluation has set a component's lazy ``heap_key``, and read back as a new tree of the same types and
values.

An entry is named by a SHA-256 of everything the parse depends on: the definition text, moto's version
(pinned, since its internals are used), Python's version and the pickle protocol. A definition moto
rejects is never cached: it is parsed (and rejected) every time. Anything that goes wrong with the cache
(an unwritable folder, a damaged or foreign file) costs only the parse.

Where: ``STEPSAGA_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/stepsaga`` (``~/.cache/stepsaga``), in its
``programs/`` folder, made readable by its owner only. A file is read only if the current user owns it and
nobody else may write it or its folder, since unpickling runs code named by the file.
``STEPSAGA_PROGRAM_CACHE=0`` turns the cache off (every new process parses), and ``install(fast=False)``
parses as stock moto does, without ``programs.py`` at all.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import stat
import sys
import tempfile
from collections.abc import Callable
from typing import Any, Final

#: Set to ``0`` to parse in every process; any other value (or none) keeps the cache.
CACHE_ENV: Final = "STEPSAGA_PROGRAM_CACHE"
#: The folder of stepsaga's caches (``programs/`` in it); default ``$XDG_CACHE_HOME/stepsaga``.
CACHE_DIR_ENV: Final = "STEPSAGA_CACHE_DIR"
_PROTOCOL: Final = pickle.HIGHEST_PROTOCOL

#: Reads answered from the cache, and parses written to it (the tests read them).
stats = {"hits": 0, "writes": 0}


def folder() -> str:
    """The folder holding the cached parses: ``<STEPSAGA_CACHE_DIR or $XDG_CACHE_HOME/stepsaga>/programs``."""
    base = os.environ.get(CACHE_DIR_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "stepsaga")
    return os.path.join(base, "programs")


def key(definition: str) -> str:
    """The entry name of a definition: a hex SHA-256 of the text and of what its parse depends on."""
    from moto import __version__ as moto_version

    digest = hashlib.sha256()
    for part in (f"moto {moto_version}", f"python {sys.version}", f"pickle {_PROTOCOL}", definition):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


def parsed(definition: str, parse: Callable[[str], Any]) -> Any:
    """``parse(definition)``, read from the cache when an earlier process wrote it, else parsed and written.

    ``parse`` raises what it raises for a definition it rejects; such a definition is never cached.
    """
    if os.environ.get(CACHE_ENV, "1") == "0":
        return parse(definition)
    path = os.path.join(folder(), key(definition) + ".pickle")
    program = _read(path)
    if program is not None:
        stats["hits"] += 1
        return program
    program = parse(definition)
    _write(path, program)
    return program


def _trusted(path: str) -> bool:
    """Whether ``path`` and its folder belong to this user and nobody else may write them."""
    if not hasattr(os, "getuid"):  # no owners to check (Windows): the folder is the user's own profile
        return True
    uid = os.getuid()
    for where in (path, os.path.dirname(path)):
        info = os.lstat(where)
        if info.st_uid != uid or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) or stat.S_ISLNK(info.st_mode):
            return False
    return True


def _read(path: str) -> Any:
    try:
        if not _trusted(path):
            return None
        with open(path, "rb") as fh:
            return pickle.load(fh)
    except Exception:  # noqa: BLE001 - no entry, or one that cannot be read back: parse instead
        return None


def _write(path: str, program: Any) -> None:
    try:
        blob = pickle.dumps(program, protocol=_PROTOCOL)
    except Exception:  # noqa: BLE001 - a Program holding something pickle cannot write: not cached
        return
    where = os.path.dirname(path)
    try:
        os.makedirs(where, mode=0o700, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=where, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(blob)
            os.replace(temporary, path)  # atomic: a concurrent reader sees no entry or the whole entry
        except BaseException:
            os.unlink(temporary)
            raise
        stats["writes"] += 1
    except OSError:  # a read-only or full disk: the next process parses again
        return
