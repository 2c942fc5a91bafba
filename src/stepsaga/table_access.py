"""How a step or compensation uses a table: the DynamoDB IAM actions its function is granted.

A step declares its tables as a list (``tables=["orders"]``: the ``read-write`` default) or as a
mapping from table to access (``tables={"orders": "read", "payments": ["GetItem", "PutItem"]}``).
An access is a preset, an IAM action name, or a list mixing both; the generated role gets exactly
their union. The action names and their meaning follow the Service Authorization Reference, Amazon
DynamoDB (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html).

Only the standard library is imported here: the model validates accesses on the compile path.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

#: IAM actions a saga handler may be granted on one of its tables (item and table reads and writes).
TABLE_ACTIONS = (
    "GetItem", "BatchGetItem", "Query", "Scan", "ConditionCheckItem",
    "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem",
    "PartiQLSelect", "PartiQLInsert", "PartiQLUpdate", "PartiQLDelete",
    "DescribeTable",
)

#: Named accesses. "read" is AWS's read-only item policy without Scan: a Scan reads every item, so a
#: step that scans says so (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-only-permissions-on-table-items.html).
PRESETS: dict[str, tuple[str, ...]] = {
    "read": ("GetItem", "BatchGetItem", "Query", "ConditionCheckItem"),
    "write": ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"),
}
PRESETS["read-write"] = PRESETS["read"] + PRESETS["write"]

#: What ``tables=["orders"]`` means: read and write items, but no Scan, PartiQL or DescribeTable.
DEFAULT_ACCESS = "read-write"

#: API operations that have no IAM action of their own: each item they touch is authorised by the
#: item action (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html).
COMPOSITE_OPERATIONS = {
    "TransactWriteItems": "PutItem, UpdateItem, DeleteItem or ConditionCheckItem for the kinds of item it writes (Put, Update, Delete, ConditionCheck)",
    "TransactGetItems": "GetItem",
    "ExecuteStatement": "PartiQLSelect, PartiQLInsert, PartiQLUpdate or PartiQLDelete",
    "BatchExecuteStatement": "PartiQLSelect, PartiQLInsert, PartiQLUpdate or PartiQLDelete",
}

#: Actions that may target the table's indexes too (``table/<name>/index/*``).
INDEX_ACTIONS = ("Query", "Scan", "PartiQLSelect")


def access_words(access: object) -> tuple[object, ...]:
    """A declared access as a tuple of words: ``"read"`` -> ("read",); a list stays as given."""
    if isinstance(access, str):
        return (access,)
    if isinstance(access, (list, tuple)):
        return tuple(access)
    return (access,)


def actions(access: str | Sequence[str]) -> tuple[str, ...]:
    """The IAM action names an access grants, in ``TABLE_ACTIONS`` order; the access must be valid."""
    wanted: set[str] = set()
    for word in access_words(access):
        wanted.update(PRESETS.get(word, (word,)))  # type: ignore[arg-type]
    return tuple(a for a in TABLE_ACTIONS if a in wanted)


def access_problems(access: object, where: str) -> list[tuple[str, str, str]]:
    """(field, what is wrong, what to write instead) for each word of an access that is not valid."""
    words = access_words(access)
    if not words:
        return [(where, "is empty", f"write {DEFAULT_ACCESS!r}, 'read', 'write' or the exact actions, for example ['GetItem', 'PutItem']")]
    out: list[tuple[str, str, str]] = []
    for i, word in enumerate(words):
        at = where if len(words) == 1 and isinstance(access, str) else f"{where}[{i}]"
        if not isinstance(word, str):
            out.append((at, f"is {type(word).__name__}, not an access", "write 'read', 'write', 'read-write' or a DynamoDB action such as 'GetItem'"))
        elif word in PRESETS or word in TABLE_ACTIONS:
            continue
        elif word.startswith("dynamodb:") and word[len("dynamodb:"):] in TABLE_ACTIONS:
            out.append((at, f"is {word!r}; actions are written without the service prefix", f"write {word[len('dynamodb:'):]!r}"))
        elif word in COMPOSITE_OPERATIONS:
            out.append((at, f"is {word!r}, an API operation with no IAM action of its own (each item it touches is authorised on its own)", f"list {COMPOSITE_OPERATIONS[word]}"))
        else:
            out.append((at, f"is {word!r}, neither an access ({', '.join(PRESETS)}) nor a DynamoDB action a handler may use", f"did you mean {_suggest(word, (*PRESETS, *TABLE_ACTIONS))!r}?"))
    return out


def _suggest(word: str, choices: Iterable[str]) -> str:
    import difflib  # only on the error path

    options = list(choices)
    lowered = {c.lower(): c for c in options}
    match = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.4)
    return lowered[match[0]] if match else DEFAULT_ACCESS
