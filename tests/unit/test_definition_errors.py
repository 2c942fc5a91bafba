"""Bad definitions: each is rejected when built, with a message naming saga, step and field."""

from __future__ import annotations

import pytest

from stepsaga import Compensation, DefinitionError, Retry, Saga, Step, Table

V = Step(
    "ValidateOrder",
    "tasks.validate_order.handler",
    compensation=Compensation("CancelOrder", "compensations.cancel_order.handler"),
    business_errors=["InvalidOrder"],
)
N = Step("SendNotification", "tasks.send_notification.handler", retriable=True)


def pay(**changes: object) -> Step:
    """A valid ProcessPayment step with some fields changed."""
    base: dict[str, object] = dict(
        name="ProcessPayment",
        action="tasks.process_payment.handler",
        compensation=Compensation("RefundPayment", "compensations.refund_payment.handler"),
        business_errors=["PaymentDeclined"],
    )
    base.update(changes)
    return Step(**base)  # type: ignore[arg-type]


BAD_DEFINITIONS = [
    pytest.param(
        lambda: Saga("order saga", [V, pay(), N]),
        "saga order saga: name is 'order saga', but names must be letters and digits starting with a letter (they name states, Lambda functions and CloudFormation resources); write 'OrderSaga'",
        id="saga_name",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", []),
        'saga OrderSaga: steps is empty; give the saga at least one Step',
        id="no_steps",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(name="process-payment"), N]),
        "saga OrderSaga, step process-payment: name is 'process-payment', but names must be letters and digits starting with a letter (they name states, Lambda functions and CloudFormation resources); write 'ProcessPayment'",
        id="step_name_dash",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(name="ValidateOrder"), N]),
        "saga OrderSaga, step ValidateOrder: name is 'ValidateOrder', already the name of step ValidateOrder; give every step and compensation its own name",
        id="duplicate_step",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(compensation=Compensation("CancelOrder", "compensations.x.handler")), N]),
        "saga OrderSaga, step ProcessPayment: compensation.name is 'CancelOrder', already the name of compensation of step ValidateOrder; give every step and compensation its own name",
        id="comp_clash",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(name="SagaFailed"), N]),
        "saga OrderSaga, step SagaFailed: name is 'SagaFailed', a state name the compiler uses itself; write another name, such as 'SagaFailedStep'",
        id="reserved",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(action="process_payment"), N]),
        "saga OrderSaga, step ProcessPayment: action is 'process_payment', not a dotted handler path; write 'package.module.function', for example 'tasks.process_payment.handler'",
        id="bad_action",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(retry=[Retry(["PaymentGatewayTimeout"], max_attempts=-1)]), N]),
        'saga OrderSaga, step ProcessPayment: retry[0].max_attempts is -1, but ASL MaxAttempts counts retries and must be a whole number from 0; write max_attempts=3 (the default), or 0 for no retries',
        id="neg_attempts",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(retry=[Retry(["PaymentGatewayTimeout"], interval_seconds=0)]), N]),
        'saga OrderSaga, step ProcessPayment: retry[0].interval_seconds is 0, but ASL needs a whole number of seconds from 1; write interval_seconds=1 or more',
        id="interval_zero",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(retry=[Retry(["PaymentGatewayTimeout"], backoff_rate=0.5)]), N]),
        'saga OrderSaga, step ProcessPayment: retry[0].backoff_rate is 0.5, but ASL BackoffRate must be 1.0 or more; write backoff_rate=2.0 (the default), or 1.0 for a fixed interval',
        id="backoff",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(retry=[Retry(["PaymentGatewayTimeout"], max_delay_seconds=0)]), N]),
        'saga OrderSaga, step ProcessPayment: retry[0].max_delay_seconds is 0, but ASL MaxDelaySeconds must be a whole number from 1 to 31622400; write max_delay_seconds=60, or leave it out for no cap',
        id="max_delay",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(retry=[Retry(["PaymentGatewayTimeout"], jitter="full")]), N]),
        "saga OrderSaga, step ProcessPayment: retry[0].jitter is 'full', but ASL JitterStrategy is FULL or NONE; write jitter='FULL'",
        id="jitter",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(retry=[Retry([])]), N]),
        "saga OrderSaga, step ProcessPayment: retry[0].errors is empty; name the errors to retry, for example Retry(['PaymentGatewayTimeout'])",
        id="empty_errors",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(retry=[Retry(["States.ALL", "PaymentGatewayTimeout"])]), N]),
        'saga OrderSaga, step ProcessPayment: retry[0].errors mixes States.ALL with other names; write States.ALL alone, in a retrier of its own placed last',
        id="all_mixed",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(retry=[Retry(["States.ALL"]), Retry(["PaymentGatewayTimeout"])]), N]),
        'saga OrderSaga, step ProcessPayment: retry[0] catches States.ALL but is not the last retrier; move the States.ALL retrier to the end of the list',
        id="all_not_last",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(retry=[Retry(["States.Timout"])]), N]),
        "saga OrderSaga, step ProcessPayment: retry[0].errors[0] is 'States.Timout', which is not a States Language error; did you mean 'States.Timeout'?",
        id="unknown_states",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(retry=[Retry(["PaymentDeclined"])]), N]),
        "saga OrderSaga, step ProcessPayment: business_errors[0] 'PaymentDeclined' is also retried, but a business error means the step did not apply and must not be retried; remove 'PaymentDeclined' from retry or from business_errors",
        id="business_retried",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(business_errors=["States.TaskFailed"]), N]),
        "saga OrderSaga, step ProcessPayment: business_errors[0] is 'States.TaskFailed', but business errors are the exceptions your Lambda raises; name an exception class such as 'PaymentDeclined'",
        id="business_states",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(retriable=True, business_errors=[]), N]),
        'saga OrderSaga, step ProcessPayment: compensation is set on a retriable step, but retriable steps come after the point of no return and are never compensated; remove compensation=, or remove retriable=True',
        id="retriable_comp",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, N, pay()]),
        'saga OrderSaga, step ProcessPayment: retriable is False, but the step comes after retriable step SendNotification, past the point of no return; write retriable=True, or move the step before SendNotification',
        id="after_retriable",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(timeout_seconds=30, heartbeat_seconds=30), N]),
        'saga OrderSaga, step ProcessPayment: heartbeat_seconds is 30, but a heartbeat must be shorter than the task timeout (30 s); write heartbeat_seconds=12 or raise timeout_seconds',
        id="heartbeat",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(timeout_seconds=0), N]),
        'saga OrderSaga, step ProcessPayment: timeout_seconds is 0, but ASL needs a whole number of seconds from 1; write timeout_seconds=30',
        id="timeout_zero",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(), N], workflow_type="EXPRES"),
        "saga OrderSaga: workflow_type is 'EXPRES', but Step Functions has STANDARD and EXPRESS workflows; write workflow_type='EXPRESS'",
        id="workflow_type",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(), N], workflow_type="EXPRESS", timeout_seconds=600),
        "saga OrderSaga: timeout_seconds is 600, but an EXPRESS workflow runs for at most 300 seconds; write timeout_seconds=300 or less, or workflow_type='STANDARD'",
        id="express_timeout",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(tables=["payment"]), N], tables=[Table("payments", "order_id")]),
        "saga OrderSaga, step ProcessPayment: tables[0] names table 'payment', which the saga does not declare; did you mean 'payments'?",
        id="unknown_table",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(), N], tables=[Table("Payments-Table", "order_id")]),
        "saga OrderSaga: tables[0].name is 'Payments-Table', but table names are lower_snake_case (they become environment variables such as ORDERS_TABLE); write 'payments_table'",
        id="table_name",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(compensation=Compensation("RefundPayment", "compensations.refund_payment.handler", retry=[Retry(["States.ALL"], max_attempts=-2)])), N]),
        'saga OrderSaga, step ProcessPayment: compensation.retry[0].max_attempts is -2, but ASL MaxAttempts counts retries and must be a whole number from 0; write max_attempts=3 (the default), or 0 for no retries',
        id="comp_bad_retry",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, "ProcessPayment", N]),
        "saga OrderSaga: steps[1] is str, not a Step; write Step('Name', action='tasks.module.handler')",
        id="not_a_step",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(business_errors=["PaymentDeclined", "PaymentDeclined"]), N]),
        "saga OrderSaga, step ProcessPayment: business_errors[1] repeats 'PaymentDeclined'; list each business error once",
        id="dup_business",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(name="PaymentDeadLetter"), N]),
        "saga OrderSaga, step PaymentDeadLetter: name is 'PaymentDeadLetter'; names ending in DeadLetter are kept for the compiler's dead-letter states; write 'PaymentRecord' or another name",
        id="deadletter_name",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(name="PaymentRepairRecord"), N]),
        "saga OrderSaga, step PaymentRepairRecord: name is 'PaymentRepairRecord'; names ending in RepairRecord are kept for the compiler's dead-letter states; write 'PaymentRecord' or another name",
        id="repair_record_name",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(name="CheckSagaInput"), N]),
        "saga OrderSaga, step CheckSagaInput: name is 'CheckSagaInput', a state name the compiler uses itself; write another name, such as 'CheckSagaInputStep'",
        id="reserved_check_input",
    ),
    # Python's "$" matches before a trailing newline: every name is checked with fullmatch.
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(name="ProcessPayment\n"), N]),
        "saga OrderSaga, step ProcessPayment\n: name is 'ProcessPayment\\n', but names must be letters and digits starting with a letter (they name states, Lambda functions and CloudFormation resources); write 'ProcessPayment'",
        id="name_trailing_newline",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(action="tasks.process_payment.handler\n"), N]),
        "saga OrderSaga, step ProcessPayment: action is 'tasks.process_payment.handler\\n', not a dotted handler path; write 'package.module.function', for example 'tasks.process_payment.handler'",
        id="action_trailing_newline",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(business_errors=["PaymentDeclined\n"]), N]),
        "saga OrderSaga, step ProcessPayment: business_errors[0] is 'PaymentDeclined\\n', not an error name; write the exception class name the Lambda raises, for example 'PaymentDeclined'",
        id="error_trailing_newline",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(), N], tables=[Table("payments\n", "order_id")]),
        "saga OrderSaga: tables[0].name is 'payments\\n', but table names are lower_snake_case (they become environment variables such as ORDERS_TABLE); write 'payments'",
        id="table_trailing_newline",
    ),
    # The worst case of [V, pay(), N] with the defaults: ValidateOrder 247 s + ProcessPayment 247 s, then
    # RefundPayment 542 s + CancelOrder 542 s, and 31 s of dead-letter retries.
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(), N], workflow_type="EXPRESS"),
        "saga OrderSaga: workflow_type is 'EXPRESS', which runs for at most 300 seconds, but the worst case of the saga's task timeouts and retries is 1609 s, so the execution could time out (States.Timeout, which no Catch sees) before it finishes or compensates; lower the attempts or timeouts (the largest share is CancelOrder, 542 s: set its timeout_seconds, retry max_attempts or max_delay_seconds), or write workflow_type='STANDARD'",
        id="express_budget",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(), N], timeout_seconds=600),
        "saga OrderSaga: timeout_seconds is 600, but the worst case of the saga's task timeouts and retries is 1609 s, so the execution could time out (States.Timeout, which no Catch sees) before it finishes or compensates; lower the attempts or timeouts (the largest share is CancelOrder, 542 s: set its timeout_seconds, retry max_attempts or max_delay_seconds), or write timeout_seconds=1609 or more, or leave it out",
        id="standard_timeout_budget",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(name="P"*70), N]),
        "saga OrderSaga, step PPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPP: name is 70 characters long, more than 64; write a shorter name such as 'PPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPP'",
        id="long_name",
    ),
]


