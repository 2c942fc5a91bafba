"""A workflow written with the AWS Step Functions Data Science SDK (``pip install 'stepsaga[sdk]'``), and the
Python handlers of its two Lambda functions, to lint, run locally and template with stepsaga:

    stepsaga sdk import examples/sdk_workflow.py:workflow
    stepsaga sdk import examples/sdk_workflow.py:workflow --template

and in Python, ``run_definition(from_sdk(workflow), {"order_id": "o-1", "amount": 30}, handlers=HANDLERS)``.
"""

from stepfunctions.steps import Catch, Chain, Fail, LambdaStep, Retry, Succeed

charge = LambdaStep(
    "Charge",
    parameters={"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:charge", "Payload.$": "$"},
    result_path="$.charge",
)
charge.add_retry(Retry(error_equals=["GatewayTimeout"], interval_seconds=2, max_attempts=3, backoff_rate=2.0))
charge.add_catch(Catch(error_equals=["CardDeclined"], next_step=Fail("Declined", error="CardDeclined", cause="the card was declined")))
receipt = LambdaStep(
    "SendReceipt",
    parameters={"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:receipt", "Payload.$": "$"},
    result_path="$.receipt",
)
workflow = Chain([charge, receipt, Succeed("Done")])


def charge_handler(event: dict, context: object) -> dict:
    """Charge the order: a card declines above 100."""
    if event["amount"] > 100:
        raise type("CardDeclined", (Exception,), {})("amount over the limit")
    return {"charged": event["amount"]}


def receipt_handler(event: dict, context: object) -> dict:
    """Send the receipt of what was charged."""
    return {"sent_for": event["charge"]["Payload"]["charged"]}


HANDLERS = {"charge": charge_handler, "receipt": receipt_handler}
