"""pytest plugin (entry point ``pytest11``): a fixture for the embedded cloud.

Fixtures:
    saga_cloud   a factory: ``saga_cloud(saga, seed=..., mode=...)`` starts an EmbeddedCloud, stopped after the test

A project's own fixtures build on it, as the reference application's ``tests/conftest.py`` does
(``order_saga``, ``order_cloud``).

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

    def start(saga: Any, seed: dict[str, Any] | None = None, root: str | Path | None = None, mode: str = "orchestration") -> Any:
        cloud = EmbeddedCloud(saga, seed=seed, root=root or request.config.rootpath, mode=mode)
        cloud.strict_contract = True
        cloud.__enter__()
        started.append(cloud)
        return cloud

    yield start
    for cloud in reversed(started):
        cloud.__exit__(None, None, None)
