"""Writing a generated file only when its text changes: the ASL, the event schemas.

Standard library only; ``TemplateError`` says which file could not be written, and why.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

from stepsaga.errors import TemplateError


def write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` (UTF-8, ``\\n`` line ends, parents created); False when it already holds it."""
    try:
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
    except OSError as exc:
        raise TemplateError(f"{path}: cannot write: {exc.strerror}") from None
    return True