@pytest.mark.parametrize(("build", "message"), BAD_DEFINITIONS)
def test_bad_definition_is_rejected_with_exact_message(build, message):
    with pytest.raises(DefinitionError) as caught:
        build()
    assert str(caught.value) == message
    assert len(caught.value.problems) == 1


def test_the_worst_case_adds_attempts_timeouts_and_waits_along_the_longest_path():
    a = Step(
        "A", "tasks.a.handler", timeout_seconds=20,
        retry=[Retry(["X"], interval_seconds=2, max_attempts=2, backoff_rate=3.0)],  # waits 2 + 6
        compensation=Compensation("UndoA", "compensations.a.handler", timeout_seconds=12, retry=[Retry(["States.ALL"], max_attempts=1)]),
    )
    b = Step("B", "tasks.b.handler", timeout_seconds=20)
    saga = Saga("S", [a, b])
    # A: 1 + 2 + 3 (default transient) attempts of 20 s, waits 2 + 6 and 1 + 2 + 4 -> 135 s; B: 4 x 20 + 7 = 87 s;
    # UndoA: 2 attempts of 12 s and 1 s of wait = 25 s; its dead letter waits 1 + 2 + 4 + 8 + 16 = 31 s.
    assert saga.worst_case_seconds() == (135 + 87 + 25 + 31, "A", 135)
    fits = Saga("S", [a, b], workflow_type="EXPRESS")  # 278 s: an EXPRESS saga that fits is accepted
    assert fits.workflow_type == "EXPRESS"
    with pytest.raises(DefinitionError, match="timeout_seconds=278 or more"):
        Saga("S", [a, b], timeout_seconds=277)
    assert Saga("S", [a, b], timeout_seconds=278).timeout_seconds == 278


