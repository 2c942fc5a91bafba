"""An in-process EventBridge bus with EventBridge's delivery semantics, on the run's virtual clock.

moto's EventBridge does not serve a choreography (docs/decisions.md): it delivers inside ``put_events``,
raises target errors to the caller, ignores ``RetryPolicy`` and ``DeadLetterConfig``, and matches a pattern
with an unknown operator against everything. This bus keeps to what EventBridge documents:

* ``PutEvents`` checks each entry and the request's size, answers with an ``EventId`` or an ``ErrorCode`` per
  entry, and returns before anything is delivered: delivery is asynchronous;
* each event is matched against the bus's rules with ``stepsaga.choreography.pattern`` (exact EventBridge
  semantics). Rules are indexed on the exact ``source`` and ``detail-type`` values their patterns require, so
  matching an event costs the same with 10 rules or 1,000;
* each matching rule's target gets its own copy; a target that fails is retried with exponential backoff
  until its ``RetryPolicy`` (attempts, event age) is spent, then the event goes to the target's
  ``DeadLetterConfig`` queue with EventBridge's message attributes (``RULE_ARN``, ``TARGET_ARN``,
  ``ERROR_CODE``, ``ERROR_MESSAGE``);
* delivery faults act on a consumer's deliveries: duplicated, delayed, reordered, or undeliverable.

Boto3 clients reach the bus through ``client()``: a real ``events`` client whose ``PutEvents`` calls stop at
botocore's ``before-call`` hook, after botocore checked their parameters, and go to this bus.
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html,
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stepsaga.choreography.limits import MAX_PUT_EVENTS_BYTES, TARGET_MAX_EVENT_AGE_SECONDS, TARGET_MAX_RETRY_ATTEMPTS
from stepsaga.choreography.pattern import Pattern, compile_pattern
from stepsaga.local.faults import Delay, DeliveryFault, Duplicate, Reorder, Undeliverable

#: EventBridge's first retry of a failed target comes after about a second, then the wait doubles (with jitter),
#: up to a few minutes between attempts; 185 attempts span the 24 hours of the default policy.
FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_WAIT_SECONDS = 600.0


class Scheduler:
    """The run's virtual time: callbacks due at virtual seconds, run in time order (ties in scheduling order)."""

    def __init__(self, clock: Any) -> None:
        import heapq

        self._heapq = heapq
        self.clock = clock  # a stepsaga.local.engine.VirtualClock
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = 0

    def at(self, when: float, callback: Callable[[], None]) -> None:
        """Run ``callback`` at virtual second ``when`` (now, if that is past)."""
        self._seq += 1
        self._heapq.heappush(self._heap, (max(when, self.clock.now), self._seq, callback))

    def after(self, seconds: float, callback: Callable[[], None]) -> None:
        """Run ``callback`` ``seconds`` from now."""
        self.at(self.clock.now + seconds, callback)

    def pending(self) -> int:
        """How many callbacks are due."""
        return len(self._heap)

    def step(self) -> bool:
        """Run the next callback, advancing the clock to its time; False when nothing is due."""
        if not self._heap:
            return False
        when, _, callback = self._heapq.heappop(self._heap)
        if when > self.clock.now:
            self.clock.advance(when - self.clock.now, "delivery", None)
        callback()
        return True


@dataclass
class Target:
    """A rule's target: ``send(event_json)`` delivers (raises on failure); its retry policy and DLQ."""

    id: str
    arn: str
    send: Callable[[str], None]
    consumer: str | None = None  # the consumer whose queue this is (delivery faults are keyed by it)
    max_retry_attempts: int = TARGET_MAX_RETRY_ATTEMPTS
    max_event_age_seconds: int = TARGET_MAX_EVENT_AGE_SECONDS
    dead_letter: Callable[[str, dict[str, Any]], None] | None = None  # (message body, attributes)


@dataclass
class Rule:
    """A rule on the bus: its compiled pattern and targets."""

    name: str
    arn: str
    pattern: Pattern
    targets: list[Target]
    enabled: bool = True


@dataclass
class _DeliveryFaults:
    """The delivery faults of one consumer, and how many of its deliveries they have acted on."""

    faults: tuple[DeliveryFault, ...]
    deliveries: int = 0
    failed_attempts: int = 0


@dataclass
class Delivery:
    """One delivery of an event to a target, for the run's record."""

    at: float
    rule: str
    target: str
    consumer: str | None
    detail_type: str
    event_id: str
    outcome: str  # "delivered" | "failed" | "dead_lettered"
    attempt: int = 1
    injected: str | None = None


