"""The template code has one entry point: nothing outside ``stepsaga/sam/`` imports its modules."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAM = ROOT / "src" / "stepsaga" / "sam"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_only_the_sam_package_imports_its_own_modules():
    outside = [p for folder in ("src", "tests", "bench", "workflows") for p in (ROOT / folder).rglob("*.py")
               if SAM not in p.parents]
    assert len(outside) > 20  # the walk found the tree
    offenders = sorted(f"{p.relative_to(ROOT)}: {m}" for p in outside for m in imported_modules(p) if m.startswith("stepsaga.sam."))
    assert offenders == []
    importers = sorted(str(p.relative_to(ROOT)) for p in outside if "stepsaga.sam" in imported_modules(p))
    assert "src/stepsaga/cli.py" in importers and "src/stepsaga/check.py" in importers