def test_the_table_covers_every_problem_the_model_reports():
    # Every (field, what is wrong, what to write instead) the model can report is built on one line of
    # model.py; each of those lines must run for some row of the tables, so a new rule needs a row.
    missed = _problem_sites() - _lines_run_by(BAD_DEFINITIONS + DEPLOY_DEFINITIONS + MORE_BAD_DEFINITIONS)
    assert not missed, "no row of the tables reaches these rules of stepsaga/model.py; add a row for each:\n" + "\n".join(
        f"  line {n}: {_MODEL_LINES[n - 1].strip()}" for n in sorted(missed)
    )


def test_every_problem_is_reported_in_one_error():
    with pytest.raises(DefinitionError) as caught:
        Saga(
            "OrderSaga",
            [
                V,
                pay(retry=[Retry(["PaymentGatewayTimeout"], max_attempts=-1, backoff_rate=0.1)], action="pay"),
                Step("validate-order", "tasks.x.handler"),
            ],
            workflow_type="express",
        )
    fields = [(p.step, p.field) for p in caught.value.problems]
    assert fields == [
        (None, "workflow_type"),
        ("ProcessPayment", "action"),
        ("ProcessPayment", "retry[0].max_attempts"),
        ("ProcessPayment", "retry[0].backoff_rate"),
        ("validate-order", "name"),
    ]
    assert len(str(caught.value).splitlines()) == 5


