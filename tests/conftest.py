"""Shared test setup: the repository root is importable (workflows, tasks, compensations), and the
reference application's fixtures, built on the stepsaga plugin's ``saga_cloud``, and a cache folder of the run's own:

    order_saga   the saga in ``workflows/order_saga.py``
    order_cloud  an EmbeddedCloud for it, seeded from ``workflows/inputs/<table>_seed.json``: the session's cloud of
                 the saga, reset for each test (``saga_cloud(..., reuse=True)``)
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The parsed-ASL cache (stepsaga/local/_moto/program_cache.py) of this run, shared by its workers: the suite
# uses the cache as users do, and leaves the user's own ~/.cache/stepsaga alone.
os.environ.setdefault("STEPSAGA_CACHE_DIR", tempfile.mkdtemp(prefix="stepsaga-tests-cache-"))


@pytest.fixture
def order_saga() -> Any:
    """The reference order saga (workflows/order_saga.py)."""
    from stepsaga.loader import load

    [saga] = load(str(ROOT / "workflows" / "order_saga.py"))
    return saga


@pytest.fixture
def order_cloud(order_saga: Any, saga_cloud: Any) -> Any:
    """An embedded cloud running the order saga, with its tables seeded by convention: reused, as a new one would be."""
    from stepsaga.local import default_seed

    return saga_cloud(order_saga, seed=default_seed(order_saga, ROOT / "workflows" / "inputs"), reuse=True)
