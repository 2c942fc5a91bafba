"""Started clouds kept for reuse: a test session starts one cloud per saga and resets it for each test.

Starting a cloud costs a few hundred milliseconds (moto, the saga's resources, every handler's cold start);
``EmbeddedCloud.reset`` costs about one. A ``CloudPool`` lends a started cloud for each (saga, mode, seed,
root), reset, and takes it back when its user is done (``give_back``): the cloud is then suspended, its
resources kept while moto stops as if no cloud ran, so that code running between two uses (another test's
own ``mock_aws()``, or no mock at all) sees what it would see without the pool. Two clouds asked for with the
same key before they are given back are two clouds, as two new ones would be.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stepsaga.local.cloud import EmbeddedCloud, Seed, seed_items
from stepsaga.model import Saga


class CloudPool:
    """Started clouds, one per (saga, mode, seed, root) and use, reset before each use; ``close()`` stops them."""

    def __init__(self) -> None:
        self._clouds: list[tuple[tuple[Any, ...], EmbeddedCloud]] = []
        self._lent: list[EmbeddedCloud] = []

    def cloud(self, saga: Saga, *, seed: Seed | None = None, root: str | Path | None = None, mode: str = "orchestration") -> EmbeddedCloud:
        """A started cloud of ``saga`` as a new one would be (``EmbeddedCloud.reset``), until ``give_back()``.

        A cloud of the pool whose resources are gone (a user's ``mock_aws()`` reset moto meanwhile) is replaced
        by a new one. ``SeedError`` and ``DefinitionError`` as ``EmbeddedCloud`` raises them.
        """
        key = (saga, mode, _seed_key(saga, seed), str(Path(root or Path.cwd()).resolve()))
        for index, (known, cloud) in enumerate(self._clouds):
            if known != key or cloud in self._lent:
                continue
            cloud._resume()
            try:
                cloud.reset()
            except RuntimeError:  # its resources are gone: another one takes its place
                cloud.__exit__(None, None, None)
                del self._clouds[index]
                break
            self._lent.append(cloud)
            return cloud
        cloud = EmbeddedCloud(saga, seed=seed, root=root, mode=mode)
        cloud.__enter__()
        self._clouds.append((key, cloud))
        self._lent.append(cloud)
        return cloud

    def give_back(self) -> None:
        """Every lent cloud waits, suspended, for its next use."""
        for cloud in self._lent:
            cloud._suspend()
        self._lent.clear()

    def close(self) -> None:
        """Stop every cloud of the pool."""
        self._lent.clear()
        while self._clouds:
            _key, cloud = self._clouds.pop()
            cloud.__exit__(None, None, None)

    def __len__(self) -> int:
        return len(self._clouds)


def _seed_key(saga: Saga, seed: Seed | None) -> str:
    """The seed as its items (a file read now), so that equal seeds share a cloud; ``SeedError`` if bad."""
    return json.dumps(seed_items(saga, seed or {}), sort_keys=True, default=str)
