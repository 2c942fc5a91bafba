"""pytest plugin (entry point ``pytest11``): fixtures for the embedded cloud.

Fixtures:
    saga_cloud    a factory: ``saga_cloud(saga, seed=..., mode=...)`` starts an EmbeddedCloud, stopped after the
                  test; ``saga_cloud(saga, ..., reuse=True)`` lends the session's cloud of that saga instead,
                  reset to what a new one would be, and takes it back after the test
    saga_clouds   the session's ``CloudPool``: one started cloud per (saga, mode, seed, root), stopped at the end

A project's own fixtures build on them, as the reference application's ``tests/conftest.py`` does
(``order_saga``, ``order_cloud``).

The fixtures' clouds are strict about the business-error contract: ``cloud.run(...)`` raises
``ContractViolationError`` when a step raised a declared business error after changing a table,
unless the run passes ``allow_contract_violations=True``.

A reused cloud costs a reset (about a millisecond) instead of a start (a few hundred). Its functions stay
warm between tests, as Lambda keeps an execution environment: what a handler keeps at module scope, or
writes into ``os.environ``, is still there. A test that needs a cold start, or changes the cloud in a way
``reset`` does not undo (deletes its resources, patches its functions), takes a new cloud (``reuse=False``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def saga_clouds() -> Iterator[Any]:
    """The session's pool of started clouds (``stepsaga.local.pool.CloudPool``); every cloud is stopped at the end."""
    from stepsaga.local.pool import CloudPool

    pool = CloudPool()
    yield pool
    pool.close()


@pytest.fixture
def saga_cloud(request: pytest.FixtureRequest, saga_clouds: Any) -> Iterator[Any]:
    """Start embedded clouds for sagas, each stopped when the test ends; ``reuse=True`` lends the session's."""
    from stepsaga.local import EmbeddedCloud

    started: list[Any] = []
    lent = False

    def start(saga: Any, seed: dict[str, Any] | None = None, root: str | Path | None = None, mode: str = "orchestration",
              reuse: bool = False) -> Any:
        nonlocal lent
        root = root or request.config.rootpath
        if reuse:
            cloud = saga_clouds.cloud(saga, seed=seed, root=root, mode=mode)
            lent = True
        else:
            cloud = EmbeddedCloud(saga, seed=seed, root=root, mode=mode)
            cloud.__enter__()
            started.append(cloud)
        cloud.strict_contract = True
        return cloud

    yield start
    for cloud in reversed(started):
        cloud.__exit__(None, None, None)
    if lent:
        saga_clouds.give_back()
