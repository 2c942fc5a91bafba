"""Starting a saga: its ``Started`` event, from an HTTP request (API Gateway) or from an EventTrigger's event.

The saga id is fixed when the saga starts and carried by every later event. API Gateway's ``PutEvents``
integration takes it from the request id (the template's mapping template); an EventTrigger's event gives
its own EventBridge ``id``, so the same event delivered twice starts the same saga, whose ``Started`` event
has the same ``event_id`` — and every consumer skips the copy. The ``SagaStart`` consumer is this module's
``handler``, fed by the trigger rule's queue.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from stepsaga.choreography.events import EventDetail, event_id, put_events_entry

#: The producer of a Started event put by API Gateway, and by the embedded runtime's run().
API_PRODUCER = "api"


def started_detail(saga: str, detail_type: str, saga_id: str, input: Any, producer: str, time_ms: int) -> EventDetail:
    """The detail of a saga's Started event; ``pydantic.ValidationError`` when ``input`` is not a JSON object."""
    return EventDetail.model_validate({
        "saga": saga, "saga_id": saga_id, "correlation_id": saga_id, "causation_id": None,
        "event_id": event_id(saga, saga_id, detail_type), "seq": 0, "producer": producer, "step": None, "attempt": None,
        "attempts": [], "input": input, "results": {}, "compensated": {}, "error": None, "business_error": None,
        "compensation_error": None, "time_ms": time_ms,
    })


def started_entry(config: dict[str, Any], saga_id: str, input: Any, producer: str, bus: str, time_ms: int) -> dict[str, Any]:
    """The PutEvents entry that starts a saga, from a start configuration (``config.consumer_config`` of SagaStart)."""
    name = config["on_success"][0]
    return put_events_entry(name, config["sources"][name], started_detail(config["saga"], name, saga_id, input, producer, time_ms), bus)


class Starter:
    """``SagaStart``: each SQS record holds an EventTrigger's event; its detail is the saga input, its id the saga id.

    ``events`` is a boto3 ``events`` client, ``bus`` the saga's bus, ``now`` the time in epoch seconds.
    """

    def __init__(self, config: dict[str, Any], events: Any, bus: str, now: Any = time.time) -> None:
        self.config, self.events, self.bus, self.now = config, events, bus, now

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """Start a saga per record; a record whose detail is not a JSON object, or whose PutEvents fails, is
        reported in ``batchItemFailures`` (it comes back, then goes to the dead-letter queue)."""
        from aws_lambda_powertools.utilities.parser.models import EventBridgeModel, SqsModel

        failures = []
        for record in SqsModel.model_validate(event).Records:
            try:
                trigger = EventBridgeModel.model_validate_json(str(record.body))
                entry = started_entry(self.config, trigger.id, trigger.detail, "trigger", self.bus, int(self.now() * 1000))
                response = self.events.put_events(Entries=[entry])
                if response.get("FailedEntryCount"):
                    raise RuntimeError(f"PutEvents rejected the Started event: {response['Entries'][0].get('ErrorCode')}")
            except Exception as exc:  # noqa: BLE001 - the record comes back, then goes to the dead-letter queue
                print(json.dumps({"level": "ERROR", "message": "saga not started", "messageId": record.messageId, "error": str(exc)}))
                failures.append({"itemIdentifier": record.messageId})
        return {"batchItemFailures": failures}


_STARTER: Starter | None = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``SagaStart``'s Lambda (``Handler: stepsaga.choreography.start.handler``)."""
    global _STARTER
    if _STARTER is None:
        import boto3

        from stepsaga.names import CONSUMER_CONFIG_ENV, EVENT_BUS_ENV

        _STARTER = Starter(json.loads(os.environ[CONSUMER_CONFIG_ENV]), boto3.client("events"), os.environ[EVENT_BUS_ENV])
    return _STARTER.handle(event, context)
