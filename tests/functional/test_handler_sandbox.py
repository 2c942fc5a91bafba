"""Handlers load and run as on Lambda: code folder as the import root, one sandbox per function per cloud.

Issue 7.2 (imports), 7.3 (bad handler paths) and 7.13 (isolated clouds), on a small trip saga written
into a temporary project, with real handlers that write to DynamoDB.
"""

from __future__ import annotations

import os
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from stepsaga import Compensation, Saga, Step, Table
from stepsaga.check import handler_problems
from stepsaga.cli import main
from stepsaga.sandbox import HandlerPathError
from stepsaga.testing import EmbeddedCloud, Fail, run

COMMON = '''
import os
WHO = {who!r}
'''

BOOK = '''
import os

import boto3
from _common import WHO

# read at import time, as many handlers do: must be this function's table in this cloud
TABLE = os.environ["BOOKINGS_TABLE"]


def handler(event, context):
    boto3.resource("dynamodb").Table(TABLE).put_item(Item={"id": event["input"]["trip"], "by": WHO, "saga": os.environ["POWERTOOLS_SERVICE_NAME"]})
    os.environ["LEAKED_BY_HANDLER"] = "yes"  # stays in this function's environment
    return {"who": WHO, "table": TABLE, "sees": sorted(k for k in os.environ if k.endswith("_TABLE")),
            "profile": os.environ.get("AWS_PROFILE"), "region": os.environ.get("AWS_REGION")}
'''

CHARGE = '''
def handler(event, context):
    return {"charged": True}
'''

CANCEL = '''
import os

import boto3
from _common import WHO


def handler(event, context):
    boto3.resource("dynamodb").Table(os.environ["BOOKINGS_TABLE"]).put_item(Item={"id": "cancel-" + event["input"]["trip"], "by": WHO})
    return {"who": WHO}
'''


