"""Each Lambda function of each embedded cloud in its own sandbox: its own modules, its own environment.

On Lambda every function has its own execution environment: its code folder is the import root
(``/var/task``), the handler's module is imported by its top-level name, and ``os.environ`` holds that
function's variables and nothing of any other function's
(https://docs.aws.amazon.com/lambda/latest/dg/python-handler.html,
https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html). Here many functions of many
clouds share one interpreter, so a ``LocalFunction`` keeps, per function:

- its modules, loaded from its code folder with the finder below and kept out of ``sys.modules``
  between its runs: ``tasks/_common.py`` and ``compensations/_common.py``, or two clouds' copies of
  one module, never meet; a module reached only through the project root (``from tasks._common
  import x``) fails with ``No module named 'tasks'``, as it does on Lambda;
- its environment, which ``os.environ`` shows while the function's code runs (its import and each
  invocation): the running function is a ContextVar, so threads and clouds never see each other's.

Standard library only: ``stepsaga check`` imports handlers this way without boto3 or moto.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import difflib
import functools
import importlib
import os
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from importlib.machinery import ModuleSpec, PathFinder
from pathlib import Path
from types import ModuleType
from typing import Any

from stepsaga.errors import HandlerPathError, Problem
from stepsaga.functions import LambdaHandler, variables, where_declared
from stepsaga.model import Saga

_RUNNING: ContextVar[LocalFunction | Scope | None] = ContextVar("stepsaga_running_function", default=None)
# Imports swap entries of the process-wide sys.modules: one function imports at a time.
_IMPORT_LOCK = threading.RLock()
_STDLIB = frozenset(sys.stdlib_module_names) | frozenset(sys.builtin_module_names)


class _Environment:
    """One function's environment: its own variables over the process's, minus what Lambda lacks."""

    __slots__ = ("own", "hidden", "deleted")

    def __init__(self, own: Mapping[str, str], hidden: frozenset[str]) -> None:
        self.own = dict(own)
        self.hidden = hidden
        self.deleted: set[str] = set()

    def hides(self, key: str) -> bool:
        # The developer's AWS_* settings (profile, endpoint, real keys) and other functions' table
        # variables are not in a Lambda's environment.
        return key in self.deleted or key in self.hidden or key.startswith("AWS_")


class _FunctionEnviron(os._Environ):  # type: ignore[misc,name-defined]  # os.environ's own class
    """``os.environ`` that shows the running function's environment; unchanged when none runs."""

    def __getitem__(self, key: str) -> str:
        fn = _RUNNING.get()
        if fn is None:
            return super().__getitem__(key)  # type: ignore[no-any-return]
        env = fn.environment
        if key in env.own:
            return env.own[key]
        if env.hides(key):
            raise KeyError(key)
        return super().__getitem__(key)  # type: ignore[no-any-return]

    def __setitem__(self, key: str, value: str) -> None:
        fn = _RUNNING.get()
        if fn is None:
            return super().__setitem__(key, value)  # type: ignore[no-any-return]
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"str expected, not {type(value if isinstance(key, str) else key).__name__}")
        fn.environment.own[key] = value
        fn.environment.deleted.discard(key)
        return None

    def __delitem__(self, key: str) -> None:
        fn = _RUNNING.get()
        if fn is None:
            return super().__delitem__(key)  # type: ignore[no-any-return]
        self[key]  # a KeyError when the function has no such variable
        fn.environment.own.pop(key)
        fn.environment.deleted.add(key)
        return None

    def __iter__(self) -> Iterator[str]:
        fn = _RUNNING.get()
        if fn is None:
            yield from super().__iter__()
            return
        env = fn.environment
        yield from list(env.own)
        yield from [k for k in super().__iter__() if k not in env.own and not env.hides(k)]

    def __len__(self) -> int:
        return super().__len__() if _RUNNING.get() is None else sum(1 for _ in self)  # type: ignore[no-any-return]

    def copy(self) -> dict[str, str]:
        return dict(self)