def test_a_valid_saga_builds_and_is_immutable():
    saga = Saga("OrderSaga", [V, pay(), N])
    with pytest.raises(AttributeError):
        saga.name = "Other"  # type: ignore[misc]
    assert saga.steps[1].retry == ()
    assert isinstance(saga.steps, tuple)


def test_replace_validates_again():
    saga = Saga("OrderSaga", [V, pay(), N])
    with pytest.raises(DefinitionError, match="workflow_type"):
        saga.replace(workflow_type="BATCH")


# --- issue 7.8 and 7.15: Lambda timeouts and table access -------------------------------------

T = [Table("payments", partition_key="order_id")]

DEPLOY_DEFINITIONS = [
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(timeout_seconds=1), N]),
        "saga OrderSaga, step ProcessPayment: timeout_seconds is 1, too short for the Lambda behind the Task: its function must time out first, 11 s earlier (a cold start may take 10 s before the function's own timeout starts), or it could still write after Step Functions timed the step out and moved on; write timeout_seconds=12 or more",
        id="one_second_task",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(timeout_seconds=60, heartbeat_seconds=11), N]),
        "saga OrderSaga, step ProcessPayment: heartbeat_seconds is 11, too short for the Lambda behind the Task: its function must time out first, 11 s earlier (a cold start may take 10 s before the function's own timeout starts), or it could still write after Step Functions timed the step out and moved on; write heartbeat_seconds=12 or more",
        id="short_heartbeat",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(compensation=Compensation("RefundPayment", "compensations.refund_payment.handler", timeout_seconds=5)), N]),
        "saga OrderSaga, step ProcessPayment: compensation.timeout_seconds is 5, too short for the Lambda behind the Task: its function must time out first, 11 s earlier (a cold start may take 10 s before the function's own timeout starts), or it could still write after Step Functions timed the compensation out and moved on; write timeout_seconds=12 or more",
        id="short_compensation",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(), N], task_timeout_seconds=10),
        "saga OrderSaga: task_timeout_seconds is 10, too short for the Lambda behind the Task: its function must time out first, 11 s earlier (a cold start may take 10 s before the function's own timeout starts), or it could still write after Step Functions timed the Task out and moved on; write task_timeout_seconds=12 or more",
        id="short_saga_default",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(tables={"payments": "reed"}), N], tables=T),
        "saga OrderSaga, step ProcessPayment: tables['payments'] is 'reed', neither an access (read, write, read-write) nor a DynamoDB action a handler may use; did you mean 'read'?",
        id="access_typo",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(tables={"payments": ["GetItem", "TransactWriteItems"]}), N], tables=T),
        "saga OrderSaga, step ProcessPayment: tables['payments'][1] is 'TransactWriteItems', an API operation with no IAM action of its own (each item it touches is authorised on its own); list PutItem, UpdateItem, DeleteItem or ConditionCheckItem for the kinds of item it writes (Put, Update, Delete, ConditionCheck)",
        id="transact_write_items",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(tables={"payments": ["dynamodb:GetItem"]}), N], tables=T),
        "saga OrderSaga, step ProcessPayment: tables['payments'][0] is 'dynamodb:GetItem'; actions are written without the service prefix; write 'GetItem'",
        id="action_prefix",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(compensation=Compensation("RefundPayment", "compensations.refund_payment.handler", tables={"payments": []})), N], tables=T),
        "saga OrderSaga, step ProcessPayment: compensation.tables['payments'] is empty; write 'read-write', 'read', 'write' or the exact actions, for example ['GetItem', 'PutItem']",
        id="empty_access",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(tables=["payments", "payments"]), N], tables=T),
        "saga OrderSaga, step ProcessPayment: tables[1] repeats table 'payments'; name each table once, with all the access the handler needs",
        id="repeated_table",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(tables={"paymnts": "read"}), N], tables=T),
        "saga OrderSaga, step ProcessPayment: tables[0] names table 'paymnts', which the saga does not declare; did you mean 'payments'?",
        id="mapping_unknown_table",
    ),
]


