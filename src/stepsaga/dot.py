"""Graphviz's ``dot``, run on DOT text to draw SVG or PNG.

stepsaga writes the DOT text itself (`stepsaga.diagram.to_dot`, docs/decisions.md "Issue 11.2") and hands it
to the ``dot`` program on its standard input. ``dot`` is Graphviz's, not a Python package: Debian's
``graphviz`` (``make test`` installs it where it is missing), Homebrew's ``graphviz``, or
https://graphviz.org/download/. For the same DOT text and the same Graphviz, the picture is the same bytes.
"""

from __future__ import annotations

import shutil
import subprocess

from stepsaga.errors import GraphvizError

#: The pictures ``dot`` draws for stepsaga: the ``-T`` output formats.
FORMATS = ("svg", "png")
#: How to get Graphviz, for the error that says it is missing.
INSTALL = "install Graphviz: apt-get install graphviz (Debian, Ubuntu), brew install graphviz (macOS), or https://graphviz.org/download/"
#: A layout of a saga takes well under a second; more means dot is stuck.
TIMEOUT_SECONDS = 120


def find_dot() -> str:
    """The path of Graphviz's ``dot`` on PATH; raises GraphvizError saying how to install it."""
    found = shutil.which("dot")
    if found is None:
        raise GraphvizError(f"drawing svg or png needs Graphviz's dot, which is not on PATH; {INSTALL}")
    return found


def render(dot_text: str, fmt: str) -> bytes:
    """The picture ``dot -T<fmt>`` draws from ``dot_text`` (``fmt`` one of `FORMATS`), as bytes.

    Raises GraphvizError when ``dot`` is missing, fails (with its own message) or takes over TIMEOUT_SECONDS.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r}: dot draws {', '.join(FORMATS)} for stepsaga")
    command = [find_dot(), f"-T{fmt}"]
    try:
        proc = subprocess.run(command, input=dot_text.encode("utf-8"), capture_output=True, timeout=TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise GraphvizError(f"dot -T{fmt} took more than {TIMEOUT_SECONDS} s and was stopped") from None
    except OSError as exc:
        raise GraphvizError(f"cannot run {command[0]}: {exc.strerror or exc}") from None
    if proc.returncode != 0 or not proc.stdout:
        message = proc.stderr.decode("utf-8", "replace").strip() or f"exit status {proc.returncode}, no output"
        raise GraphvizError(f"dot -T{fmt} could not draw the picture: {message}")
    return proc.stdout