class _Loaded:
    """The loader of a module the function already imported: hands it back as it is."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        return self.module

    def exec_module(self, module: ModuleType) -> None:
        pass


class _CodeFolderFinder:
    """A meta path finder active only while a function's code runs: its code folder is the root."""

    @staticmethod
    def find_spec(fullname: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        fn = _RUNNING.get()
        if fn is None or path is not None:  # submodules are found through their package's __path__
            return None
        return fn.find_spec(fullname)


class Scope:
    """Code with a Lambda-like environment but no code folder: an embedded cloud's own AWS calls.

    Inside ``active()`` the developer's ``AWS_*`` variables (a profile, an endpoint, real keys) are
    hidden and ``environment`` shown, so boto3 never leaves moto nor fails on a missing profile.
    """

    def __init__(self, environment: Mapping[str, str]) -> None:
        self.environment = _Environment(environment, frozenset())

    def find_spec(self, name: str) -> ModuleSpec | None:
        return None

    def active(self) -> contextlib.AbstractContextManager[None]:
        """Run the block with this environment in ``os.environ``."""
        return _running(self)


@contextlib.contextmanager
def _running(owner: LocalFunction | Scope) -> Iterator[None]:
    token = _RUNNING.set(owner)
    try:
        yield
    finally:
        _RUNNING.reset(token)


def install() -> None:
    """Make ``os.environ`` and imports sandbox-aware (idempotent; inert while no function runs)."""
    if type(os.environ) is not _FunctionEnviron:
        os.environ.__class__ = _FunctionEnviron
    if not any(f is _CodeFolderFinder for f in sys.meta_path):
        sys.meta_path.insert(0, _CodeFolderFinder)  # type: ignore[arg-type]


def _top_level_names(folder: Path) -> set[str]:
    """The top-level module names a folder provides as an import root (stdlib names excepted)."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return set()
    names = set()
    for entry in entries:
        name = entry.name.split(".", 1)[0] if entry.is_file() and entry.suffix in (".py", ".so", ".pyd") else entry.name
        if entry.is_file() and entry.suffix not in (".py", ".so", ".pyd"):
            continue
        if name.isidentifier() and not name.startswith("__") and name not in _STDLIB:
            names.add(name)
    return names


class LocalFunction:
    """One Lambda function of one cloud: its handler imported from its code folder, its environment.

    ``root`` is the project folder holding the code folders (``tasks/``, ``compensations/``);
    ``environment`` its variables (Lambda's reserved ones included); ``hidden`` the process variables
    it must not see besides every ``AWS_*`` one.
    """

    def __init__(self, name: str, action: str, root: str | Path, environment: Mapping[str, str], hidden: frozenset[str] = frozenset()) -> None:
        self.name = name
        self.path = LambdaHandler(action)
        self.root = Path(root).resolve()
        self.code_dir = self.root / self.path.code_dir
        own = {"_HANDLER": self.path.handler, "LAMBDA_TASK_ROOT": str(self.code_dir), "AWS_LAMBDA_FUNCTION_NAME": name}
        own.update(environment)
        self.environment = _Environment(own, hidden)
        self.modules: dict[str, ModuleType] = {}  # this function's modules, by their name in sys.modules
        self.handler: Callable[..., Any] | None = None
        self._local = _top_level_names(self.code_dir)
        # Names only the project root provides; an installed package of the same name stays importable.
        self._blocked = {n for n in _top_level_names(self.root) - self._local if not _installed(sys.modules.get(n))}

    # --- imports ---------------------------------------------------------------------------

    def find_spec(self, name: str) -> ModuleSpec | None:
        """Resolve a top-level import while this function runs, as Lambda's sys.path would."""
        if name in _STDLIB:
            return None
        module = self.modules.get(name)
        if module is not None:
            spec = copy.copy(module.__spec__) if module.__spec__ is not None else ModuleSpec(name)
            spec.loader = _Loaded(module)
            return spec
        if name in self._local:
            return PathFinder.find_spec(name, [str(self.code_dir)])
        if name in self._blocked:
            # On Lambda only the code folder is the root: the project's other folders are not there.
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

    def _owned(self, key: str) -> bool:
        return key.partition(".")[0] in self._local

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """This function's code runs inside: its environment in ``os.environ``, its modules importable."""
        try:
            with _running(self):
                yield
        finally:
            if any(name in sys.modules for name in self._local):
                with _IMPORT_LOCK:  # not while another function imports its own copy of these names
                    self._take_back()

    def _take_back(self) -> None:
        """Move this function's modules out of sys.modules, into its own namespace."""
        for key in [k for k in sys.modules if self._owned(k)]:
            module = sys.modules[key]
            if self.modules.get(key, module) is module and _inside(module, self.code_dir):
                self.modules[key] = sys.modules.pop(key)

    def load(self) -> Callable[..., Any]:
        """Import the handler as Lambda does at a cold start; a ``_LoadFailure`` says why it cannot."""
        if not self.code_dir.is_dir():
            choices = sorted(p.name for p in self.root.iterdir() if p.is_dir() and p.name.isidentifier())
            instead = _suggest(self.path.code_dir, choices, lambda m: f"{m}.{self.path.handler}", fallback=f"run stepsaga from the project folder that holds {self.path.code_dir}/, or fix the path")
            raise _LoadFailure(f"names the code folder {self.path.code_dir}/, which is not in {self.root}", instead)
        if not self.path.module:
            raise _LoadFailure(f"names no module inside the code folder {self.path.code_dir}/ (its Lambda Handler would be {self.path.handler!r})", f"write '{self.path.code_dir}.<module>.{self.path.function}'")
        if self.path.module.partition(".")[0] not in self._local:
            raise self._missing_module(self.path.module.partition(".")[0])
        with _IMPORT_LOCK:
            hidden = {k: sys.modules.pop(k) for k in list(sys.modules) if k.partition(".")[0] in self._local | self._blocked}
            try:
                with self.running():
                    module = importlib.import_module(self.path.module)
            except ModuleNotFoundError as exc:
                if exc.name is not None and f"{self.path.module}.".startswith(f"{exc.name}."):
                    raise self._missing_module(exc.name) from None
                raise self._import_failure(exc) from None
            except Exception as exc:
                raise self._import_failure(exc) from None
            finally:
                sys.modules.update(hidden)
        self._check_imports()
        handler = getattr(module, self.path.function, None)
        if handler is None:
            functions = [n for n, v in vars(module).items() if callable(v) and not n.startswith("_") and getattr(v, "__module__", None) == module.__name__]
            raise _LoadFailure(
                f"names {self.path.function}, which {_where(module, self.root)} does not define",
                _suggest(self.path.function, functions, lambda m: f"{self.path.code_dir}.{self.path.module}.{m}"),
            )
        if not callable(handler):
            raise _LoadFailure(f"names {self.path.function} in {_where(module, self.root)}, which is a {type(handler).__name__}, not a function", "name the handler function")
        self.handler = handler
        return handler

    def _check_imports(self) -> None:
        """Imports inside functions run only when called: find those through the project root now."""
        for module in self.modules.values():
            origin = getattr(module, "__file__", None)
            if not origin or not origin.endswith(".py"):
                continue
            for line, name in _absolute_imports(origin, os.stat(origin).st_mtime_ns):
                if name.partition(".")[0] in self._blocked:
                    where = f"{_relative(origin, self.root)}:{line}"
                    raise _LoadFailure(
                        f"imports {name} at {where}, which fails on Lambda when it runs: No module named {name.partition('.')[0]!r}",
                        f"import modules of {self.path.code_dir}/ by their top-level name (`from _common import x`, not `from {self.path.code_dir}._common import x`)",
                    )

    def invoke(self, event: Any, context: Any) -> Any:
        """Call the handler as Lambda does: ``handler(event, context)`` inside this function's sandbox."""
        if self.handler is None:
            raise RuntimeError(f"{self.name}: load() the handler before invoking it")
        with self.running():
            return self.handler(event, context)

    def _missing_module(self, name: str) -> _LoadFailure:
        parent, _, leaf = name.rpartition(".")
        folder = self.code_dir.joinpath(*parent.split(".")) if parent else self.code_dir
        choices = sorted(_top_level_names(folder))
        rel = f"{self.path.code_dir}/{parent.replace('.', '/') + '/' if parent else ''}"
        prefix = f"{self.path.code_dir}.{parent + '.' if parent else ''}"
        rest = self.path.module[len(name):]
        return _LoadFailure(f"names the module {name}, but {rel} has no {leaf}.py", _suggest(leaf, choices, lambda m: f"{prefix}{m}{rest}.{self.path.function}"))

    def _import_failure(self, exc: BaseException) -> _LoadFailure:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if _is_inside(f.filename, self.code_dir)]
        at = f" at {_relative(frames[-1].filename, self.root)}:{frames[-1].lineno}" if frames else ""
        what = f"fails to import the way Lambda imports it ({self.path.code_dir}/ as the import root): {type(exc).__name__}: {exc}{at}"
        if isinstance(exc, ModuleNotFoundError) and exc.name and exc.name.partition(".")[0] in self._blocked:
            instead = (f"{exc.name.partition('.')[0]}/ is not deployed with this function; import modules of "
                       f"{self.path.code_dir}/ by their top-level name (`from _common import x`, not `from {self.path.code_dir}._common import x`)")
        else:
            instead = "fix the module: on Lambda this fails every invocation of the function"
        return _LoadFailure(what, instead)


class _LoadFailure(Exception):
    """Why one handler path does not load: what is wrong and what to write instead."""

    def __init__(self, what: str, instead: str) -> None:
        super().__init__(what)
        self.what, self.instead = what, instead


@functools.lru_cache(maxsize=1024)
def _absolute_imports(path: str, mtime_ns: int) -> tuple[tuple[int, str], ...]:
    """(line, module) of the absolute imports in a file that can run, a function body's included.

    Imports under ``if TYPE_CHECKING:`` never run, and those in a ``try`` that catches ImportError
    have a fallback: both are left out.
    """
    try:
        with open(path, "rb") as fh:
            tree = ast.parse(fh.read(), path)
    except (OSError, SyntaxError, ValueError):
        return ()
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Try) and any(_catches_import_error(h) for h in node.handlers):
            for child in (*node.handlers, *node.orelse, *node.finalbody):
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return tuple(found)


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    names = ast.unparse(handler.type) if handler.type is not None else "BaseException"
    return any(n in names for n in ("ImportError", "ModuleNotFoundError", "Exception"))


