"""moto's service packages that a run never uses, imported only once something uses them.

moto's Step Functions interpreter imports every service integration it knows
(``asl/component/state/exec/state_task/service/state_task_service_factory.py``). The Batch integration reads
one enum from ``moto.batch.utils`` (``state_task_service_batch.py:6``), and importing that module first runs
``moto/batch/__init__.py``, whose models import EC2 and its region, AMI and instance-type tables: about a
second of every ``stepsaga run`` and every test process, for a service no saga of ours calls.

``defer(package)`` puts the package into ``sys.modules`` without running its ``__init__``: its submodules
import as usual (``moto.batch.utils`` needs nothing of the package), and the first time anything asks the
package for a name it lacks (moto's backend registry does, on the first Batch request; ``from moto.batch
import batch_backends`` does), its ``__init__`` runs and the package is the ordinary module from then on.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import types
from typing import Any, Final

#: The packages deferred when the engine loads: what the interpreter imports and no run uses.
DEFERRED: Final = ("moto.batch",)

_LOCK = threading.RLock()
_RUNNING: set[str] = set()  # packages whose __init__ is running


class _DeferredPackage(types.ModuleType):
    """A package whose ``__init__`` has not run yet; it runs on the first lookup of a name it lacks."""

    def __getattr__(self, name: str) -> Any:
        _complete(self)
        return types.ModuleType.__getattribute__(self, name)


def defer(package: str) -> bool:
    """Put ``package`` in ``sys.modules`` unexecuted, unless it is imported already; returns whether it was deferred."""
    with _LOCK:
        if package in sys.modules:
            return False
        spec = importlib.util.find_spec(package)
        if spec is None or spec.loader is None or spec.submodule_search_locations is None:
            return False
        module = _DeferredPackage(package)
        module.__spec__ = spec
        module.__loader__ = spec.loader
        module.__file__ = spec.origin
        module.__path__ = list(spec.submodule_search_locations)
        module.__package__ = package
        sys.modules[package] = module
        parent, _, child = package.rpartition(".")
        if parent:
            setattr(sys.modules[parent], child, module)  # as the import system binds a loaded submodule
        return True


def deferred(package: str) -> bool:
    """Whether ``package`` is in ``sys.modules`` with its ``__init__`` not run yet."""
    return type(sys.modules.get(package)) is _DeferredPackage


def _complete(module: types.ModuleType) -> None:
    name = module.__name__
    with _LOCK:
        if type(module) is not _DeferredPackage or name in _RUNNING:
            return  # done already, or its own __init__ asks for a name it has not bound yet
        _RUNNING.add(name)
        try:
            module.__spec__.loader.exec_module(module)  # type: ignore[union-attr]
        except BaseException:
            if sys.modules.get(name) is module:
                del sys.modules[name]  # as a failed import leaves it: the next import tries again
            raise
        finally:
            _RUNNING.discard(name)
        module.__class__ = types.ModuleType
