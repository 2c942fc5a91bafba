"""The moto version whose internals the engine patches, and the check that the installed one is it."""

from __future__ import annotations

import importlib.metadata
from typing import Final

from stepsaga.errors import MotoVersionError

MOTO_VERSION: Final = "5.2.5"


def check_version() -> None:
    """Raise MotoVersionError unless the installed moto is exactly MOTO_VERSION."""
    try:
        installed = importlib.metadata.version("moto")
    except importlib.metadata.PackageNotFoundError:
        raise MotoVersionError(
            f"moto is not installed; the local runtime needs moto=={MOTO_VERSION}: pip install 'stepsaga[local]'"
        ) from None
    if installed != MOTO_VERSION:
        raise MotoVersionError(
            f"the local runtime runs on moto's Step Functions interpreter and needs moto=={MOTO_VERSION} exactly, "
            f"but moto {installed} is installed; pip install 'moto[dynamodb,sqs,stepfunctions]=={MOTO_VERSION}'"
        )
