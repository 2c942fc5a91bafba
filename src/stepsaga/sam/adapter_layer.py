"""The folder SAM builds the choreography's adapter layer from: stepsaga's source, or one stepsaga writes.

SAM builds the layer (``BuildMethod: python3.12``) from a folder: the folder's content goes to ``/opt/python`` and
its ``requirements.txt`` is installed beside it
(https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/building-layers.html). The saga
log's and the start's functions, which have no user code, are built from the same folder.

* In a source checkout, or any editable install, the folder is the one holding the ``stepsaga`` package and
  ``requirements.txt`` (this repository's ``src/``): the layer is the code that ran ``stepsaga template``.
* A wheel installed into site-packages has no such folder (site-packages holds every other package too). The
  layer is then the project's own ``layers/stepsaga/``, holding only a ``requirements.txt`` that names the
  running stepsaga by its version, and what the adapter imports on Lambda. ``stepsaga template`` writes it and
  ``stepsaga check`` compares it; ``sam build`` installs it from the package index, as any function's
  requirements (``PIP_INDEX_URL``, or ``PIP_FIND_LINKS=<a folder of wheels>`` for a wheel on no index).
"""

from __future__ import annotations

import re
from pathlib import Path

#: The file of a layer folder that SAM installs (and that marks a source folder as one).
REQUIREMENTS = "requirements.txt"
#: Where a project keeps its adapter layer when stepsaga is not installed from source, relative to the project.
PROJECT_LAYER = Path("layers") / "stepsaga"
#: What the adapter imports on Lambda, besides boto3 (which Lambda's Python runtime has): the ``handlers`` extra.
_EXTRA = "handlers"


def source_folder() -> Path | None:
    """The folder holding the installed ``stepsaga`` package and a ``requirements.txt``, or None (a wheel install)."""
    import stepsaga

    folder = Path(stepsaga.__file__).resolve().parent.parent
    return folder if (folder / REQUIREMENTS).is_file() and (folder / "stepsaga" / "__init__.py").is_file() else None


def adapter_requirements() -> list[str]:
    """The requirements of the ``handlers`` extra of the installed stepsaga, without boto3, as its metadata has them.

    ``["aws-lambda-powertools<4,>=3.0", "pydantic<3,>=2.6"]`` for stepsaga 0.1.0; the order is the metadata's.
    """
    from importlib.metadata import requires

    out = []
    for line in requires("stepsaga") or []:
        spec, _, marker = line.partition(";")
        name = re.match(r"\s*([A-Za-z0-9._-]*)", spec).group(1)  # type: ignore[union-attr]  # always matches
        if marker.replace(" ", "").replace("'", '"') == f'extra=="{_EXTRA}"' and name.lower() != "boto3":
            out.append(spec.strip())
    return out


def project_layer_text() -> str:
    """The ``requirements.txt`` of a project's own adapter layer, for the running stepsaga."""
    import stepsaga

    return (
        "# The choreography adapter's layer (and the code of the saga log's and the start's functions): stepsaga and what\n"
        "# it imports on Lambda. Written by `stepsaga template` for the stepsaga it ran with; `stepsaga check` compares it.\n"
        "# `sam build` installs these from your package index (PIP_INDEX_URL, or PIP_FIND_LINKS=<a folder of wheels>).\n"
        f"stepsaga=={stepsaga.__version__}\n"
        + "".join(f"{r}\n" for r in adapter_requirements())
    )
