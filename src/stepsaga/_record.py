"""A tiny immutable record base: dataclasses cost ~25 ms of import time on the compile path.

A record declares each field in ``__slots__`` and annotates it in the class body; ``__init__`` validates
and hands every field to ``_init``. The class checks at creation that its slots and annotations agree
and that it re-declares no slot of a base, and ``_init`` checks that every field is set once, so the
places a field is written cannot drift apart silently. Outside the compile path, use
``@dataclass(frozen=True, slots=True)`` instead (docs/decisions.md, Issue 8.6).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs ~3 ms of import; this file is on the compile path
if TYPE_CHECKING:
    from typing import Any


class Record:
    """Immutable value object: fields are ``__slots__``; equality, hash and repr follow them.

    ``_fields`` holds the slots of the whole class hierarchy, bases first.
    """

    __slots__: tuple[str, ...] = ()
    _fields: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Check that the class's own slots and annotations name the same fields; collect ``_fields``.

        Raises TypeError, naming the class and the field, at class creation. Annotations are read as
        written (strings under ``from __future__ import annotations``), never evaluated.
        """
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("__slots__", ())
        own = (own,) if isinstance(own, str) else tuple(own)
        inherited = tuple(name for base in cls.__mro__[1:] for name in getattr(base, "_fields", ()))
        annotated = [name for name in cls.__dict__.get("__annotations__", {}) if not name.startswith("__")]
        where = f"{cls.__module__}.{cls.__qualname__}"
        for name in own:
            if name in inherited:
                raise TypeError(f"{where}: slot {name!r} is already a field of a base class; remove it from __slots__")
            if name not in annotated:
                raise TypeError(f"{where}: slot {name!r} has no annotation; add '{name}: <type>' to the class body")
        for name in annotated:
            if name not in own:
                raise TypeError(f"{where}: field {name!r} is annotated but not in __slots__; add it to __slots__")
        cls._fields = tuple(dict.fromkeys(inherited + own))

    def _init(self, **values: Any) -> None:
        if len(values) != len(self._fields) or not all(name in values for name in self._fields):
            missing = [name for name in self._fields if name not in values]
            unknown = [name for name in values if name not in self._fields]
            what = f"leaves {', '.join(missing)} unset" if missing else f"sets {', '.join(unknown)}, not a field"
            raise TypeError(f"{type(self).__name__}._init() {what}; pass each field in __slots__ once")
        for key, value in values.items():
            object.__setattr__(self, key, value)

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; use .replace({key}=...)")

    def __delattr__(self, key: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._values() == self._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._values()))

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({args})"

    def replace(self, **changes: Any) -> Any:
        """A copy with some fields changed, validated again like a new object."""
        values = {name: getattr(self, name) for name in self._fields}
        values.update(changes)
        return type(self)(**values)
