"""The compensation of contract_tasks.charge: nothing to undo."""


def handler(event, context):
    return {"refunded": False}