class EventBus:
    """One custom event bus: rules, PutEvents, and deliveries on the scheduler's clock."""

    def __init__(self, name: str, account: str, region: str, scheduler: Scheduler, epoch: float,
                 faults: dict[str, tuple[DeliveryFault, ...]] | None = None) -> None:
        self.name, self.account, self.region = name, account, region
        self.arn = f"arn:aws:events:{region}:{account}:event-bus/{name}"
        self.scheduler, self.epoch = scheduler, epoch
        self.rules: dict[str, Rule] = {}
        self._index: dict[tuple[str, str], list[Rule]] = {}
        self._by_source: dict[str, list[Rule]] = {}
        self._unindexed: list[Rule] = []
        self._faults = {consumer: _DeliveryFaults(tuple(f)) for consumer, f in (faults or {}).items()}
        self._held: list[Callable[[], None]] = []  # reordered deliveries, let go after the next delivery
        self._published_at: dict[str, float] = {}  # envelope id -> virtual second it was put
        self.deliveries: list[Delivery] = []
        self.published: list[dict[str, Any]] = []  # every event put on the bus, as delivered

    # --- rules -------------------------------------------------------------------------------

    def put_rule(self, name: str, pattern: dict[str, Any], targets: list[Target]) -> Rule:
        """Add (or replace) a rule; ``PatternError`` if EventBridge would reject the pattern."""
        rule = Rule(name, f"arn:aws:events:{self.region}:{self.account}:rule/{self.name}/{name}", compile_pattern(pattern), targets)
        if name in self.rules:
            self._unindex(self.rules[name])
        self.rules[name] = rule
        sources, types = rule.pattern.exact_values("source"), rule.pattern.exact_values("detail-type")
        if sources is not None and types is not None:
            for key in ((s, t) for s in sources for t in types):
                self._index.setdefault(key, []).append(rule)
        elif sources is not None:
            for s in sources:
                self._by_source.setdefault(s, []).append(rule)
        else:
            self._unindexed.append(rule)
        return rule

    def _unindex(self, rule: Rule) -> None:
        for rules in (*self._index.values(), *self._by_source.values(), self._unindexed):
            if rule in rules:
                rules.remove(rule)

    def candidates(self, source: str, detail_type: str) -> list[Rule]:
        """The rules that could match an event with this source and detail-type (each once, in order added)."""
        found = self._index.get((source, detail_type), []) + self._by_source.get(source, []) + self._unindexed
        seen: set[str] = set()
        return [r for r in found if not (r.name in seen or seen.add(r.name))]  # type: ignore[func-returns-value]

    # --- PutEvents ---------------------------------------------------------------------------

    def put_events(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        """EventBridge's ``PutEvents``: the response ``{"FailedEntryCount", "Entries"}``; ``ValueError`` (the
        request's ``ValidationException``) when the entries together are over 256 KB."""
        from stepsaga.choreography.events import request_size

        if request_size(entries) > MAX_PUT_EVENTS_BYTES:
            raise ValueError(f"Total size of the entries in the request is over the limit ({request_size(entries)} bytes, at most {MAX_PUT_EVENTS_BYTES})")
        results, failed = [], 0
        for entry in entries:
            problem = self._entry_problem(entry)
            if problem is not None:
                failed += 1
                results.append({"ErrorCode": problem[0], "ErrorMessage": problem[1]})
                continue
            event = self._envelope(entry)
            results.append({"EventId": event["id"]})
            self.published.append(event)
            self._published_at[event["id"]] = self.scheduler.clock.now
            # Asynchronous: the entry is accepted now and delivered after PutEvents returns.
            self.scheduler.after(0.0, lambda event=event: self._route(event))
        return {"FailedEntryCount": failed, "Entries": results}

    def _entry_problem(self, entry: dict[str, Any]) -> tuple[str, str] | None:
        bus = entry.get("EventBusName") or "default"
        if bus not in (self.name, self.arn):
            return "InvalidArgument", f"Event bus {bus} does not exist."
        for key in ("Source", "DetailType", "Detail"):
            if not entry.get(key):
                return "InvalidArgument", f"Parameter {key} is not valid. Reason: {key} is a required argument."
        try:
            detail = json.loads(entry["Detail"])
        except ValueError:
            return "MalformedDetail", "Detail is malformed."
        if not isinstance(detail, dict):
            return "MalformedDetail", "Detail is malformed."
        if str(entry["Source"]).lower().startswith("aws."):
            return "NotAuthorizedForSourceException", "Not authorized for the source."
        return None

    def _envelope(self, entry: dict[str, Any]) -> dict[str, Any]:
        when = datetime.datetime.fromtimestamp(self.epoch + self.scheduler.clock.now, tz=datetime.timezone.utc)
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": entry["DetailType"],
            "source": entry["Source"],
            "account": self.account,
            "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.region,
            "resources": list(entry.get("Resources") or []),
            "detail": json.loads(entry["Detail"]),
        }

    # --- delivery ----------------------------------------------------------------------------

    def _route(self, event: dict[str, Any]) -> None:
        for rule in self.candidates(event["source"], event["detail-type"]):
            if rule.enabled and rule.pattern.matches(event):
                for target in rule.targets:
                    self._deliver(event, rule, target)

    def _deliver(self, event: dict[str, Any], rule: Rule, target: Target) -> None:
        faults = self._faults.get(target.consumer or "")
        if faults is not None:
            faults.deliveries += 1
        # Each fault acts on every delivery to its consumer, or on the first N (attempts=N); Undeliverable
        # counts EventBridge's delivery attempts instead (in _attempt).
        acting = [f for f in faults.faults if not isinstance(f, Undeliverable) and f.applies(faults.deliveries)] if faults else []
        if not acting:
            self._attempt(event, rule, target, 1, None)
            return
        delay = sum(f.seconds for f in acting if isinstance(f, Delay))
        copies = sum(f.copies for f in acting if isinstance(f, Duplicate))
        reorder = any(isinstance(f, Reorder) for f in acting)
        tag = ",".join(type(f).__name__.lower() for f in acting)

        def go(copy: int) -> None:
            self._attempt(event, rule, target, 1, tag if copy == 0 else f"{tag} (copy {copy})")

        for copy in range(copies + 1):
            send = (lambda copy=copy: go(copy))
            if reorder and copy == 0:
                self._held.append(send)
            elif delay and copy == 0:
                self.scheduler.after(delay, send)
            else:
                self.scheduler.after(0.0, send)

    def _attempt(self, event: dict[str, Any], rule: Rule, target: Target, attempt: int, injected: str | None) -> None:
        now = self.scheduler.clock.now
        faults = self._faults.get(target.consumer or "")
        undeliverable = next((f for f in faults.faults if isinstance(f, Undeliverable)), None) if faults else None
        detail = event["detail"]
        record = lambda outcome: self.deliveries.append(Delivery(  # noqa: E731
            now, rule.name, target.id, target.consumer, event["detail-type"], str(detail.get("event_id", event["id"])), outcome, attempt, injected))
        error: tuple[str, str] | None = None
        if undeliverable is not None and faults is not None and (undeliverable.attempts is None or faults.failed_attempts < undeliverable.attempts):
            faults.failed_attempts += 1
            error = ("SQS.AccessDenied", f"injected: EventBridge could not send to {target.arn}")
            injected = "undeliverable"
        else:
            try:
                target.send(json.dumps(event, separators=(",", ":")))
            except Exception as exc:  # noqa: BLE001 - a target's failure is EventBridge's to retry
                error = (type(exc).__name__, str(exc))
        self._release_held()
        if error is None:
            record("delivered")
            return
        age = now - self._published_at.get(event["id"], now)
        wait = min(MAX_RETRY_WAIT_SECONDS, FIRST_RETRY_SECONDS * 2 ** (attempt - 1))
        if attempt <= target.max_retry_attempts and age + wait <= target.max_event_age_seconds:
            record("failed")
            self.scheduler.after(wait, lambda: self._attempt(event, rule, target, attempt + 1, injected))
            return
        record("dead_lettered")
        if target.dead_letter is not None:
            target.dead_letter(json.dumps(event, separators=(",", ":")), {
                "RULE_ARN": rule.arn, "TARGET_ARN": target.arn, "ERROR_CODE": error[0], "ERROR_MESSAGE": error[1][:256],
            })

    def _release_held(self) -> None:
        held, self._held = self._held, []
        for send in held:
            self.scheduler.after(0.0, send)

    def drain_held(self) -> bool:
        """Let go of reordered deliveries that no later delivery overtook; True if there were any."""
        if not self._held:
            return False
        self._release_held()
        return True

    # --- boto3 -------------------------------------------------------------------------------

    def client(self, make_client: Callable[[], Any]) -> Any:
        """A boto3 ``events`` client (from ``make_client``) whose ``PutEvents`` go to this bus (``routed_client``)."""
        return routed_client(make_client(), lambda: self)


def routed_client(client: Any, bus: Callable[[], EventBus]) -> Any:
    """``client``, a boto3 ``events`` client, whose ``PutEvents`` go to ``bus()``, the bus at the time of each call.

    botocore validates the parameters first; the ``before-call`` hook answers instead of the HTTP call. A
    choreography's client is made once per cloud and answered by the bus of the run in progress.
    """
    from botocore.awsrequest import AWSResponse

    def answer(params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
        body = json.loads(params["body"])
        try:
            parsed: dict[str, Any] = bus().put_events(body.get("Entries", []))
            status = 200
        except ValueError as exc:
            parsed, status = {"Error": {"Code": "ValidationException", "Message": str(exc)}}, 400
        parsed["ResponseMetadata"] = {"HTTPStatusCode": status, "RequestId": str(uuid.uuid4()), "HTTPHeaders": {}, "RetryAttempts": 0}
        return AWSResponse("https://events.local/", status, {}, None), parsed

    client.meta.events.register("before-call.eventbridge.PutEvents", answer)
    return client
