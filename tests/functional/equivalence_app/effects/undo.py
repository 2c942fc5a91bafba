"""A generated saga's compensation: undoes its step's effect if there is one (a no-op otherwise), and counts calls."""

import _db as db  # the code folder is the import root, as on Lambda


def handler(event, context):
    table = db.table()
    undo_key = {"pk": f"{event['saga_id']}#{event['step']}"}
    table.update_item(Key=undo_key, UpdateExpression="ADD calls :one", ExpressionAttributeValues={":one": 1})
    effect = table.get_item(Key={"pk": f"{event['saga_id']}#{event['compensates']}"}, ConsistentRead=True).get("Item")
    if effect is None or "applied_by" not in effect:
        return {"undone": False}
    table.update_item(Key={"pk": effect["pk"]}, UpdateExpression="SET undone = :t", ExpressionAttributeValues={":t": True})
    return {"undone": True, "error": (event.get("error") or {}).get("Error")}
