"""Shared test setup: the repository root is importable (workflows, tasks, compensations), and the
reference application's fixtures, built on the stepsaga plugin's ``saga_cloud``:

    order_saga   the saga in ``workflows/order_saga.py``
    order_cloud  an EmbeddedCloud for it, seeded from ``workflows/inputs/<table>_seed.json``: the session's cloud of
                 the saga, reset for each test (``saga_cloud(..., reuse=True)``)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


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
