"""The README's pytest example runs as written, against the reference order saga."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    [block] = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if b.startswith("# tests/test_my_order_saga.py")]
    return block


def test_readme_pytest_example_passes(order_saga):
    from stepsaga.local import EmbeddedCloud, default_seed

    namespace: dict = {}
    exec(compile(readme_example(), "README.md", "exec"), namespace)
    tests = [fn for name, fn in namespace.items() if name.startswith("test_")]
    assert len(tests) >= 2
    with EmbeddedCloud(order_saga, seed=default_seed(order_saga, ROOT / "workflows" / "inputs"), root=ROOT) as cloud:
        for test in tests:
            cloud.reset()  # a cloud as a new one would be, as the order_cloud fixture gives each test
            test(cloud)
