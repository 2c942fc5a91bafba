"""The effects table of the generated sagas' handlers, one resource per execution environment (as Lambda rewards)."""

import os

import boto3

_TABLE = None


def table():
    """The table named by EFFECTS_TABLE, made on first use."""
    global _TABLE
    if _TABLE is None:
        _TABLE = boto3.resource("dynamodb").Table(os.environ["EFFECTS_TABLE"])
    return _TABLE