def _suggest(word: str, choices: list[str], write: Callable[[str], str], fallback: str = "") -> str:
    match = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if match:
        return f"did you mean {write(match[0])!r}?"
    if fallback:
        return fallback
    if choices:
        return f"write one of: {', '.join(write(c) for c in choices[:8])}"
    return "write the path of an existing handler"


def _installed(module: ModuleType | None) -> bool:
    """Whether a module comes from the standard library or an installed package (not a project)."""
    if module is None:
        return False
    import sysconfig

    paths = sysconfig.get_paths()
    return any(_inside(module, Path(paths[k]).resolve()) for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths)


def _inside(module: ModuleType, folder: Path) -> bool:
    origin = getattr(module, "__file__", None)
    if origin is None:
        return any(_is_inside(p, folder) for p in getattr(module, "__path__", ()))
    return _is_inside(origin, folder)


def _is_inside(path: str, folder: Path) -> bool:
    try:
        return Path(path).resolve().is_relative_to(folder)
    except (OSError, ValueError):
        return False


def _relative(path: str, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root).as_posix()
    except ValueError:
        return path


def _where(module: ModuleType, root: Path) -> str:
    origin = getattr(module, "__file__", None)
    return _relative(origin, root) if origin else f"module {module.__name__}"


REGION = "us-east-1"
#: What moto accepts; never the developer's own keys.
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "aws_session_token": "testing"}


