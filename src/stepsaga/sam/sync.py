"""Merge generated entries into a user's template.yaml, keeping everything else byte for byte.

ruamel.yaml's round-trip parser locates every top-level section and every entry of a section
(line and column); the entries stepsaga owns are re-emitted by ruamel.yaml, and all other lines
(the user's resources, parameters, comments, blank lines, quoting and order) are copied unchanged.
Splicing lines, rather than dumping the whole document again, is what makes that guarantee hold:
ruamel.yaml attaches a comment to the *preceding* node, so replacing a generated resource as a node
would drop the user's comment written above the resource that follows it.

Each entry owns its own lines only. Blank and comment lines between two entries belong to the entry
below them, so they stay where the user put them whatever happens to the entry above.
"""

from __future__ import annotations

import copy
import functools
import io
from collections.abc import Iterable, Mapping
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import YAMLError

from stepsaga.errors import TemplateError

SERVERLESS_TRANSFORM = "AWS::Serverless-2016-10-31"
_SHORT_TAGS = {"Ref": "!Ref", "Fn::GetAtt": "!GetAtt", "Fn::Sub": "!Sub"}


class Entry:
    """One ``key: value`` of a section: the lines above it (blank or comments) and its own lines."""

    __slots__ = ("key", "gap", "body")

    def __init__(self, key: str, gap: list[str], body: list[str]) -> None:
        self.key, self.gap, self.body = key, gap, body


class Section:
    """A top-level mapping of the template split into entries; ``head`` and ``tail`` are kept verbatim."""

    __slots__ = ("head", "entries", "tail", "indent")

    def __init__(self, head: list[str], entries: list[Entry], tail: list[str], indent: int) -> None:
        self.head, self.entries, self.tail, self.indent = head, entries, tail, indent

    def index(self, key: str) -> int:
        """The position of an entry, or -1."""
        for i, e in enumerate(self.entries):
            if e.key == key:
                return i
        return -1

    def lines(self) -> list[str]:
        """The section's text again, as lines."""
        out = list(self.head)
        for e in self.entries:
            out += e.gap + e.body
        return out + self.tail


# --- YAML in and out ------------------------------------------------------------------------


def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096  # never fold a long string: folding would depend on the indentation
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def load(text: str, where: str = "template.yaml") -> CommentedMap:
    """Parse a template with ruamel.yaml's round-trip loader (short-form tags kept as tags)."""
    try:
        doc = _yaml().load(text)
    except YAMLError as exc:
        raise TemplateError(f"{where}: not valid YAML: {str(exc).splitlines()[0]}; fix it, or move it away to start afresh") from None
    if doc is None:
        return CommentedMap()
    if not isinstance(doc, CommentedMap):
        raise TemplateError(f"{where}: the top level is not a mapping; write a CloudFormation template")
    return doc


def plain_load(text: str, where: str = "template.yaml") -> Any:
    """``plain(load(text, where))``: the template as plain JSON data, parsed once per text and process.

    ``stepsaga check`` reads one template.yaml several times (its substitutions, its event patterns, besides
    the drift check), and ruamel's round-trip parse of the reference template takes about a second; each
    caller gets its own deep copy of the one parse. Raises TemplateError as ``load`` does.
    """
    return copy.deepcopy(_plain_load(text, where))


@functools.lru_cache(maxsize=8)
def _plain_load(text: str, where: str) -> Any:
    return plain(load(text, where))


def plain(node: Any) -> Any:
    """A round-trip node as plain JSON data, with short-form intrinsics in their long form."""
    tag = getattr(getattr(node, "tag", None), "value", None)
    if isinstance(node, TaggedScalar):
        value: Any = node.value
    elif isinstance(node, CommentedMap):
        value = {str(k): plain(v) for k, v in node.items()}
    elif isinstance(node, (CommentedSeq, list)):
        value = [plain(v) for v in node]
    elif isinstance(node, dict):
        value = {str(k): plain(v) for k, v in node.items()}
    else:
        return node
    if not tag or not tag.startswith("!") or tag.startswith("!!"):
        return value
    name = tag[1:]
    if name == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    if name in ("Ref", "Condition"):
        return {name: value}
    return {f"Fn::{name}": value}


