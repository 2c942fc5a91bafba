"""Default names of a saga's domain events, in the past tense: ProcessPayment -> PaymentProcessed.

A step is named verb first (``ProcessPayment``, ``ReserveInventory``, ``SendNotification``), so its
success event is the rest of the name followed by the verb's past participle (``PaymentProcessed``,
``InventoryReserved``, ``NotificationSent``), and its failure event the rest followed by ``Failed``
(``PaymentFailed``). A compensation is named the same way (``RefundPayment`` -> ``PaymentRefunded``).
A name whose first word is not a verb this module knows keeps itself whole: ``Fraud`` -> ``FraudSucceeded``,
``FraudFailed``. Every default can be replaced in the definition (``StepEvents``, ``Compensation(done_event=)``,
``SagaEvents``). Standard library only: on the compile path.
"""

from __future__ import annotations

import re

#: Irregular past participles of verbs a saga step is likely to start with.
_IRREGULAR = {
    "begin": "Begun", "bring": "Brought", "build": "Built", "buy": "Bought", "catch": "Caught", "choose": "Chosen",
    "deal": "Dealt", "do": "Done", "draw": "Drawn", "feed": "Fed", "find": "Found", "forbid": "Forbidden",
    "forget": "Forgotten", "freeze": "Frozen", "get": "Got", "give": "Given", "hold": "Held", "keep": "Kept",
    "lay": "Laid", "lead": "Led", "lend": "Lent", "make": "Made", "meet": "Met", "pay": "Paid", "prepay": "Prepaid",
    "put": "Put", "read": "Read", "rebuild": "Rebuilt", "redo": "Redone", "repay": "Repaid", "resend": "Resent",
    "reset": "Reset", "rewrite": "Rewritten", "ring": "Rung", "run": "Run", "sell": "Sold", "send": "Sent",
    "set": "Set", "shut": "Shut", "sign": "Signed", "spend": "Spent", "split": "Split", "take": "Taken",
    "tell": "Told", "throw": "Thrown", "undo": "Undone", "unfreeze": "Unfrozen", "upset": "Upset",
    "withdraw": "Withdrawn", "write": "Written",
}

#: Regular verbs whose final consonant doubles (stop -> stopped), or that end in -l and double it in the
#: spelling event names commonly use (cancel -> cancelled, as in ``OrderCancelled``).
_DOUBLING = {
    "ban", "bar", "cancel", "chat", "drop", "fit", "flag", "label", "level", "log", "map", "model", "pin",
    "plan", "plug", "rebill", "refuel", "scan", "ship", "signal", "skip", "slot", "stop", "submit", "swap",
    "tag", "tap", "transfer", "travel", "trim", "tip", "unpin", "wrap",
}

#: Regular verbs a step name starts with; the suffix rules below give their past participles.
_REGULAR = {
    "accept", "acknowledge", "activate", "add", "adjust", "allocate", "amend", "apply", "approve", "archive",
    "assign", "attach", "audit", "authorise", "authorize", "award", "backup", "block", "book", "calculate",
    "capture", "certify", "charge", "check", "claim", "clean", "clear", "close", "collect", "commit", "compensate",
    "complete", "compute", "confirm", "connect", "consume", "copy", "create", "credit", "debit", "deactivate",
    "decline", "decrement", "deduct", "delete", "deliver", "deploy", "deposit", "detach", "disable", "dispatch",
    "deny", "email", "emit", "enable", "encrypt", "enqueue", "enrich", "enroll", "evaluate", "expire", "export",
    "extend", "fetch", "file", "fill", "finalise", "finalize", "flush", "fulfil", "fulfill", "generate", "grant",
    "handle", "import", "increment", "index", "initiate", "insert", "inspect", "install", "invoice", "issue",
    "load", "lock", "mail", "mark", "merge", "migrate", "mint", "move", "notify", "open", "order", "pack",
    "park", "parse", "pick", "place", "post", "prepare", "price", "print", "process", "provision", "publish",
    "purchase", "push", "queue", "quote", "rate", "receive", "reconcile", "record", "redeem", "refund",
    "register", "reject", "release", "reload", "remove", "rent", "reopen", "replace", "report", "request",
    "reserve", "restock", "restore", "resume", "return", "revert", "review", "revoke", "route", "save",
    "schedule", "score", "settle", "start", "store", "subscribe", "suspend", "sync", "terminate", "text", "track",
    "transform", "translate", "trigger", "unblock", "unlock", "unregister", "unreserve", "unsubscribe", "update",
    "upgrade", "upload", "validate", "verify", "void", "wait", "warn", "watch",
}

_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z]|[0-9]|$)|[A-Z]?[a-z]+|[0-9]+")


def words(name: str) -> list[str]:
    """A PascalCase name split into words: ``ReserveInventory`` -> ``["Reserve", "Inventory"]``."""
    return _WORDS.findall(name)


def past_participle(verb: str) -> str | None:
    """The capitalised past participle of a known verb (``send`` -> ``Sent``), or None when it is not one."""
    word = verb.lower()
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word in _DOUBLING:
        return (word + word[-1] + "ed").capitalize()
    if word not in _REGULAR:
        return None
    if word.endswith("e"):
        return (word + "d").capitalize()
    if word.endswith("y") and len(word) > 1 and word[-2] not in "aeiou":
        return (word[:-1] + "ied").capitalize()
    return (word + "ed").capitalize()


def _split(name: str) -> tuple[str, str | None]:
    """(the object of the name, the verb's past participle) or (the whole name, None) without a known verb."""
    parts = words(name)
    if len(parts) >= 1 and "".join(parts) == name:
        done = past_participle(parts[0])
        rest = "".join(parts[1:])
        # an event name starts with a letter: Undo1 keeps itself whole (Undo1Done), not 1Undone
        if done is not None and not rest[:1].isdigit():
            return rest, done
    return name, None


def succeeded_event(step: str) -> str:
    """A step's default success event: ``ProcessPayment`` -> ``PaymentProcessed``, ``Charge`` -> ``Charged``."""
    rest, done = _split(step)
    if done is None:
        return f"{step}Succeeded"
    return rest + done


def failed_event(step: str) -> str:
    """A step's default failure event: ``ProcessPayment`` -> ``PaymentFailed``, ``Charge`` -> ``ChargeFailed``."""
    rest, done = _split(step)
    return f"{rest or step}Failed" if done is not None else f"{step}Failed"


def done_event(compensation: str) -> str:
    """A compensation's default done event: ``RefundPayment`` -> ``PaymentRefunded``, ``Undo`` -> ``UndoDone``."""
    rest, done = _split(compensation)
    if done is None:
        return f"{compensation}Done"
    return rest + done


def saga_event(saga: str, what: str) -> str:
    """A saga's own event: (``OrderSaga``, ``Completed``) -> ``OrderSagaCompleted``."""
    return saga + what


def default_source(saga: str) -> str:
    """The EventBridge ``source`` of a saga's events when the definition names none: ``stepsaga.order_saga``."""
    from stepsaga.names import snake_case

    return f"stepsaga.{snake_case(saga)}"