@pytest.mark.parametrize(("build", "message"), DEPLOY_DEFINITIONS)
def test_a_definition_that_cannot_deploy_safely_is_rejected_with_exact_message(build, message):
    test_bad_definition_is_rejected_with_exact_message(build, message)


def test_every_suggested_heartbeat_is_itself_long_enough_for_the_function():
    for timeout, instead in ((30, "write heartbeat_seconds=12 or raise timeout_seconds"),
                             (90, "write heartbeat_seconds=30 or raise timeout_seconds"),
                             (12, "remove heartbeat_seconds, or raise timeout_seconds")):
        with pytest.raises(DefinitionError) as caught:
            Saga("OrderSaga", [V, pay(timeout_seconds=timeout, heartbeat_seconds=timeout), N])
        [problem] = caught.value.problems
        assert problem.instead == instead
        if "write" in instead:  # what it suggests is accepted
            Saga("OrderSaga", [V, pay(timeout_seconds=timeout, heartbeat_seconds=int(instead.split("=")[1].split()[0])), N])


def test_the_shortest_task_timeout_that_leaves_its_function_a_second_is_accepted():
    saga = Saga("OrderSaga", [V, pay(timeout_seconds=12, heartbeat_seconds=None), N], task_timeout_seconds=12)
    assert saga.step("ProcessPayment").timeout_seconds == 12


def test_table_access_survives_replace_and_a_new_mapping_replaces_it():
    step = pay(tables={"payments": ["GetItem", "PutItem"]})
    assert step.tables == ("payments",)
    assert step.access == (("payments", ("GetItem", "PutItem")),)
    assert step.replace(comment="x").access == step.access
    assert step.replace(tables={"payments": "read"}).access == (("payments", "read"),)
    assert pay(tables=["payments"]).access == (("payments", "read-write"),)
    Saga("OrderSaga", [V, step, N], tables=T)  # valid


