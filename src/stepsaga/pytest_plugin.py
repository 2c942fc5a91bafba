"""pytest plugin (entry point ``pytest11``): fixtures for the embedded cloud and the reference saga.

Fixtures:
    saga_cloud   a factory: ``saga_cloud(saga, seed=...)`` starts an EmbeddedCloud, stopped after the test
    order_saga   the saga in ``<rootdir>/workflows/order_saga.py`` (skips if the project has none)
    order_cloud  an EmbeddedCloud for it, seeded from ``workflows/inputs/<table>_seed.json``

The fixtures' clouds are strict about the business-error contract: ``cloud.run(...)`` raises
``ContractViolationError`` when a step raised a declared business error after changing a table,
unless the run passes ``allow_contract_violations=True``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def saga_cloud(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Start embedded clouds for sagas; each is stopped when the test ends."""
    from stepsaga.local import EmbeddedCloud

    started: list[Any] = []

    def start(saga: Any, seed: dict[str, Any] | None = None, root: str | Path | None = None) -> Any:
        cloud = EmbeddedCloud(saga, seed=seed, root=root or request.config.rootpath)
        cloud.strict_contract = True
        cloud.__enter__()
        started.append(cloud)
        return cloud

    yield start
    for cloud in reversed(started):
        cloud.__exit__(None, None, None)


@pytest.fixture
def order_saga(request: pytest.FixtureRequest) -> Any:
    """The project's reference order saga (workflows/order_saga.py)."""
    from stepsaga.loader import load

    path = Path(request.config.rootpath) / "workflows" / "order_saga.py"
    if not path.is_file():
        pytest.skip(f"no reference saga at {path}")
    [saga] = load(str(path))
    return saga


@pytest.fixture
def order_cloud(order_saga: Any, saga_cloud: Any, request: pytest.FixtureRequest) -> Any:
    """An embedded cloud running the order saga, with its tables seeded by convention."""
    from stepsaga.local import default_seed

    inputs = Path(request.config.rootpath) / "workflows" / "inputs"
    return saga_cloud(order_saga, seed=default_seed(order_saga, inputs))
