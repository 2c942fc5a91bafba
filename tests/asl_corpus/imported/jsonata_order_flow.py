# Imported from tests/asl_corpus/jsonata_order_flow.asl.json by `stepsaga import`, as stepsaga's low-level ASL
# builder (stepsaga.asl.builder).
# `stepsaga compile` of this file writes ASL semantically equal to
# tests/asl_corpus/jsonata_order_flow.asl.json (README, "Bring your existing ASL").
#
# Not a saga: no Lambda Task on its path catches into a chain of compensations ending in a Fail state.

from stepsaga.asl.builder import Catcher, Choice, Fail, StateMachine, Succeed, Task, Wait

state_machine = StateMachine(
    name="JsonataOrderFlow",
    comment=(
        "An order flow in JSONata: Arguments, Output and Assign in every kind of state, expressions for "
        "timeouts and waits."
    ),
    query_language="JSONata",
    start_at="PriceOrder",
    states={
        "PriceOrder": Task(
            resource="arn:aws:states:::lambda:invoke",
            arguments={
                "FunctionName": "price-order",
                "Payload": {
                    "lines": "{% $states.input.lines %}",
                    "total": "{% $sum($states.input.lines.(price * quantity)) %}",
                    "currency": "{% $uppercase($states.input.currency) %}",
                },
            },
            output={"orderId": "{% $states.input.orderId %}", "total": "{% $states.result.Payload.total %}"},
            assign={"orderId": "{% $states.input.orderId %}", "price": "{% $states.result.Payload %}"},
            timeout_seconds="{% $states.input.express ? 10 : 60 %}",
            next="Expensive?",
        ),
        "Expensive?": Choice(
            choices=[
                {
                    "Condition": "{% $states.input.total > 500 and $not($contains($states.input.orderId, 'TEST')) %}",
                    "Next": "HoldForReview",
                },
            ],
            default="Confirm",
        ),
        "HoldForReview": Wait(
            seconds="{% $states.input.total > 5000 ? 3600 : 600 %}",
            assign={"reviewed": True},
            next="Confirm",
        ),
        "Confirm": Task(
            resource="arn:aws:states:::dynamodb:putItem",
            arguments={
                "TableName": "orders",
                "Item": {
                    "id": {"S": "{% $orderId %}"},
                    "total": {"N": "{% $string($price.total) %}"},
                    "confirmedAt": {"S": "{% $now() %}"},
                },
            },
            output="{% $merge([$states.input, {'confirmed': true}]) %}",
            catch=[
                Catcher(
                    error_equals=["States.ALL"],
                    output={"error": "{% $states.errorOutput.Error %}", "orderId": "{% $orderId %}"},
                    next="NotConfirmed",
                ),
            ],
            next="Confirmed",
        ),
        "Confirmed": Succeed(output="{% $states.input %}"),
        "NotConfirmed": Fail(
            error="{% 'OrderNotConfirmed' %}",
            cause="{% 'order ' & $states.input.orderId & ' failed: ' & $states.input.error %}",
        ),
    },
)