# --- more rows: every rule of the model has one (test_the_table_covers_every_problem_the_model_reports) ---
# (appended, with its imports, so that changes to the table above merge cleanly)
import ast  # noqa: E402
import inspect  # noqa: E402
import sys  # noqa: E402

import stepsaga.model as model_module  # noqa: E402
from stepsaga import EventTrigger, HttpTrigger  # noqa: E402

MORE_BAD_DEFINITIONS = [
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(), N], mode="choreograhpy"),
        "saga OrderSaga: mode is 'choreograhpy', but a saga runs as an orchestration, a choreography or both; write mode='choreography'",
        id="mode",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(), N], query_language="JSONATA"),
        "saga OrderSaga: query_language is 'JSONATA', but the States Language has the query languages JSONPath and JSONata; write query_language='JSONata'",
        id="query_language",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(), N], query_language="XPath"),
        "saga OrderSaga: query_language is 'XPath', but the States Language has the query languages JSONPath and JSONata; write query_language='JSONPath'",
        id="query_language_unknown",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(business_errors=["Payment Declined"]), N]),
        "saga OrderSaga, step ProcessPayment: business_errors[0] is 'Payment Declined', not an error name; write the exception class name the Lambda raises, for example 'PaymentDeclined'",
        id="error_name",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(name=""), N]),
        "saga OrderSaga, step #2: name is empty; give the step a PascalCase name, for example 'ProcessPayment'",
        id="empty_step_name",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(retry=["PaymentGatewayTimeout"]), N]),
        "saga OrderSaga, step ProcessPayment: retry[0] is str, not a Retry; write Retry(['ErrorName'], interval_seconds=2, max_attempts=3)",
        id="retry_not_retry",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(), N], transient_retry=3),
        'saga OrderSaga: transient_retry is int, not a Retry; write a Retry, or None for no default retry',
        id="transient_not_retry",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(), N], tables=["orders"]),
        "saga OrderSaga: tables[0] is str, not a Table; write Table('orders', partition_key='order_id')",
        id="table_not_table",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(), N], tables=[Table("orders", "order_id"), Table("orders", "order_id")]),
        "saga OrderSaga: tables[1].name repeats table 'orders'; declare each table once",
        id="table_repeated",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(), N], tables=[Table("orders", "")]),
        "saga OrderSaga: tables[0].partition_key is empty; name the partition key attribute, for example partition_key='order_id'",
        id="partition_key_empty",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(), N.replace(business_errors=["SmtpUnavailable"])]),
        'saga OrderSaga, step SendNotification: business_errors are set on a retriable step, which is never compensated, so they would change nothing; remove business_errors=, or remove retriable=True',
        id="retriable_business",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(compensation="compensations.refund_payment.handler"), N]),
        "saga OrderSaga, step ProcessPayment: compensation is str, not a Compensation; write Compensation('UndoName', 'compensations.module.handler')",
        id="comp_not_comp",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(), N], triggers=[HttpTrigger("orders")]),
        "saga OrderSaga: triggers[0].path is 'orders', not an API path; write a path starting with '/', for example '/orders'",
        id="http_path",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(), N], triggers=[HttpTrigger("/orders", method="get")]),
        "saga OrderSaga: triggers[0].method is 'get'; a saga is started with a request that carries its input; write method='POST'",
        id="http_method",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(), N], triggers=[HttpTrigger("/orders", schema="order.json")]),
        "saga OrderSaga: triggers[0].schema is str, not a JSON schema; write a dict such as {'type': 'object', 'required': ['order_id']}",
        id="http_schema",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(), N], triggers=[HttpTrigger("/orders"), HttpTrigger("/orders")]),
        'saga OrderSaga: triggers[1] repeats the route POST /orders; declare each route once',
        id="http_repeated",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(), N], triggers=[EventTrigger("", "OrderPlaced")]),
        "saga OrderSaga: triggers[0].source is empty; name the event source, for example source='shop.orders'",
        id="event_source",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(), N], triggers=[EventTrigger("shop.orders", "")]),
        "saga OrderSaga: triggers[0].detail_type is empty; name the detail-type, for example detail_type='OrderPlaced'",
        id="event_detail_type",
    ),
    # Trigger patterns against the trigger's model (stepsaga.trigger_patterns; its own table: test_trigger_patterns.py).
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(), N], triggers=[EventTrigger("shop.orders", "OrderPlaced", pattern=["web"])]),
        "saga OrderSaga: triggers[0].pattern is list, not an event pattern; write a dict of fields to lists of values, for example {'detail': {'channel': ['web']}}",
        id="pattern_not_a_dict",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(), N], triggers=[EventTrigger("shop.orders", "OrderPlaced", pattern={"source": ["shop.web"]})]),
        "saga OrderSaga: triggers[0].pattern sets 'source', which the trigger's own source sets; remove 'source' from the pattern and write EventTrigger(source=...); declare one trigger per source",
        id="pattern_sets_source",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(), N], triggers=[EventTrigger("shop.orders", "OrderPlaced", pattern={"detail": {"total": [{"numeric": [">", 100]}]}},
                                                                        model={"title": "OrderPlaced", "type": "object", "properties": {"total": {"type": "string"}}})]),
        "saga OrderSaga: triggers[0].pattern compares detail.total with numeric, but the field is a JSON string, and numeric matches only JSON numbers, so the rule never matches; match it as a string, for example ['100'] or [{'prefix': '1'}], or declare the field as a number",
        id="pattern_numeric_on_string",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(), N], triggers=[EventTrigger("shop.orders", "OrderPlaced", pattern={"detail": {"chanel": ["web"]}},
                                                                        model={"title": "OrderPlaced", "type": "object", "properties": {"channel": {"type": "string"}}})]),
        "saga OrderSaga: triggers[0].pattern filters detail.chanel, but the model OrderPlaced has no field 'chanel', so the rule never matches; did you mean detail.channel?",
        id="pattern_unknown_field",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(), N], triggers=[EventTrigger("shop.orders", "OrderPlaced", model="OrderPlaced")]),
        "saga OrderSaga: triggers[0].model is str, neither a pydantic model nor a JSON schema; pass the model class of the event's detail, for example model=OrderPlaced, or its JSON schema as a dict",
        id="trigger_model_not_a_model",
    ),
    pytest.param(
        lambda: Saga("OrderSaga", [V, pay(), N], triggers=["/orders"]),
        "saga OrderSaga: triggers[0] is str, not a trigger; write HttpTrigger('/orders') or EventTrigger('shop.orders', 'OrderPlaced')",
        id="not_a_trigger",
    ),
]


