"""A handler that breaks (or keeps) the business-error contract on demand, for tests/functional/test_contract.py."""

import os

import boto3


class Declined(Exception):
    """The declared business error."""


def handler(event, context):
    ledger = boto3.resource("dynamodb").Table(os.environ["LEDGER_TABLE"])
    mode = event["input"]["mode"]
    if mode in ("write", "undo", "rewrite", "ok"):
        ledger.put_item(Item={"id": "charge-1", "amount": "10.00"})
    if mode == "undo":
        ledger.delete_item(Key={"id": "charge-1"})  # put right before raising: the contract holds
    if mode == "audit":
        # The step does not declare audit, so its environment has no AUDIT_TABLE (as on Lambda): the
        # test passes the physical name in, as a handler might hard-code a table it should not touch.
        audit = boto3.resource("dynamodb").Table(event["input"]["audit_table"])
        audit.put_item(Item={"id": "note-1", "text": "declined"})  # a table the step does not declare
    if mode == "ok":
        return {"charged": False}
    raise Declined(f"declined ({mode})")