def _node(value: Any) -> Any:
    """Plain JSON data as round-trip nodes, with Ref, GetAtt and Sub in their short form."""
    if isinstance(value, dict):
        if len(value) == 1:
            (name, arg), = value.items()
            if name in ("Ref", "Fn::Sub") and isinstance(arg, str):
                return TaggedScalar(arg, tag=_SHORT_TAGS[name])
            if name == "Fn::GetAtt" and isinstance(arg, list) and len(arg) == 2 and all(isinstance(a, str) for a in arg):
                return TaggedScalar(f"{arg[0]}.{arg[1]}", tag="!GetAtt")
        node = CommentedMap()
        for k, v in value.items():
            node[k] = _node(v)
        return node
    if isinstance(value, (list, tuple)):
        return CommentedSeq(_node(v) for v in value)
    return value


def emit(key: str, value: Any, indent: int) -> list[str]:
    """``key: value`` as YAML lines, indented to sit in a section at column ``indent``."""
    buf = io.StringIO()
    doc = CommentedMap()
    doc[key] = _node(value)
    _yaml().dump(doc, buf)
    pad = " " * indent
    return [pad + line if line else line for line in buf.getvalue().splitlines()]


# --- sections -------------------------------------------------------------------------------


def _is_filler(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _trailing_filler(lines: list[str], start: int, end: int) -> int:
    """The first index of the blank/comment lines that end ``lines[start:end]``."""
    while end > start and _is_filler(lines[end - 1]):
        end -= 1
    return end


def split_section(lines: list[str], doc: CommentedMap, name: str, where: str) -> Section | None:
    """Cut a top-level section out of the file's lines; None when the template has no such key."""
    if name not in doc:
        return None
    keys = list(doc.keys())
    start = doc.lc.key(name)[0]
    pos = keys.index(name)
    stop = doc.lc.key(keys[pos + 1])[0] if pos + 1 < len(keys) else len(lines)
    stop = _trailing_filler(lines, start + 1, stop)  # comments above the next section stay with it
    value = doc[name]
    if value is None:
        return Section(lines[start:start + 1], [], lines[start + 1:stop], 2)
    if not isinstance(value, CommentedMap):
        raise TemplateError(f"{where}:{start + 1}: {name} is not a mapping; write it as `{name}:` with one entry per line")
    if value.fa.flow_style():
        if value:
            raise TemplateError(f"{where}:{start + 1}: {name} is written in flow style ({{...}}); write it in block style, one entry per line")
        return Section([lines[start].split(":", 1)[0] + ":"], [], lines[start + 1:stop], 2)
    entry_keys = list(value.keys())
    firsts = [value.lc.key(k)[0] for k in entry_keys]
    if any(f <= start for f in firsts):
        raise TemplateError(f"{where}:{start + 1}: {name} starts on its key's line; put each entry on a line of its own")
    indent = value.lc.key(entry_keys[0])[1] if entry_keys else 2
    entries: list[Entry] = []
    prev_end = start + 1
    for i, key in enumerate(entry_keys):
        first = firsts[i]
        nxt = firsts[i + 1] if i + 1 < len(firsts) else stop
        end = _trailing_filler(lines, first + 1, nxt)
        entries.append(Entry(str(key), lines[prev_end:first], lines[first:end]))
        prev_end = end
    return Section(lines[start:start + 1], entries, lines[prev_end:stop], indent)


def _insert_section(lines: list[str], doc: CommentedMap, name: str, before: Iterable[str]) -> list[str]:
    """The lines with an empty top-level section added above the first of ``before`` present, else at the end."""
    for other in before:
        if other in doc:
            at = doc.lc.key(other)[0]
            while at > 0 and lines[at - 1].strip().startswith("#"):
                at -= 1  # a comment right above a section is about that section
            return lines[:at] + [f"{name}:", ""] + lines[at:]
    lines = list(lines)
    while lines and not lines[-1].strip():
        lines.pop()
    return lines + ["", f"{name}:"]


def update_section(text: str, doc: CommentedMap, name: str, groups: Mapping[str, Mapping[str, Any]], remove: set[str],
                   before: Iterable[str] = (), where: str = "template.yaml") -> str:
    """The text with one section's generated entries merged (see ``merge``); ``doc`` is ``text`` parsed.

    A missing section is added only when there is something to put in it; a section that ``merge``
    empties is removed, since CloudFormation rejects an empty ``Outputs:``.
    """
    if not any(groups.values()) and not (name in doc and isinstance(doc[name], dict) and remove & set(doc[name])):
        return text  # nothing to add, nothing of ours to take away
    lines = text.splitlines()
    if name not in doc:
        lines = _insert_section(lines, doc, name, before)
        text = "\n".join(lines) + "\n"
        doc = load(text, where)
    section = split_section(lines, doc, name, where)
    assert section is not None
    start, size, had = doc.lc.key(name)[0], len(section.lines()), bool(section.entries)
    merge(section, groups, remove)
    if had and not section.entries:
        section.head = []
    return "\n".join(lines[:start] + section.lines() + lines[start + size:]) + "\n"


def ensure_transform(text: str, doc: CommentedMap, where: str) -> str:
    """The text, declaring the SAM transform that the generated resources need."""
    transform = doc.get("Transform")
    if transform == SERVERLESS_TRANSFORM or (isinstance(transform, list) and SERVERLESS_TRANSFORM in transform):
        return text
    if transform is not None:
        line = doc.lc.key("Transform")[0] + 1
        raise TemplateError(f"{where}:{line}: Transform does not include {SERVERLESS_TRANSFORM}; add it (a list may hold several transforms)")
    lines = text.splitlines()
    at = doc.lc.key("AWSTemplateFormatVersion")[0] + 1 if "AWSTemplateFormatVersion" in doc else 0
    return "\n".join(lines[:at] + [f"Transform: {SERVERLESS_TRANSFORM}"] + lines[at:]) + "\n"


# --- merging --------------------------------------------------------------------------------


def merge(section: Section, groups: Mapping[str, Mapping[str, Any]], remove: set[str]) -> None:
    """Set each group's entries in place (in order, next to each other when new), and delete ``remove``.

    ``groups`` maps an owner (a saga) to its entries in their generated order. An entry that already
    exists keeps its position; a new one goes right after the entry generated before it, or, for a
    group with no entry yet, at the end of the section.
    """
    wanted = {k for entries in groups.values() for k in entries}
    for key in remove - wanted:
        i = section.index(key)
        if i < 0:
            continue
        gone = section.entries.pop(i)
        if any(line.strip() for line in gone.gap):  # a user's comment above it: keep it for what follows
            # The blank lines that separated the gone entry from the next one go with it.
            if i < len(section.entries):
                section.entries[i].gap = gone.gap + [line for line in section.entries[i].gap if line.strip()]
            else:
                section.tail = gone.gap + section.tail
        elif i == 0 and section.entries and not any(line.strip() for line in section.entries[0].gap):
            # The entry that becomes first sits as the gone one did under the section's key (an entry put
            # first pushed the old first one down with a blank line: taking it away undoes that).
            section.entries[0].gap = gone.gap
    for entries in groups.values():
        present = [section.index(k) for k in entries if section.index(k) >= 0]
        # A group's first new entry goes above its oldest one, or at the end when it has none yet.
        anchor = min(present) - 1 if present else len(section.entries) - 1
        for key, value in entries.items():
            body = emit(key, value, section.indent)
            i = section.index(key)
            if i >= 0:
                section.entries[i].body = body
                anchor = i
                continue
            at = anchor + 1
            section.entries.insert(at, Entry(key, [""] if at > 0 else [], body))
            if at == 0 and len(section.entries) > 1 and not section.entries[1].gap:
                section.entries[1].gap = [""]
            anchor = at
