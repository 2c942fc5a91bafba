"""A generated saga's step: records its effect once per saga, and counts every call, for the equivalence test.

The row ``<saga_id>#<step>`` is the step's business effect, written once (a conditional put keyed on the
idempotency key, as a real handler guards its charge); ``calls`` counts every invocation, so a step called
more often in one mode than the other shows in the final table.
"""

from botocore.exceptions import ClientError

import _db as db  # the code folder is the import root, as on Lambda


def handler(event, context):
    table = db.table()
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
