"""A benchmark's worker process, driven over a pipe: one command line in, one JSON line out.

The benchmarks that compare two trees (``engine_probe.py --against``, ``real_handlers.py``) measure each in a
process of its own and alternate between them, so that both see the same machine load.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any


class PipeWorker:
    """``python SCRIPT *args`` with ``env``; its first JSON line is ``hello``, then one line per ``ask``."""

    def __init__(self, script: str, args: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen([sys.executable, script, *args], env=env, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.hello = self._read()

    def ask(self, line: str) -> Any:
        """Send one command line; the worker's JSON answer."""
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return self._read()

    def _read(self) -> Any:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"a benchmark worker exited with {self.process.wait()}; its error is above")
        return json.loads(line)

    def close(self) -> None:
        """End the worker (it stops at the end of its input) and wait for it."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait()
