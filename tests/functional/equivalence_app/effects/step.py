"""A generated saga's step: records its effect once per saga, and counts every call, for the equivalence test.

The row ``<saga_id>#<step>`` is the step's business effect, written once (a conditional put keyed on the
idempotency key, as a real handler guards its charge); ``calls`` counts every invocation, so a step called
more often in one mode than the other shows in the final table.
"""

import os

import boto3
from botocore.exceptions import ClientError

_TABLE = None


def _table():
    global _TABLE
    if _TABLE is None:  # once per execution environment, as Lambda rewards
        _TABLE = boto3.resource("dynamodb").Table(os.environ["EFFECTS_TABLE"])
    return _TABLE


def handler(event, context):
    table = _table()
    key = {"pk": f"{event['saga_id']}#{event['step']}"}
    table.update_item(Key=key, UpdateExpression="ADD calls :one", ExpressionAttributeValues={":one": 1})
    try:
        table.update_item(
            Key=key,
            UpdateExpression="SET applied_by = :k, seen = :seen",
            ConditionExpression="attribute_not_exists(applied_by)",
            ExpressionAttributeValues={":k": event["idempotency_key"], ":seen": sorted(event["results"])},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
    return {"step": event["step"], "after": sorted(event["results"])}