def lambda_environment(saga: Saga, state: str, physical: Callable[[str], str]) -> dict[str, str]:
    """A function's environment as Lambda sets it: region and credentials, then its own variables.

    https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html: the region and the
    credentials are reserved variables; the rest are the function's, as in template.yaml.
    """
    return {**aws_environment(), **variables(saga, state, physical)}


def aws_environment() -> dict[str, str]:
    """The region and the (fake) credentials, as environment variables."""
    return {"AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION, **{key.upper(): value for key, value in CREDENTIALS.items()}}


def functions_for(saga: Saga, root: str | Path, name: Callable[[str], str], physical: Callable[[str], str]) -> dict[str, LocalFunction]:
    """One LocalFunction per state of the saga that invokes a Lambda (not loaded yet).

    ``name`` gives a state's function name; ``physical`` a logical table's name in this deployment.
    """
    every_table = frozenset(t.env_var for t in saga.tables)
    return {
        state: LocalFunction(name(state), action, root, lambda_environment(saga, state, physical), every_table)
        for state, action in saga.handlers().items()
    }


def load_all(saga: Saga, functions: Mapping[str, LocalFunction]) -> None:
    """Load every function's handler (state name -> function); all failures in one ``HandlerPathError``.

    Every path is loaded, also of handlers a run would not call: a bad path is a definition problem.
    """
    install()
    problems = []
    for state, fn in functions.items():
        try:
            fn.load()
        except _LoadFailure as failure:
            step, field = where_declared(saga, state)
            problems.append(Problem(saga.name, step, field, f"{fn.path.action!r} {failure.what}", failure.instead))
    if problems:
        raise HandlerPathError(problems)
