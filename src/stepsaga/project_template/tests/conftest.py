"""This project's fixtures, built on the fixtures of stepsaga's pytest plugin (``saga_cloud``, ``saga_clouds``),
which pytest loads from stepsaga's entry point: nothing to import or register.

    saga   the saga in workflows/__SAGA_MODULE__.py, loaded as `stepsaga` loads it
    cloud  the session's embedded cloud of the saga (moto DynamoDB and SQS, the real handlers, a virtual clock),
           reset for each test to its seed: workflows/inputs/<table>_seed.json
"""

from __future__ import annotations

from typing import Any

import pytest
from stepsaga.loader import load
from stepsaga.local import default_seed
from trips import INPUTS, ROOT


@pytest.fixture(scope="session")
def saga() -> Any:
    """The __SAGA_NAME__ saga."""
    [found] = load(str(ROOT / "workflows" / "__SAGA_MODULE__.py"))
    return found


@pytest.fixture
def cloud(saga: Any, saga_cloud: Any) -> Any:
    """An embedded cloud running the saga as Step Functions would, seeded; reused between tests, reset for each."""
    return saga_cloud(saga, seed=default_seed(saga, INPUTS), reuse=True)
