"""pyproject.toml: metadata that installs without setuptools' deprecation warnings (issue 7.10)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_license_is_an_spdx_expression_and_the_build_backend_understands_it():
    doc = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    # A table such as {text = ...} is deprecated (PEP 639) and warns on every install.
    assert doc["project"]["license"] == "Apache-2.0"
    [setuptools] = [r for r in doc["build-system"]["requires"] if r.startswith("setuptools")]
    minimum = re.fullmatch(r"setuptools>=(\d+)", setuptools)
    assert minimum and int(minimum.group(1)) >= 77  # the first setuptools that reads SPDX strings