@pytest.mark.parametrize(("build", "message"), MORE_BAD_DEFINITIONS)
def test_more_bad_definitions_are_rejected_with_exact_message(build, message):
    test_bad_definition_is_rejected_with_exact_message(build, message)


_MODEL_LINES = inspect.getsource(model_module).splitlines()


def _problem_sites() -> set[int]:
    """Lines of model.py that build a problem: a 3-tuple of texts in a list or a call (``out.append((...))``)."""
    tree = ast.parse("\n".join(_MODEL_LINES))
    text = (ast.Constant, ast.JoinedStr, ast.BinOp, ast.Name)
    sites = set()
    for parent in ast.walk(tree):
        children = parent.elts if isinstance(parent, ast.List) else parent.args if isinstance(parent, ast.Call) else []
        for node in children:
            if isinstance(node, ast.Tuple) and len(node.elts) == 3 and all(isinstance(e, text) for e in node.elts):
                if not any(isinstance(e, ast.Constant) and not isinstance(e.value, str) for e in node.elts):
                    sites.add(node.lineno)
    assert len(sites) > 30, f"found only {len(sites)} problem sites in model.py: the finder is out of date"
    return sites


def _lines_run_by(rows: list, module=model_module) -> set[int]:
    """The lines of ``module`` (model.py) that run while building each row's definition."""
    path, ran = module.__file__, set()

    def trace(frame, event, arg):
        if frame.f_code.co_filename != path:
            return None
        if event == "line":
            ran.add(frame.f_lineno)
        return trace

    previous = sys.gettrace()
    for row in rows:
        sys.settrace(trace)
        try:
            row.values[0]()
        except DefinitionError:
            pass
        finally:
            sys.settrace(previous)
    return ran