def trip_saga(name: str = "TripSaga", book: str = "tasks.book_hotel.handler", cancel: str = "compensations.cancel_hotel.handler") -> Saga:
    return Saga(
        name,
        tables=[Table("bookings", partition_key="id"), Table("payments", partition_key="id")],
        steps=[
            Step("BookHotel", action=book, tables=["bookings"],
                 compensation=Compensation("CancelHotel", cancel, tables=["bookings"])),
            Step("ChargeCard", action="tasks.charge_card.handler", tables=["payments"]),
        ],
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project with two code folders, each with its own _common.py, as SAM deploys them."""
    for folder, files in {
        "tasks": {"_common.py": COMMON.format(who="tasks"), "book_hotel.py": BOOK, "charge_card.py": CHARGE},
        "compensations": {"_common.py": COMMON.format(who="compensations"), "cancel_hotel.py": CANCEL},
    }.items():
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "__init__.py").write_text("")
        for name, text in files.items():
            (tmp_path / folder / name).write_text(textwrap.dedent(text))
    return tmp_path


@pytest.fixture
def project_on_path(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The project root importable, as in a test run or `stepsaga run`: `import tasks` works there."""
    monkeypatch.syspath_prepend(str(project))
    monkeypatch.chdir(project)
    return project


# --- 7.2: imported the way Lambda imports them ---------------------------------------------------


def test_each_code_folder_has_its_own_common_module(project_on_path: Path) -> None:
    with EmbeddedCloud(trip_saga(), root=project_on_path) as cloud:
        result = cloud.run({"trip": "t1"}, {"ChargeCard": Fail("CardDeclined")})
        by = {item["id"]: item["by"] for item in cloud.items("bookings")}
    assert result.compensations == ["CancelHotel"]
    assert by == {"t1": "tasks", "cancel-t1": "compensations"}
    # nothing of the handlers' is left in sys.modules, where it could meet another folder's
    assert not {"_common", "book_hotel", "cancel_hotel"} & set(sys.modules)


def test_a_handler_importing_through_its_folder_package_fails_as_on_lambda(project_on_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project_on_path / "tasks" / "charge_card.py").write_text("from tasks._common import WHO\n\ndef handler(event, context):\n    return WHO\n")
    import tasks._common  # noqa: F401  the package is importable in this process, as in a test run

    with pytest.raises(HandlerPathError) as caught:
        EmbeddedCloud(trip_saga(), root=project_on_path).__enter__()
    [problem] = caught.value.problems
    assert (problem.saga, problem.step, problem.field) == ("TripSaga", "ChargeCard", "action")
    assert "No module named 'tasks'" in problem.what and "tasks/charge_card.py:1" in problem.what
    assert "from _common import x" in problem.instead
    assert "tasks._common" in sys.modules  # the process's own import is left as it was

    workflow = project_on_path / "trip.py"
    workflow.write_text("from stepsaga import Compensation, Saga, Step, Table\n" + _saga_source())
    assert main(["run", str(workflow), "--input", '{"trip": "t1"}', "--no-seed"]) == 1
    err = capsys.readouterr().err
    assert f"{workflow}: saga TripSaga, step ChargeCard: action 'tasks.charge_card.handler' fails to import the way Lambda imports it" in err
    assert "No module named 'tasks'" in err


def test_check_imports_every_handler_and_reports_each_failure(project: Path) -> None:
    (project / "tasks" / "charge_card.py").write_text("from tasks._common import WHO\n")
    (project / "compensations" / "cancel_hotel.py").write_text("raise RuntimeError('no config')\n")
    problems = handler_problems(trip_saga(), project)
    assert [(p.step, p.field) for p in problems] == [("ChargeCard", "action"), ("BookHotel", "compensation.action")]
    assert "No module named 'tasks'" in problems[0].what
    assert "RuntimeError: no config at compensations/cancel_hotel.py:1" in problems[1].what


def test_each_function_has_its_own_modules_and_imports_at_call_time_as_on_lambda(project: Path) -> None:
    from stepsaga.sandbox import LocalFunction, install

    install()
    (project / "tasks" / "_common.py").write_text("CALLS = []\n")
    (project / "tasks" / "one.py").write_text(
        "from _common import CALLS\n\ndef handler(event, context):\n    import _common\n    CALLS.append(1)\n    return len(_common.CALLS)\n"
    )
    (project / "tasks" / "two.py").write_text("def handler(event, context):\n    from tasks._common import CALLS\n    return CALLS\n")
    first, second = (LocalFunction(f"f{i}", "tasks.one.handler", project, {}) for i in (1, 2))
    first.load(), second.load()
    # a call-time `import _common` finds the function's own copy; the other function's is another
    assert [first.invoke({}, None), first.invoke({}, None), second.invoke({}, None)] == [1, 2, 1]
    assert first.modules["_common"] is not second.modules["_common"] and "_common" not in sys.modules
    # an import through the project root inside a function body is found before it runs
    [problem] = handler_problems(trip_saga(book="tasks.two.handler"), project)
    assert problem.what == (
        "'tasks.two.handler' imports tasks._common at tasks/two.py:2, which fails on Lambda when it runs: No module named 'tasks'"
    )


# --- 7.3: a handler path that does not exist is a definition problem -----------------------------


def test_every_bad_path_is_reported_at_once_with_a_suggestion(project_on_path: Path) -> None:
    saga = trip_saga(book="tasks.book_hotle.handler", cancel="compensations.cancel_hotel.handlr")
    with pytest.raises(HandlerPathError) as caught:
        run(saga, {"trip": "t1"}, root=project_on_path)
    assert [str(p) for p in caught.value.problems] == [
        "saga TripSaga, step BookHotel: action 'tasks.book_hotle.handler' names the module book_hotle, but tasks/ has no "
        "book_hotle.py; did you mean 'tasks.book_hotel.handler'?",
        "saga TripSaga, step BookHotel: compensation.action 'compensations.cancel_hotel.handlr' names handlr, which "
        "compensations/cancel_hotel.py does not define; did you mean 'compensations.cancel_hotel.handler'?",
    ]


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("taks.book_hotel.handler", "names the code folder taks/, which is not in"),
        ("tasks.handler", "names no module inside the code folder tasks/"),
        ("tasks._common.WHO", "names WHO in tasks/_common.py, which is a str, not a function"),
    ],
)
def test_other_bad_paths_are_definition_problems(project: Path, action: str, message: str) -> None:
    [problem] = handler_problems(trip_saga(book=action), project)
    assert message in problem.what
    if action.startswith("taks"):
        assert problem.instead == "did you mean 'tasks.book_hotel.handler'?"


# --- 7.13: clouds are isolated ------------------------------------------------------------------


def test_two_clouds_of_different_sagas_sharing_handlers_keep_to_their_tables(project_on_path: Path) -> None:
    with EmbeddedCloud(trip_saga("TripSaga"), root=project_on_path) as one, EmbeddedCloud(trip_saga("OtherSaga"), root=project_on_path) as two:
        first = one.run({"trip": "a"})
        second = two.run({"trip": "b"})
        assert [i["id"] for i in one.items("bookings")] == ["a"]
        assert [i["id"] for i in two.items("bookings")] == ["b"]
        assert one.items("bookings")[0]["saga"] == "TripSaga" and two.items("bookings")[0]["saga"] == "OtherSaga"
    assert _booked(first)["table"] != _booked(second)["table"]


def test_a_function_sees_its_own_environment_only(project_on_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "production")  # the developer's: never in a Lambda's environment
    monkeypatch.setenv("PAYMENTS_TABLE", "from-the-shell")
    monkeypatch.delenv("LEAKED_BY_HANDLER", raising=False)
    result = run(trip_saga(), {"trip": "t1"}, root=project_on_path)
    out = _booked(result)
    assert out["sees"] == ["BOOKINGS_TABLE"]  # BookHotel declares bookings, not payments
    assert out["profile"] is None and out["region"] == "us-east-1"
    assert "LEAKED_BY_HANDLER" not in os.environ and os.environ["AWS_PROFILE"] == "production"


def test_run_twice_inside_the_users_own_mock(project_on_path: Path) -> None:
    from moto import mock_aws

    with mock_aws():
        import boto3

        mine = boto3.client("sqs", region_name="us-east-1").create_queue(QueueName="mine")["QueueUrl"]
        assert run(trip_saga(), {"trip": "t1"}, root=project_on_path).succeeded
        assert run(trip_saga(), {"trip": "t1"}, root=project_on_path).succeeded
        # the user's own resources are left alone, the clouds' are gone
        assert boto3.client("sqs", region_name="us-east-1").list_queues()["QueueUrls"] == [mine]
        assert boto3.client("dynamodb", region_name="us-east-1").list_tables()["TableNames"] == []


def test_one_cloud_per_thread(project_on_path: Path) -> None:
    seen: dict[str, list[set[str]]] = {}
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            with EmbeddedCloud(trip_saga(name), root=project_on_path) as cloud:
                for i in range(4):
                    assert cloud.run({"trip": f"{name}-{i}"}).succeeded
                    seen.setdefault(name, []).append({item["saga"] for item in cloud.items("bookings")})
        except BaseException as exc:  # noqa: BLE001  reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(name,)) for name in ("TripSaga", "OtherSaga", "ThirdSaga")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert {name: rows for name, rows in seen.items()} == {name: [{name}] * 4 for name in ("TripSaga", "OtherSaga", "ThirdSaga")}


def _booked(result: object) -> dict[str, object]:
    """What BookHotel returned, read from the saga's output."""
    return result.output["results"]["BookHotel"]["output"]  # type: ignore[attr-defined,no-any-return]


def _saga_source() -> str:
    return textwrap.dedent('''
        saga = Saga(
            "TripSaga",
            tables=[Table("bookings", partition_key="id"), Table("payments", partition_key="id")],
            steps=[
                Step("BookHotel", action="tasks.book_hotel.handler", tables=["bookings"],
                     compensation=Compensation("CancelHotel", "compensations.cancel_hotel.handler", tables=["bookings"])),
                Step("ChargeCard", action="tasks.charge_card.handler", tables=["payments"]),
            ],
        )
    ''')


def test_check_and_run_report_every_bad_path_and_exit_1(project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(project)
    (project / "workflows").mkdir()
    source = _saga_source().replace("tasks.book_hotel.handler", "tasks.book_hotle.handler").replace("cancel_hotel.handler", "cancel_hotel.handlr")
    (project / "workflows" / "trip.py").write_text("from stepsaga import Compensation, Saga, Step, Table\n" + source)
    assert main(["compile", "workflows/trip.py", "-o", "asl/"]) == 0  # compiles: the paths are only strings to the ASL
    capsys.readouterr()
    expected = [
        "workflows/trip.py: saga TripSaga, step BookHotel: action 'tasks.book_hotle.handler' names the module book_hotle, "
        "but tasks/ has no book_hotle.py; did you mean 'tasks.book_hotel.handler'?",
        "workflows/trip.py: saga TripSaga, step BookHotel: compensation.action 'compensations.cancel_hotel.handlr' names "
        "handlr, which compensations/cancel_hotel.py does not define; did you mean 'compensations.cancel_hotel.handler'?",
    ]
    assert main(["check"]) == 1
    assert capsys.readouterr().err.splitlines() == expected
    # run reports them too, although the compensation would not be called by this run
    assert main(["run", "workflows/trip.py", "--input", '{"trip": "t1"}']) == 1
    assert capsys.readouterr().err.splitlines() == expected


def test_imports_that_never_run_or_have_a_fallback_are_no_problem(project: Path) -> None:
    (project / "tasks" / "charge_card.py").write_text(textwrap.dedent('''
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            from tasks._common import WHO
        try:
            from tasks._common import WHO
        except ImportError:
            from _common import WHO


        def handler(event, context):
            return WHO
    '''))
    assert handler_problems(trip_saga(), project) == []
